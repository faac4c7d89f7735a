r"""Validated extrapolation: how well a model, fitted at a smaller size, predicts the spectrum that was observed.

A random principal submatrix of the observed $m\times m$ matrix is a sample of the same matrix at a
smaller size $q$, so the data carry their own test of a model: fit it to a $q\times q$
sub-submatrix, decompress it from $q$ to $m$ and compare with the $m$ observed eigenvalues.
[`predict`][] ranks by this error the models that pass their check at the target size: the curves
of automatic degrees, and the models of a Gram matrix of known rank (the deformed curve and the
Lévy–Khintchine laws of rank $q$); see `_select.py`. The draws:

- **matrix input**: random principal sub-submatrices of sizes $m/4$ and $m/2$, `DRAWS` of each,
  from `FitConfig.seed` (their diagonals serve the laws with a diagonal profile); where the observed
  spectrum has an atom at 0 ($m - r$ exact zeros, rank $r$), sizes a quarter and half way from $r$ to $m$
  instead, so that every draw has zeros too (`draws`);
- **eigenvalues**: free compressions of the observed law, $(Q\Lambda Q^\top)_{q\times q}$ with $Q$
  Haar-orthogonal, drawn with `jax.random` from `FitConfig.seed` in static shapes (`compressions`: the
  sizes depend on the data, so each draw is the $m \times m$ matrix with its rows and columns beyond $q$
  replaced by a diagonal above the spectrum, whose $q$ smallest eigenvalues are the compression's): the
  draws a choice inside `jit` can make as well. They test the fit and the decompression,
  not whether the matrix is free from its coordinates (a matrix input tests that too).

The error of a prediction $\mu$ of the observed eigenvalues $\lambda$ is
$$E = D_{\rm KS}(\mu, \lambda) + W_1(\mu, \lambda)/\sigma_\lambda,$$
the Kolmogorov–Smirnov distance (where the mass is, the bulk near 0 included) plus the Wasserstein
distance in units of the observed standard deviation (the scale: outliers and edges), after setting
$|\lambda| \le$ the zero tolerance to 0 in both; $W_1$ between the $m$ observed eigenvalues and the
prediction's quantiles at $(k + \tfrac12)/m$ (or the baseline's $m$ values) is the mean distance of the
sorted pairs. The errors and the baselines are pure JAX with static shapes (weights mark the observed
eigenvalues and a draw's own), compiled once per shape. Its limit: it sees only what happens between $m/4$
and $m$; an atom born between $m$ and $n$ must come from the model (the rank), not from validation.
"""

import dataclasses
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._check import check
from ._custom_types import Array, ArrayLike, Float, Real
from ._goodness import fit_distance
from ._inputs import _Inputs, _Spectrum
from ._kinds import AbstractDecompression
from ._law import AbstractSpectralLaw
from ._results import RESULTS
from ._spectrum import Spectrum

DRAWS = 2  # random sub-submatrices (or compressions) per validation size
FRACTIONS = (0.25, 0.5)  # validation sizes q = fraction * m
MIN_SIZE = 16  # no validation draw smaller than this
GRID = 512  # grid points of a prediction at the observed size (default)


@dataclasses.dataclass(frozen=True)
class Draw:
    """One validation sample at size `size`: its eigenvalues, and its matrix when the input was one."""

    size: int
    eigs: np.ndarray
    matrix: np.ndarray | None = None


Build = Callable[[Draw], tuple[AbstractSpectralLaw, AbstractDecompression]]  # a model fitted to a draw, with the kind that decompresses it


def _sizes(count, zeros):
    r"""The validation sizes $q = r + f(m - r)$, $f$ in `FRACTIONS`, each `DRAWS` times ($m$ = `count`, $r$ its rank
    where it has `zeros` exact zeros, else 0)."""
    rank = jnp.where(zeros > 0, count - zeros, 0)
    return jnp.floor(rank + jnp.repeat(jnp.asarray(FRACTIONS), DRAWS) * (count - rank))


@jax.jit
def compressions(
    eigs: Real[ArrayLike, " m"], weights: Real[ArrayLike, " m"], zero_tol: Real[ArrayLike, ""], seed: Real[ArrayLike, ""]
) -> tuple[Float[Array, "D m"], Float[Array, "D m"], Float[Array, " D"]]:
    r"""Free compressions of the weighted eigenvalues (weight > 0 marks an observed one; module docstring):
    `(eigs, weights, sizes)`, each draw's eigenvalues sorted in the `m` slots, weight 0 on the padding (copies
    of the largest, as `slots`) and on every slot of a draw smaller than `MIN_SIZE` (size 0). The Haar
    rotation acts on the observed eigenvalues alone: its Gaussian is the identity on the other slots."""
    lam, w = jnp.asarray(eigs, dtype=jnp.float64), jnp.asarray(weights)
    m = lam.shape[0]
    order = jnp.lexsort((lam, w <= 0))  # the observed ones first, ascending
    lam, valid = lam[order], (w > 0)[order]
    count = jnp.sum(valid)
    lam = jnp.where(valid, lam, 0.0)
    sizes = _sizes(count, jnp.sum(valid & (jnp.abs(lam) <= zero_tol)))
    above = 2.0 * jnp.max(jnp.abs(lam)) + 1.0

    def one(key, q):
        g = jnp.where(valid[:, None] & valid[None, :], jax.random.normal(key, (m, m)), jnp.eye(m))
        Q, R = jnp.linalg.qr(g)
        Q = Q * jnp.sign(jnp.diag(R))
        inside = jnp.arange(m) < q
        block = jnp.where(inside[:, None] & inside[None, :], (Q * lam) @ Q.T, 0.0) + jnp.diag(jnp.where(inside, 0.0, above))
        e = jnp.linalg.eigvalsh(block)  # the q eigenvalues of the compression, then m - q copies of `above`
        e = jnp.where(inside, e, e[jnp.maximum(q.astype(int) - 1, 0)])
        return e, (inside & (q >= MIN_SIZE)).astype(jnp.float64)

    keys = jax.random.split(jax.random.key(seed), sizes.shape[0])
    e, dw = jax.vmap(one)(keys, sizes)
    return e, dw, jnp.where(sizes >= MIN_SIZE, sizes, 0.0)


def draws(eigs: np.ndarray, matrix: np.ndarray | None, seed: int, zero_tol: float = 0.0, weights: np.ndarray | None = None) -> tuple[Draw, ...]:
    r"""The validation draws of the observed spectrum `eigs` (module docstring; `weights` > 0 marks the observed
    eigenvalues, all by default): sub-submatrices of `matrix`, else free compressions (`compressions`). Of sizes
    $q = r + f(m - r)$, $f$ in `FRACTIONS`, where the observed spectrum has $m - r$ zeros (|λ| <= `zero_tol`;
    $r = 0$ where it has none): a draw of $q \le r$ has no zero, and a model fitted to it would have to birth
    the observed atom, which a model fitted at $m$ carries from its data."""
    w = np.ones(np.shape(eigs)) if weights is None else np.asarray(weights)
    if matrix is None:
        e, _, sizes = (np.asarray(v) for v in compressions(eigs, w, zero_tol, seed))
        return tuple(Draw(int(q), e[k, : int(q)]) for k, q in enumerate(sizes) if q > 0)
    m = matrix.shape[0]
    zeros = int(np.sum((np.abs(np.asarray(eigs)) <= zero_tol) & (w > 0)))
    rng = np.random.default_rng(seed)
    out = []
    for q in np.asarray(_sizes(m, zeros)).astype(int):
        if q >= MIN_SIZE:
            idx = np.sort(rng.permutation(m)[:q])
            sub = matrix[np.ix_(idx, idx)]
            out.append(Draw(int(q), np.linalg.eigvalsh(sub), sub))
    return tuple(out)


def slots(d: Draw, m: int, shift: float = 0.0) -> tuple[np.ndarray, float, np.ndarray]:
    """`(eigenvalues, n0, weights)`: the draw's eigenvalues, sorted and moved by `-shift`, in `m` slots, weight 0
    marking the padding (copies of the largest), and its size: every draw reuses the compiled fit of the observed size."""
    eigs = np.sort(np.asarray(d.eigs, dtype=np.float64)) - shift
    pad = np.full(m - eigs.size, eigs[-1])
    return np.concatenate([eigs, pad]), float(d.size), np.concatenate([np.ones(eigs.size), np.zeros(pad.size)])


def padded(d: Draw, m: int, eps: float, shift: float = 0.0) -> _Inputs:
    """The draw's eigenvalues (`slots`, computed to precision `eps`) as a curve's fit input, $n_0$ = the draw's size."""
    eigs, n0, weights = slots(d, m, shift)
    return _Inputs(_Spectrum(eigs, weights, eps), n0, (), ())


def _observed(eigs, weights, zero_tol):
    """The observed eigenvalues snapped and sorted, the unobserved slots last (+inf); their count, mean and standard deviation."""
    w = jnp.asarray(weights) > 0
    lam = jnp.asarray(eigs, dtype=jnp.float64)
    lam = jnp.where(jnp.abs(lam) <= zero_tol, 0.0, lam)
    count = jnp.sum(w)
    mean = jnp.sum(jnp.where(w, lam, 0.0)) / count
    std = jnp.sqrt(jnp.sum(jnp.where(w, (lam - mean) ** 2, 0.0)) / count)
    return jnp.sort(jnp.where(w, lam, jnp.inf)), count, std


def _scaled_w1(pred, lam, count, std):
    r"""$W_1/\sigma$ between two sorted samples of `count` values (in their first slots)."""
    inside = jnp.arange(lam.shape[0]) < count
    w1 = jnp.sum(jnp.where(inside, jnp.abs(pred - lam), 0.0)) / count
    return jnp.where(std > 0, w1 / jnp.where(std > 0, std, 1.0), 0.0)


@eqx.filter_jit
def prediction_error(spec: Spectrum, eigs: Real[ArrayLike, " m"], weights: Real[ArrayLike, " m"], zero_tol: Real[ArrayLike, ""]) -> Float[Array, ""]:
    r"""$D_{\rm KS} + W_1/\sigma$ between the law of `spec` (one size) and the eigenvalues `eigs` of positive
    `weights`, zeros snapped (module docstring)."""
    lam, count, std = _observed(eigs, weights, zero_tol)
    ks = fit_distance(spec, eigs, (jnp.asarray(weights) > 0).astype(jnp.float64), zero_tol)
    u = jnp.minimum((jnp.arange(lam.shape[0]) + 0.5) / count, 1.0)
    pred = spec.quantile(u)
    pred = jnp.where(jnp.abs(pred) <= zero_tol, 0.0, pred)
    return ks + _scaled_w1(pred, lam, count, std)


def _baseline_error(draw, draw_weights, size, lam, count, std, zero_tol):
    """The smallest error of the three baselines built from one draw (`baseline_errors`)."""
    m = lam.shape[0]
    k = jnp.arange(m)
    inside = k < count
    # as is: the draw's linear-interpolation quantiles at (k + 1/2)/count, k < count (numpy's default method)
    h = jnp.clip((k + 0.5) / count, 0.0, 1.0) * (size - 1)
    lo = jnp.floor(h).astype(int)
    hi = jnp.minimum(lo + 1, size.astype(int) - 1)
    as_is = draw[lo] + (h - lo) * (draw[hi] - draw[lo])
    mean = jnp.sum(draw * draw_weights) / size
    rescaled = mean + (as_is - mean) * jnp.sqrt(count / size)
    nystrom = jnp.sort(jnp.where(k < size, draw * count / size, jnp.where(inside, 0.0, jnp.inf)))

    def error(pred):
        pred = jnp.sort(jnp.where(inside, jnp.where(jnp.abs(pred) <= zero_tol, 0.0, pred), jnp.inf))
        points = jnp.where(inside, jnp.concatenate([pred, lam]).reshape(2, m), 0.0).reshape(-1)
        ks = jnp.max(jnp.abs(jnp.searchsorted(pred, points, side="right") - jnp.searchsorted(lam, points, side="right"))) / count
        return ks + _scaled_w1(pred, lam, count, std)

    return jnp.minimum(jnp.minimum(error(as_is), error(rescaled)), error(nystrom))


@jax.jit
def baseline_errors(
    draws: Float[ArrayLike, "D m"], draw_weights: Float[ArrayLike, "D m"], sizes: Float[ArrayLike, " D"], eigs: Real[ArrayLike, " m"], weights: Real[ArrayLike, " m"], zero_tol: Real[ArrayLike, ""]
) -> Float[Array, " D"]:
    r"""Per draw (sorted in the observed spectrum's slots, `slots`), the smallest `prediction_error` of the three
    predictions of the observed eigenvalues that need no model: the draw's spectrum as is; rescaled about its mean
    by $\sqrt{m/q}$; Nyström, $m/q$ times it padded with $m - q$ zeros ($q$ the draw's size, $m$ the observed count)."""
    lam, count, std = _observed(eigs, weights, zero_tol)
    size = jnp.asarray(sizes, dtype=jnp.float64)
    return jax.vmap(lambda d, dw, q: _baseline_error(d, dw, jnp.maximum(q, 1.0), lam, count, std, zero_tol))(
        jnp.asarray(draws, dtype=jnp.float64), jnp.asarray(draw_weights, dtype=jnp.float64), size
    )


def _slotted(samples: tuple[Draw, ...], m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The draws in the observed spectrum's `m` slots (`slots`), stacked: `(eigs, weights, sizes)`."""
    rows = [slots(d, m) for d in samples]
    return np.stack([r[0] for r in rows]), np.stack([r[2] for r in rows]), np.array([r[1] for r in rows])


def _baseline_errors(samples: tuple[Draw, ...], eigs: np.ndarray, weights: np.ndarray, zero_tol: float) -> np.ndarray:
    """Per draw, the smallest error of the three baselines built from it (`baseline_errors`)."""
    if not samples:
        return np.zeros(0)
    return np.asarray(baseline_errors(*_slotted(samples, np.shape(eigs)[0]), eigs, weights, zero_tol))


def baseline_error(samples: tuple[Draw, ...], eigs: np.ndarray, zero_tol: float, weights: np.ndarray | None = None) -> float:
    r"""The validated error of the baselines: over the draws, the mean of `baseline_errors`. A model whose
    validated error is not below it has not decompressed."""
    errors = _baseline_errors(samples, eigs, np.ones(np.shape(eigs)) if weights is None else weights, zero_tol)
    return float(np.mean(errors)) if errors.size else np.inf


def _errors(build: Build, samples: tuple[Draw, ...], eigs, weights, zero_tol: float, grid: int, checked: bool = False) -> np.ndarray:
    """Per draw, the prediction error of the model `build` fits to it, decompressed to the observed size (the
    count of positive `weights`); inf where a fit or a solve fails (with `checked`, also where the prediction
    fails its check, `_check.check`)."""
    m = float(np.sum(np.asarray(weights) > 0))
    errors = []
    for d in samples:
        try:
            law, kind = build(d)
            spec = Spectrum.on_grid(law, kind, m, grid)
            err = float(prediction_error(spec, eigs, weights, zero_tol)) if not checked or check(spec)[0] == RESULTS.successful else np.inf
        except (ValueError, FloatingPointError, np.linalg.LinAlgError):
            err = np.inf
        errors.append(err if np.isfinite(err) else np.inf)
    return np.array(errors)


def _ones(eigs, weights):
    return np.ones(np.shape(eigs)) if weights is None else np.asarray(weights)


def validated_error(build: Build, samples: tuple[Draw, ...], eigs, zero_tol: float, grid: int = GRID, weights=None) -> float:
    """Mean prediction error over the draws of the model `build` fits to each draw (with the kind that
    decompresses it), decompressed to the observed size on `grid` points; inf if a fit or a solve fails.
    `weights` > 0 marks the observed eigenvalues (all by default)."""
    errors = _errors(build, samples, eigs, _ones(eigs, weights), zero_tol, grid)
    return float(np.mean(errors)) if errors.size else np.inf


def decompresses(build: Build, samples: tuple[Draw, ...], eigs, zero_tol: float, grid: int = GRID, weights=None) -> tuple[float, float]:
    """`(error, bar)`: the model's mean prediction error over the draws on which it could be fitted,
    solved and checked (`_check.check`, as at size $n$), and the baselines' (`baseline_errors`) over
    the same draws; the model decompresses if `error < bar`. A draw too small for the model (its
    refit fails its check, as the NTK's (2, 2) curve does at a quarter of the size) does not count
    against it; no such draw at all gives `(inf, bar)`."""
    w = _ones(eigs, weights)
    errors = _errors(build, samples, eigs, w, zero_tol, grid, checked=True)
    bars = _baseline_errors(samples, eigs, w, zero_tol)
    ok = np.isfinite(errors)
    if not ok.any():
        return np.inf, float(np.mean(bars)) if bars.size else np.inf
    return float(np.mean(errors[ok])), float(np.mean(bars[ok]))
