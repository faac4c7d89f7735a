r"""Bulks, edges across sizes and cusps of a predicted law, read off its grid and refined by the law.

Runs of positive density on the grid give the bulks; each edge is refined by Newton on the law's
exact edge equations (`law.edge_system(kind)`, docs/method.md, "Edges and cusps"), and flowed in
size by diffrax for `edges(sizes)` (`_edge_flow.py`). Across sizes, bulks are counted at log-spaced
sizes and every change seeds the law's cusp refinement. Plain Python over NumPy arrays
(data-dependent sizes); the solves are compiled.
"""

import jax.numpy as jnp
import numpy as np

from ._edge_flow import EdgeFlow, flow_edges, refine_edges
from ._results import RESULTS


def bulk_runs(rho, ok, x=None):
    r"""Index pairs (first, last) of the runs of grid points with positive density (with `x`, of
    positive mass per log-unit $|x|\rho$: for log-spaced grids over decades); `ok` masks failed points."""
    if x is not None:
        rho = rho * np.abs(x)
    inside = (rho > 1e-12 * max(float(np.nanmax(rho, initial=0.0)), 1e-300)) & ok
    idx = np.flatnonzero(np.diff(np.concatenate([[0], inside.astype(int), [0]])))
    return idx.reshape(-1, 2) - np.array([0, 1])


def _padded(idx):
    """`idx` padded (with its first entry) to a multiple of 8: few distinct shapes, few compilations."""
    return np.concatenate([idx, np.full((-idx.size) % 8, idx[0])])


def support(spec) -> np.ndarray:
    """`(n_bulks, 2)` edges of a single-size `Spectrum`."""
    return _support(spec)[0]


def _support(spec):
    """Edges `(n_bulks, 2)`, and the refined edge states `(u, s)` (`None` without an edge system or
    where an edge was not refined)."""
    x = np.asarray(spec.x)
    P = x.size
    ok = np.asarray(spec.result == RESULTS.successful)
    runs = bulk_runs(np.asarray(spec.density), ok, x if spec.law.log_grid else None)
    if runs.size == 0:
        return np.zeros((0, 2)), None
    inner = runs.reshape(-1)  # left, right, left, right, ...
    left = np.arange(inner.size) % 2 == 0
    outer = np.where(left, inner - 1, inner + 1)
    has_outer = (outer >= 0) & (outer < P)
    x_out = x[np.clip(outer, 0, P - 1)]
    seeds = _padded(inner)
    system = spec.law.edge_system(spec.kind)
    if system is None:
        xe, ok, states = x[inner], np.zeros(inner.size, dtype=bool), None
    else:
        xe, u, sc, ok = refine_edges(system, spec.t, jnp.asarray(x[seeds]), jnp.asarray(np.asarray(spec.m)[seeds]))
        xe, ok = np.asarray(xe)[: inner.size], np.asarray(ok)[: inner.size]
        states = (np.asarray(u)[: inner.size], np.asarray(sc)[: inner.size])
    lo = np.where(left, x_out, x[inner])
    hi = np.where(left, x[inner], x_out)
    slack = 1e-9 * (np.abs(lo) + np.abs(hi))
    refined = ok & has_outer & (xe >= lo - slack) & (xe <= hi + slack)
    # an edge beyond the grid, or one Newton could not pin down: the grid's best guess
    fallback = np.where(has_outer, 0.5 * (x[inner] + x_out), x[inner])
    if states is not None and not refined.all():
        states = None  # the flow starts only from edges that all solve the equations
    return np.where(refined, xe, fallback).reshape(-1, 2), states


def edges(spec, sizes, flow: EdgeFlow) -> list:
    """Bulk edges at every size in `sizes`: the edges at the size where most exist (the largest when
    gaps open as the matrix grows, the smallest when they close), flowed to the other sizes by
    diffrax. A lane stops at its cusp, slightly before it (the flow's speed diverges there): the first
    size after a lane stopped is read off a grid instead (the law's own grid at that size, as long as
    this spectrum's: a support need not lie within another size's grid; at this spectrum's own size,
    its grid, so that the edges there are `support()`), as is every size of a law without edge
    equations, and every size past an atom's birth or death (the law's atoms at that size differ from
    those at the start: an edge meets the atom there, and its state passes through a pole of the
    edge equations, so the flow would carry it onto another critical point)."""
    sizes = np.atleast_1d(np.asarray(sizes, dtype=float))
    order = np.argsort(sizes)[::-1] if spec.kind.gaps_open else np.argsort(sizes)
    points = np.asarray(spec.x).shape[0]

    def own_grid(size):  # the support at another size need not lie within this spectrum's grid
        if float(size) == float(spec.size):  # this spectrum is the law's grid at its own size
            return spec
        return type(spec).on_grid(spec.law, spec.kind, float(size), points, spec.solver)

    start = own_grid(sizes[order[0]])
    edges0, states = _support(start)
    system = spec.law.edge_system(spec.kind)
    out: list = [None] * sizes.size
    out[order[0]] = edges0
    if system is not None and states is not None and sizes.size > 1:
        ts = jnp.log(jnp.asarray(sizes[order[1:]]) / spec.law.n0)
        xs, alive = flow_edges(system, start.t, jnp.asarray(states[0]), jnp.asarray(states[1]), ts, flow)
        xs, alive = np.asarray(xs), np.asarray(alive)
        left = np.arange(xs.shape[1]) % 2 == 0
        before = np.ones(xs.shape[1], dtype=bool)
        atoms0 = _atom_count(spec, float(sizes[order[0]]))
        for j, k in enumerate(order[1:]):
            if _atom_count(spec, float(sizes[k])) != atoms0:
                break
            live = alive[j]
            sides = left[live][np.argsort(xs[j][live])]
            alternate = np.all(sides[0::2]) and not np.any(sides[1::2]) and sides.size % 2 == 0
            if alternate and np.array_equal(live, before):
                out[k] = np.sort(xs[j][live]).reshape(-1, 2)
            before = live
    missing = [k for k in range(sizes.size) if out[k] is None]
    for k in missing:
        out[k] = support(own_grid(sizes[k]))
    return out


def _atom_count(spec, size: float) -> int:
    """How many atoms (slots of positive weight) the law has at `size`."""
    law = spec.law.evolve(jnp.log(size / spec.law.n0), spec.kind)
    return int(np.sum(np.asarray(law.atoms()[1]) > 0))


def cusps(spec, num: int) -> np.ndarray:
    """`(k, 2)` rows `[x*, n*]` where the bulk count changes between `n0` and the spectrum's size."""
    n0 = float(spec.law.n0)
    sizes = n0 * np.geomspace(1.0, float(spec.size) / n0, num)
    many = spec.at_sizes(sizes)
    x = np.asarray(spec.x)
    m = np.asarray(many.m)
    seeds = []
    for k in range(num - 1):
        a, b = support(many[k]), support(many[k + 1])
        # gaps open as the matrix grows (free), or close (deformed): compare the side with more bulks
        new, old, kk = (b, a, k + 1) if spec.kind.gaps_open else (a, b, k)
        if new.shape[0] <= old.shape[0]:
            continue
        for g in range(new.shape[0] - 1):
            lo, hi = new[g, 1], new[g + 1, 0]
            if np.any((old[:, 0] < lo) & (old[:, 1] > hi)):
                j = int(np.argmin(np.abs(x - 0.5 * (lo + hi))))
                seeds.append((x[j], m[kk, j], sizes[kk] / n0))
    if not seeds:
        return np.zeros((0, 2))
    k = _padded(np.arange(len(seeds)))
    xs, ms, taus = (jnp.asarray(np.array(v)[k]) for v in zip(*seeds))
    xc, tc, ok = spec.law.refine_cusps(spec.kind, xs, ms, taus)
    out = np.stack([np.asarray(xc), n0 * np.asarray(tc)], axis=1)[: len(seeds)][np.asarray(ok)[: len(seeds)]]
    out = out[(out[:, 1] >= n0 * (1 - 1e-9)) & (out[:, 1] <= float(spec.size) * (1 + 1e-9))]
    if out.size == 0:
        return np.zeros((0, 2))
    _, keep = np.unique(np.round(out / (1e-8 * (1 + np.abs(out)))), axis=0, return_index=True)
    return out[np.sort(keep)]
