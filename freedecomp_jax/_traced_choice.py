r"""The model choice of a traced [`predict`][] of eigenvalues with automatic degrees, as one program.

Outside a trace the choice walks its candidates in plain Python (`_select.py`); inside one every
candidate is computed side by side and the same rule picks among them with masks and argmins:

0. **The validation draws**: the free compressions of the eigenvalues (`_validate.compressions`, the
   draws a concrete call makes from the same seed) and the baselines' errors on them.
1. **Curves** (`_fit_choice.candidate_lanes`, `fit_lanes`): the candidates the plain-Python choice would
   refine (the first `max_tries` eligible, each padded with zero coefficients to (`max_deg_z`,
   `max_deg_m`); a padded curve is the same polynomial), fitted to the eigenvalues and, with the same
   degrees and mode, to every draw, all in one program. Each fit to the eigenvalues is solved on the grid
   covering its support at $n$ and checked (`_check.py`); each refit is solved at the observed size,
   checked there and scored (`_validate.prediction_error`). A curve passes if it is valid, passes its
   check and is **gated**: its refits' mean error, over the draws on which they pass, beats the
   baselines' over the same draws (`_validate.decompresses`). The first that passes is the curve tier's answer.
2. **The free Lévy–Khintchine law** ([`fit_levy`][]) of the spectrum's sign (`_levy_fit.indefinite`; the
   program cannot branch on the data, so both signs are fitted and solved at $n$ on their grids) and
   checked, then gated as the curves are, each draw refitted with its own sign.
3. **The choice**: the curve if one passes; else the Lévy–Khintchine law if it passes its check and
   its gate; else `RESULTS.no_model_passed`.

The stages run one after another, each computed from values that depend on the one before (`_after`): on
the CPU, JAX 0.10 and 0.11 never return from two batched LAPACK calls that run at once on a small thread
pool (README.md, benchmarks/RESULTS.md), and the compressions, the curves' fits and the two signs'
Lévy–Khintchine fits are batched linear algebra that the program could otherwise run side by side.

**Derivatives** (reverse mode: `jax.grad`, `jax.vjp`). The choice is piecewise constant in the data and
is not differentiated; the prediction's derivative is the chosen member's. `_choose` is an
`eqx.filter_custom_vjp`: its forward pass keeps each member's pullback (`eqx.filter_vjp`) with respect to
the inputs being differentiated alone (the draws, the gate and the other inputs are constants to it), and
its backward pass applies the pullbacks one after another, again ordered by `_after` (left to JAX, the
members' transposed solves ran side by side and never returned), keeping the chosen member's result with
`where`: a member not chosen may have no finite derivative, and `where` does not let it through. The
curves share the eigenvalues, so a candidate not chosen would poison the chosen one's derivative; the
pullback is the chosen candidate's fit again, alone. Forward mode (`jax.jvp`, `jax.jacfwd`) is not defined.

The result is a [`Spectrum`][] of [`OneOf`][] the three (curve, unsigned and signed Lévy–Khintchine
law), on a grid of the longest of their grids: the chosen spectrum's own points first, then, for a
shorter grid, points of zero density just beyond its right end (they add no mass, and the quantiles
are the chosen spectrum's). The curves are written about the spectrum's centre (`_shifted.centre`: by 0
unless it lies far from 0) as the plain-Python choice writes them. What that choice does and this one does
not: its last tier, curves fitted beside isolated outliers after every other candidate failed (this choice
then reports `no_model_passed`: a batched fit of as many lanes again for a rare case).
"""

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from . import _arguments as arguments
from ._check import check
from ._curve import SpectralCurve
from ._fit_choice import candidate_lanes, fit_lanes
from ._fit_config import FitConfig
from ._fit_problem import zero_tolerance
from ._fit_refine import _data_jit
from ._levy_fit import LevyConfig, fit_levy, indefinite
from ._one_of import OneOf, padded_atoms, pick
from ._results import RESULTS, full, where
from ._shifted import Shifted, centre
from ._spectrum import Spectrum
from ._validate import baseline_errors, compressions, prediction_error


def _padded(spec: Spectrum, points: int, slots: int) -> Spectrum:
    """`spec` on `points` grid points and `slots` atom slots: zero density just beyond its grid's right end
    (together 1e-9 of its width, each step at least four units in the last place of the end, so that every
    cell has a positive width for a spectrum far from 0 too), empty atom slots."""
    extra = points - spec.x.shape[0]
    end = spec.x[-1]
    step = jnp.maximum(1e-9 * (end - spec.x[0]) / max(extra, 1), 4 * jnp.finfo(jnp.float64).eps * jnp.abs(end))
    return dataclasses.replace(
        spec,
        x=jnp.concatenate([spec.x, end + step * jnp.arange(1, extra + 1)]),
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


def _stage(f, inputs, perturbed):
    """`(out, aux, pullback)` of `(out, aux) = f(inputs)`; with `perturbed` (a pytree of bools over `inputs`),
    the pullback of `out` with respect to the perturbed inputs alone (the others held constant: a path that
    is not differentiated may have no finite derivative, and it would poison the others')."""
    if perturbed is None:
        out, aux = f(inputs)
        return out, aux, None
    diff, const = eqx.partition(inputs, perturbed)
    out, pullback, aux = eqx.filter_vjp(lambda d: f(eqx.combine(d, const)), diff, has_aux=True)
    return out, aux, pullback


def _family(inputs, size, kind, log, eps, fit_config: FitConfig, levy_config: LevyConfig, grid_size: int, solver, perturbed=None):
    """`((curve, unsigned, signed), choice, result)` and, given `perturbed` (which `inputs` are differentiated),
    each member's pullback (module docstring)."""
    eigs, w, n0 = jax.lax.stop_gradient(inputs)
    count = jnp.sum(w > 0)
    observed = count.astype(jnp.float64)

    # the validation draws: free compressions of the eigenvalues, decided on and not differentiated (an absent
    # draw, below MIN_SIZE, is the observed eigenvalues again, and masked)
    tol = zero_tolerance(eigs, w, eps)
    draws, draw_weights, sizes = compressions(eigs, w, tol, fit_config.seed)
    present = sizes > 0
    draws, draw_weights = (jnp.where(present[:, None], a, b) for a, b in ((draws, eigs), (draw_weights, w)))
    draw_sizes = jnp.where(present, sizes, observed)
    bars = baseline_errors(draws, draw_weights, sizes, eigs, w, tol)

    def gated(errors):
        """Whether the refits' mean error beats the baselines' over the draws on which they passed their check."""
        counted = present[:, None] & jnp.isfinite(errors)
        mean = lambda v: jnp.sum(jnp.where(counted, v, 0.0), axis=0) / jnp.maximum(jnp.sum(counted, axis=0), 1)  # noqa: E731
        return jnp.any(counted, axis=0) & (mean(errors) < mean(jnp.broadcast_to(bars[:, None], errors.shape)))

    def refit_errors(refits):
        """Per refit (a spectrum at the observed size), its prediction error where it passes its check, else inf."""
        errors = jax.vmap(lambda s: jnp.where(_passes(s), prediction_error(s, eigs, w, tol), jnp.inf))(refits)
        return jnp.where(jnp.isfinite(errors), errors, jnp.inf)

    # 1. the curves: the first valid one that passes at n and is gated, each refitted with its degrees and mode
    #    to every draw beside the observed fit (one program), decompressed to the observed size and checked; all
    #    written about the spectrum's centre where it lies far from 0 (`_shifted.centre`, 0 elsewhere: the same
    #    numbers), as a concrete call writes them
    shift = centre(eigs, w, eps, log, fit_config)

    def curve(c, n0, n):
        law = Shifted(SpectralCurve(c, n0), shift)
        return Spectrum.solve(law, kind, law.grid(kind, n, grid_size, solver), n, solver)

    e_after, w_after = _after((eigs, w), draws)
    base = _data_jit(e_after - shift, w_after, log, eps, fit_config)
    lanes, tried = candidate_lanes(base, count, fit_config)
    refit_data = jax.vmap(lambda d, dw: _data_jit(d - shift, dw, base.log, eps, fit_config))(draws, draw_weights)
    bases = jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), base, refit_data)
    coeffs, n0s, diag = fit_lanes(bases, jnp.concatenate([n0[None], draw_sizes]), lanes, fit_config)
    targets = jnp.concatenate([jnp.broadcast_to(jnp.asarray(size, dtype=jnp.float64), (1,)), jnp.full(sizes.shape, observed)])
    specs = jax.vmap(lambda c, n0, n: jax.vmap(lambda c: curve(c, n0, n))(c))(coeffs, n0s, targets)
    observed_specs = jax.tree.map(lambda v: v[0], specs)
    errors = refit_errors(jax.tree.map(lambda v: v[1:].reshape(-1, *v.shape[2:]), specs)).reshape(sizes.shape[0], -1)
    passed = tried & jax.vmap(lambda d: d.valid)(jax.tree.map(lambda v: v[0], diag)) & jax.vmap(_passes)(observed_specs) & gated(errors)
    k = jnp.argmax(passed)
    chosen_curve = jax.tree.map(lambda v: v[k], observed_specs)
    curve_pullback, last = None, chosen_curve.density
    if perturbed is not None:
        # the chosen candidate's fit again, alone: the candidates share the eigenvalues, and one not chosen may have
        # no finite derivative (a lane that failed has NaN coefficients), which would poison the sum over lanes
        def chosen(inputs):
            e, dw, q = _after(inputs, last)
            c, n0, _ = fit_lanes(jax.tree.map(lambda v: v[None], _data_jit(e - shift, dw, log, eps, fit_config)), q[None], lanes[k][None], fit_config)
            return curve(c[0, 0], n0[0], size)

        again, _, curve_pullback = _stage(lambda inputs: (chosen(inputs), None), inputs, perturbed)
        last = again.density

    # 2. the Levy-Khintchine law, gated: the observed eigenvalues (solved at n) and each draw (solved at the
    #    observed size) fitted side by side, one program per sign
    negative, use_curve = indefinite(eigs, w), jnp.any(passed)

    def levy(signed: bool, done):
        def member(inputs):
            e, dw, q = _after(inputs, *done)

            def one(e, dw, q, n):
                return Spectrum.on_grid(fit_levy(e, q, weights=dw, signed=signed, config=levy_config), kind, n, grid_size, solver)

            specs = jax.vmap(one)(
                jnp.concatenate([e[None], draws]),
                jnp.concatenate([dw[None], draw_weights]),
                jnp.concatenate([q[None], draw_sizes]),
                jnp.concatenate([jnp.broadcast_to(size, (1,)), jnp.full(sizes.shape, observed)]),
            )
            return jax.tree.map(lambda v: v[0], specs), refit_errors(jax.tree.map(lambda v: v[1:], specs))

        return _stage(member, inputs, perturbed)

    unsigned, unsigned_errors, unsigned_pullback = levy(False, (last,))
    signed, signed_errors, signed_pullback = levy(True, (unsigned.density, unsigned_errors))
    errors = jnp.where(jax.vmap(indefinite)(draws, draw_weights), signed_errors, unsigned_errors)  # each draw's own sign
    levy_ok = jnp.where(negative, _passes(signed), _passes(unsigned)) & gated(errors[:, None])[0]

    # 3. the first that passes, in tier order
    choice = jnp.where(use_curve, 0, jnp.where(negative, 2, 1))
    result = where(use_curve | levy_ok, RESULTS.successful, RESULTS.no_model_passed)
    return ((chosen_curve, unsigned, signed), choice, result), (curve_pullback, unsigned_pullback, signed_pullback)


@eqx.filter_custom_vjp
def _choose(inputs, *statics):
    """`_family` without its pullbacks; reverse-mode differentiable in `inputs = (eigs, weights, n0)`."""
    return _family(inputs, *statics)[0]


@_choose.def_fwd
def _choose_fwd(perturbed, inputs, *statics):
    out, pullbacks = _family(inputs, *statics, perturbed=perturbed)
    return out, (pullbacks, eqx.filter(out[0], eqx.is_inexact_array), out[1])


@_choose.def_bwd
def _choose_bwd(residuals, cotangent, perturbed, inputs, *statics):
    r"""The chosen member's pullback of its cotangent: $\bar x = \sum_k [k = c]\, J_k^\top \bar y_k$, the sum
    taken with `where` (a member not chosen may have no finite derivative). The pullbacks run one after another
    (`_after`), as the forward stages do."""
    del perturbed, statics
    pullbacks, members, choice = residuals
    grad = None
    for k, (pullback, member, bar) in enumerate(zip(pullbacks, members, cotangent[0])):
        # the pullback takes an array for every inexact array of the member's output (zero where none came back)
        bar = jax.tree.map(lambda v, b: v if v is None else (jnp.zeros_like(v) if b is None else b), member, bar, is_leaf=lambda v: v is None)
        (g,) = pullback(bar if grad is None else _after(bar, grad))
        grad = g if grad is None else jax.tree.map(lambda a, b: jnp.where(choice == k, a, b), g, grad)
    return grad


def automatic(eigs, size, kind, n0, log, weights, fit_config: FitConfig, levy_config: LevyConfig, grid_size: int, solver) -> tuple[Spectrum, RESULTS]:
    """`(spectrum, result)` of the traced choice (module docstring)."""
    w = jnp.ones(eigs.shape) if weights is None else jnp.asarray(weights, dtype=jnp.float64)
    eps = arguments.eps_of(np.empty(0, dtype=eigs.dtype))
    eigs = eigs.astype(jnp.float64)
    n0 = jnp.sum(w > 0).astype(jnp.float64) if n0 is None else jnp.asarray(n0, dtype=jnp.float64)
    family, choice, result = _choose((eigs, w, n0), size, kind, log, eps, fit_config, levy_config, grid_size, solver)
    points = max(s.x.shape[0] for s in family)
    slots = max(s.atoms[0].shape[-1] for s in family)
    padded = [_padded(s, points, slots) for s in family]
    spec = dataclasses.replace(
        padded[0],
        **{f: pick(choice, [getattr(s, f) for s in padded]) for f in ("x", "density", "atoms", "size", "result", "m", "t")},
        law=OneOf(tuple(s.law for s in family), choice),
    )
    return spec, where(size >= n0 * (1 - 1e-12), result, RESULTS.size_below_n0)
