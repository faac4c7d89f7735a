r"""The model choice of a traced [`predict`][] of eigenvalues with automatic degrees, as one program.

Outside a trace the choice walks its candidates in plain Python (`_select.py`); inside one every
candidate is computed side by side and the same rule picks among them with masks and argmins:

1. **Curves** (`_fit_choice.automatic_lanes`): the candidates the plain-Python choice would refine (the
   first `max_tries` eligible, each padded with zero coefficients to (`max_deg_z`, `max_deg_m`); a
   padded curve is the same polynomial), each solved on the grid covering its support at $n$ and
   checked (`_check.py`). The first valid one that passes is the curve tier's answer.
2. **The free Lévy–Khintchine law** ([`fit_levy`][]) of the spectrum's sign (`_levy_fit.indefinite`; the
   program cannot branch on the data, so both signs are fitted and solved at $n$ on their grids) and
   checked, then gated as the plain-Python choice gates it (`_validate.py`): refitted to each free
   compression of the eigenvalues (`compressions`, the draws a concrete call makes from the same seed),
   each refit of its draw's own sign, decompressed back to the observed size and checked there; it
   passes if its mean prediction error over the draws that pass beats the baselines' over the same draws.
3. **The choice**: the curve if one passes; else the Lévy–Khintchine law if it passes its check and
   its gate; else `RESULTS.no_model_passed`.

The stages run one after another, each computed from values that depend on the one before (`_after`): on
the CPU, JAX 0.10 and 0.11 never return from two batched LAPACK calls that run at once on a small thread
pool (README.md, benchmarks/RESULTS.md), and the curves' fits, the compressions and the two signs'
Lévy–Khintchine fits are batched linear algebra that the program could otherwise run side by side.

The result is a [`Spectrum`][] of [`OneOf`][] the three (curve, unsigned and signed Lévy–Khintchine
law), on a grid of the longest of their grids: the chosen spectrum's own points first, then, for a
shorter grid, points of zero density just beyond its right end (they add no mass, and the quantiles
are the chosen spectrum's). What the plain-Python choice does and this one does not: it also gates
the curves by their refits to the compressions (a curve that passes its check but does not beat the
baselines is passed over there and returned here), sets isolated outliers aside, and writes a curve of
a spectrum far from 0 about its centre.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from . import _arguments as arguments
from ._check import check
from ._curve import SpectralCurve
from ._fit_choice import automatic_lanes
from ._fit_config import FitConfig
from ._fit_problem import zero_tolerance
from ._fit_refine import _data_jit
from ._levy_fit import LevyConfig, fit_levy, indefinite
from ._one_of import OneOf, padded_atoms, pick
from ._results import RESULTS, full, where
from ._spectrum import Spectrum
from ._validate import baseline_errors, compressions, prediction_error


def _padded(spec: Spectrum, points: int, slots: int) -> Spectrum:
    """`spec` on `points` grid points and `slots` atom slots: zero density just beyond its grid's right end
    (spaced by 1e-9 of its width, so that every cell has a positive width), empty atom slots."""
    extra = points - spec.x.shape[0]
    step = 1e-9 * (spec.x[-1] - spec.x[0]) / max(extra, 1)
    return dataclasses.replace(
        spec,
        x=jnp.concatenate([spec.x, spec.x[-1] + step * jnp.arange(1, extra + 1)]),
        density=jnp.concatenate([spec.density, jnp.zeros(extra)]),
        m=jnp.concatenate([spec.m, jnp.full(extra, spec.m[-1])]),
        result=jax.tree.map(lambda a, b: jnp.concatenate([a, b]), spec.result, full((extra,), RESULTS.successful)),
        atoms=padded_atoms(spec.atoms, slots),
    )


def _after(x, *done):
    r"""`x`, made to depend on `done` by arithmetic that changes nothing ($x + 0\cdot\tanh s$, $s$ a finite sum
    of `done`): what is computed from it waits for `done` (module docstring). `jax.lax.optimization_barrier`
    was not enough: with it, the program still hung on JAX 0.10.2 (benchmarks/RESULTS.md)."""
    s = sum(jnp.sum(jnp.where(jnp.isfinite(v), v, 0.0)) for v in jax.tree.leaves(done))
    return jax.tree.map(lambda a: a + 0.0 * jnp.tanh(jax.lax.stop_gradient(s)), x)


def _passes(spec: Spectrum):
    return check(spec)[0] == RESULTS.successful


def automatic(eigs, size, kind, n0, log, weights, fit_config: FitConfig, levy_config: LevyConfig, grid_size: int, solver) -> tuple[Spectrum, RESULTS]:
    """`(spectrum, result)` of the traced choice (module docstring)."""
    w = jnp.ones(eigs.shape) if weights is None else jnp.asarray(weights, dtype=jnp.float64)
    eps = arguments.eps_of(np.empty(0, dtype=eigs.dtype))
    eigs = eigs.astype(jnp.float64)
    count = jnp.sum(w > 0)
    observed = count.astype(jnp.float64)
    n0 = observed if n0 is None else jnp.asarray(n0, dtype=jnp.float64)

    # 1. the curves, the first valid one that passes at n
    base = _data_jit(eigs, w, log, eps, fit_config)
    coeffs, n0, diag, tried = automatic_lanes(base, count, n0, fit_config)

    def curve(c):
        law = SpectralCurve(c, n0)
        spec = Spectrum.solve(law, kind, law.grid(kind, size, grid_size, solver), size, solver)
        return spec, _passes(spec)

    specs, ok = jax.vmap(curve)(coeffs)
    passed = tried & jax.vmap(lambda d: d.valid)(diag) & ok
    chosen_curve = jax.tree.map(lambda v: v[jnp.argmax(passed)], specs)

    # 2. the Levy-Khintchine law, gated: the observed eigenvalues (solved at n) and each free compression
    #    (solved at the observed size) fitted side by side, one program per sign
    tol = zero_tolerance(eigs, w, eps)
    # the gate decides and is not differentiated: no derivative flows through the draws
    draws, draw_weights, sizes = jax.lax.stop_gradient(compressions(*_after((eigs, w), specs.density), tol, fit_config.seed))
    present = sizes > 0
    # an absent draw (below MIN_SIZE) is refitted to the observed eigenvalues, and masked
    draws, draw_weights = (jnp.where(present[:, None], a, jax.lax.stop_gradient(b)) for a, b in ((draws, eigs), (draw_weights, w)))
    bars = baseline_errors(draws, draw_weights, sizes, eigs, w, tol)
    negative, use_levy = indefinite(eigs, w), ~jnp.any(passed)

    def lanes(chosen):  # a derivative flows into the fit of the chosen law only (one not chosen may have none finite)
        return (
            jnp.concatenate([jnp.where(chosen, eigs, jax.lax.stop_gradient(eigs))[None], draws]),
            jnp.concatenate([w[None], draw_weights]),
            jnp.concatenate([n0[None], jnp.where(present, sizes, observed)]),
            jnp.concatenate([jnp.broadcast_to(size, (1,)), jnp.full(sizes.shape, observed)]),
        )

    def levy(signed: bool, lanes):
        def one(e, dw, q, n):
            return Spectrum.on_grid(fit_levy(e, q, weights=dw, signed=signed, config=levy_config), kind, n, grid_size, solver)

        specs = jax.vmap(one)(*lanes)
        refits = jax.tree.map(lambda v: v[1:], specs)
        errors = jax.vmap(lambda s: jnp.where(_passes(s), prediction_error(s, eigs, w, tol), jnp.inf))(refits)
        return jax.tree.map(lambda v: v[0], specs), jnp.where(jnp.isfinite(errors), errors, jnp.inf)

    unsigned, unsigned_errors = levy(False, lanes(use_levy & ~negative))
    signed, signed_errors = levy(True, _after(lanes(use_levy & negative), unsigned.density, unsigned_errors))
    errors = jnp.where(jax.vmap(indefinite)(draws, draw_weights), signed_errors, unsigned_errors)  # each draw's own sign
    counted = present & jnp.isfinite(errors)
    mean = lambda v: jnp.sum(jnp.where(counted, v, 0.0)) / jnp.maximum(jnp.sum(counted), 1)  # noqa: E731
    gated = jnp.any(counted) & (mean(errors) < mean(bars))
    levy_ok = jnp.where(negative, _passes(signed), _passes(unsigned)) & gated

    # 3. the first that passes, in tier order
    choice = jnp.where(jnp.any(passed), 0, jnp.where(negative, 2, 1))
    family = (chosen_curve, unsigned, signed)
    points = max(s.x.shape[0] for s in family)
    slots = max(s.atoms[0].shape[-1] for s in family)
    padded = [_padded(s, points, slots) for s in family]
    spec = dataclasses.replace(
        padded[0],
        **{f: pick(choice, [getattr(s, f) for s in padded]) for f in ("x", "density", "atoms", "size", "result", "m", "t")},
        law=OneOf(tuple(s.law for s in family), choice),
    )
    result = where(jnp.any(passed) | levy_ok, RESULTS.successful, RESULTS.no_model_passed)
    return spec, where(size >= n0 * (1 - 1e-12), result, RESULTS.size_below_n0)
