r"""Automatic degrees as one compiled program: `fit(eigs, deg=None)` under `jit`, `vmap` and `grad`.

Outside a trace the degrees are chosen in plain Python (`_fit.py`, [`fit_with_diagnostics`][]), refining
the candidates it reaches one at a time. Inside one, the same rule runs with static shapes:

1. **Candidates**: every $(L, K)$, $1 \le L \le$ `max_deg_z`, $2 \le K \le$ `max_deg_m`, fewest branch
   points $L(K - 1)$ first, then fewest sheets $K$ (`candidate_degrees`); a candidate with fewer than
   $4(L+1)(K+1)$ eigenvalues of positive weight is masked (the count may be traced: ragged batches).
2. **Scores**: each candidate's closed-form fit, padded with zero coefficients to the frame
   $(\text{max\_deg\_z}, \text{max\_deg\_m})$ (`_scores`), and its relative mismatch at the fit points;
   eligible when within `plateau_factor` of the median over the unmasked candidates.
3. **Refinement** of the first `max_tries` eligible ones, each in the frame (`_padded_problem`: its
   constraint rows, coefficient mask and rank are arrays, so one program vmapped over `max_tries` lanes
   fits them all; a padded coefficient stays exactly 0).
4. **Choice**: the first refined curve that is valid (branch tracked, density $\ge 0$, unit mass), else
   the one with the fewest branch failures, then the mass closest to 1, as outside a trace.

Outside a trace, each candidate that the plain-Python choice refines, and each refit of one to a
validation draw, is fitted by the program of one such lane (`fit_candidate`, the candidate's index an
array): one compilation serves every candidate of a frame, where a program per degree pair cost one
compilation each (a real matrix whose four candidates all fail compiled four), and both choices solve
the same padded problem.

The curve comes back in the frame, its coefficients 0 beyond the chosen degrees (`SpectralCurve.trimmed`
drops those rows and columns outside `jit`). With no eligible candidate its coefficients and the
diagnostics' figures are NaN (`diagnostics.valid` is False), so one such spectrum of a batch does not stop
the others. The choice is piecewise constant in the data; its derivative is the chosen fit's (the implicit
function theorem). Each candidate is the same minimiser as outside a trace, so the two choices agree, to
rounding, wherever the refinement converges within `FitConfig.polish` Newton steps; a fit cut off by that
budget ends at a point that depends on rounding (a lane of a batch and a single lane differ in their
last bits), so there the two may differ by as much as the fit is from its minimiser.
"""

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp

from ._fit_config import FitConfig
from ._fit_problem import _candidate_tables, _Data, _padded_problem
from ._fit_refine import _fit_problem, _scores


def candidate_degrees(config: FitConfig) -> tuple[tuple[int, int], ...]:
    """Every degree pair of automatic degrees, fewest branch points $L(K-1)$ first, then fewest sheets $K$."""
    pairs = ((L, K) for L in range(1, config.max_deg_z + 1) for K in range(2, config.max_deg_m + 1))
    return tuple(sorted(pairs, key=lambda d: (d[0] * (d[1] - 1), d[1])))


def fit_automatic(base: _Data, count, n0, config: FitConfig):
    """`(coefficients, n0, diagnostics)` of the automatic degrees for the data `base` of `count`
    eigenvalues (module docstring); the diagnostics name the frame as `deg`."""
    c, n0, diag, tried = automatic_lanes(base, count, n0, config)
    failures = jnp.where(tried, diag.branch_failures, jnp.iinfo(diag.branch_failures.dtype).max)
    fewest = tried & (failures == jnp.min(failures))
    closest = jnp.argmin(jnp.where(fewest, jnp.abs(diag.mass - 1.0), jnp.inf))
    valid = tried & jax.vmap(lambda d: d.valid)(diag)
    pick = jnp.where(jnp.any(valid), jnp.argmax(valid), closest)
    any_tried = jnp.any(tried)
    c, diag = jax.tree_util.tree_map(  # no eligible candidate: NaN coefficients and figures
        lambda leaf: jnp.where(any_tried, leaf[pick], jnp.nan) if jnp.issubdtype(leaf.dtype, jnp.floating) else leaf[pick], (c, diag)
    )
    reason = (
        f"deg=None under jit/vmap/grad: of the first {tried.shape[0]} eligible candidate degrees, the first whose refined curve is valid "
        f"(else the closest to validity), fitted in the frame {(config.max_deg_z, config.max_deg_m)}: coefficients 0 beyond the chosen degrees"
    )
    return c, n0, dataclasses.replace(diag, reason=reason)


def fit_candidate(base: _Data, extra: tuple, deg: tuple[int, int], n0, config: FitConfig):
    """`(coefficients, n0, diagnostics)` of the candidate `deg` of automatic degrees, fitted in the frame
    (`max_deg_z`, `max_deg_m`) by the program of one lane of `automatic_lanes` (module docstring) and cut
    to its degrees (the padded coefficients are exactly 0). The data `extra` (joint spectra) join its fit points."""
    degrees = candidate_degrees(config)
    frame = (config.max_deg_z, config.max_deg_m)
    c, n0, diag = _lane(base, extra, degrees, frame, jnp.asarray(degrees.index(deg)), n0, config.compiled())
    return c[: deg[0] + 1, : deg[1] + 1], n0, dataclasses.replace(diag, deg=deg)


@eqx.filter_jit
def _lane(base: _Data, extra: tuple, degrees, frame, k, n0, config: FitConfig):
    rows, active, mask, rank = (t[k] for t in _candidate_tables(base, degrees, frame, config))
    return _padded_fit(base, extra, frame, rows, active, mask, rank, jnp.asarray(n0, dtype=jnp.float64), config)


def _padded_fit(base: _Data, extra: tuple, frame, rows, active, mask, rank, n0, config: FitConfig):
    """The fit of one candidate in the frame, given its row of `_candidate_tables`."""
    problem, b0, residual = _padded_problem(base, extra, frame, rows, active, mask, rank, config)
    return _fit_problem(problem, b0, residual, base, frame, n0, config)


def automatic_lanes(base: _Data, count, n0, config: FitConfig):
    """The refined candidates of steps 1-3 side by side: `(coefficients, n0, diagnostics, tried)`, one
    lane per candidate (the first `max_tries` eligible in order; `tried` False on a lane filled by an
    ineligible one), each in the frame."""
    lanes, tried = candidate_lanes(base, count, config)
    c, n0, diag = fit_lanes(jax.tree.map(lambda v: v[None], base), jnp.reshape(n0, (1,)), lanes, config)
    return c[0], n0[0], jax.tree.map(lambda v: v[0], diag), tried


def candidate_lanes(base: _Data, count, config: FitConfig):
    """Steps 1-2: `(lanes, tried)`, the indices in `candidate_degrees` of the first `max_tries` eligible
    candidates in order for the data `base` of `count` eigenvalues (`tried` False on a lane filled by an
    ineligible one)."""
    degrees = candidate_degrees(config)
    return _candidate_lanes(base, count, degrees, min(config.max_tries, len(degrees)), config.plateau_factor, config.compiled())


@eqx.filter_jit
def _candidate_lanes(base: _Data, count, degrees, tries: int, plateau: float, config: FitConfig):
    number = len(degrees)
    enough = jnp.asarray([4 * (L + 1) * (K + 1) for L, K in degrees]) <= count
    score = _scores(base, (), degrees, config)[:, 0]
    ordered = jnp.sort(jnp.where(enough, score, jnp.inf))
    k = jnp.sum(enough)
    median = 0.5 * (ordered[jnp.maximum(k - 1, 0) // 2] + ordered[k // 2])
    eligible = enough & (score <= plateau * median)
    lanes = jnp.argsort(jnp.where(eligible, 0, number) + jnp.arange(number))[:tries]  # the first `tries` eligible, in order
    return lanes, eligible[lanes]


def fit_lanes(bases: _Data, n0, lanes, config: FitConfig):
    """Step 3 for `B` spectra at once (`bases` and `n0` with a leading axis `B`): every candidate of
    `lanes` fitted to each, in the frame, by one program: `(coefficients, n0, diagnostics)`, shapes
    `(B, T, ...)`, `(B,)` and `(B, T)`. [`predict`][] under a trace fits the observed spectrum and its
    validation draws (`_validate.compressions`) with the same degrees side by side."""
    frame = (config.max_deg_z, config.max_deg_m)
    return _fit_lanes(bases, jnp.asarray(n0, dtype=jnp.float64), lanes, candidate_degrees(config), frame, config.compiled())


@eqx.filter_jit
def _fit_lanes(bases: _Data, n0, lanes, degrees, frame, config: FitConfig):
    def spectrum(base, n0):
        def one(rows, active, mask, rank):
            return _padded_fit(base, (), frame, rows, active, mask, rank, n0, config)

        tables = _candidate_tables(base, degrees, frame, config)
        return jax.vmap(one, out_axes=(0, None, 0))(*(t[lanes] for t in tables))

    return jax.vmap(spectrum)(bases, n0)
