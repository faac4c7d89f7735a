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
  Haar-orthogonal. They test the fit and the decompression, not whether the matrix is free from
  its coordinates (a matrix input tests that too).

The error of a prediction $\mu$ of the observed eigenvalues $\lambda$ is
$$E = D_{\rm KS}(\mu, \lambda) + W_1(\mu, \lambda)/\sigma_\lambda,$$
the Kolmogorov–Smirnov distance (where the mass is, the bulk near 0 included) plus the Wasserstein
distance in units of the observed standard deviation (the scale: outliers and edges), after setting
$|\lambda| \le$ the zero tolerance to 0 in both. Its limit: it sees only what happens between $m/4$
and $m$; an atom born between $m$ and $n$ must come from the model (the rank), not from validation.
"""

import dataclasses
from collections.abc import Callable

import numpy as np

from ._goodness import fit_distance
from ._inputs import _Inputs, _Spectrum
from ._kinds import AbstractDecompression
from ._law import AbstractSpectralLaw
from ._metrics import (
    as_is_baseline,
    ks_distance,
    nystrom_baseline,
    rescaled_baseline,
    wasserstein1,
)
from ._pipeline import check
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


def draws(eigs: np.ndarray, matrix: np.ndarray | None, seed: int, zero_tol: float = 0.0) -> tuple[Draw, ...]:
    r"""The validation draws of the observed spectrum `eigs` (module docstring): sub-submatrices of `matrix`, else
    free compressions. Of sizes $q = r + f(m - r)$, $f$ in `FRACTIONS`, where the observed spectrum has $m - r$
    zeros (|λ| <= `zero_tol`; $r = 0$ where it has none): a draw of $q \le r$ has no zero, and a model fitted
    to it would have to birth the observed atom, which a model fitted at $m$ carries from its data."""
    m = eigs.shape[0]
    zeros = int(np.sum(np.abs(eigs) <= zero_tol))
    rank = m - zeros if zeros else 0
    rng = np.random.default_rng(seed)
    out = []
    for fraction in FRACTIONS:
        q = int(rank + fraction * (m - rank))
        if q < MIN_SIZE:
            continue
        for _ in range(DRAWS):
            if matrix is not None:
                idx = np.sort(rng.permutation(m)[:q])
                sub = matrix[np.ix_(idx, idx)]
                out.append(Draw(q, np.linalg.eigvalsh(sub), sub))
            else:
                g, r = np.linalg.qr(rng.standard_normal((m, m)))
                rows = (g * np.sign(np.diag(r)))[:q]
                out.append(Draw(q, np.linalg.eigvalsh((rows * eigs) @ rows.T)))
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


def prediction_error(spec: Spectrum, eigs: np.ndarray, zero_tol: float) -> float:
    r"""$D_{\rm KS} + W_1/\sigma$ between the law of `spec` (one size) and the eigenvalues `eigs`, zeros snapped."""
    lam = np.sort(np.where(np.abs(eigs) <= zero_tol, 0.0, np.asarray(eigs, dtype=float)))
    ks = fit_distance(spec, lam, np.ones(lam.size), zero_tol)
    pred = np.asarray(spec.quantile((np.arange(lam.size) + 0.5) / lam.size), dtype=float)
    pred = np.where(np.abs(pred) <= zero_tol, 0.0, pred)
    std = float(np.std(lam))
    return ks + (wasserstein1(pred, lam) / std if std > 0 else 0.0)


def _sample_error(pred: np.ndarray, lam: np.ndarray, zero_tol: float) -> float:
    """`prediction_error` of a prediction given as eigenvalues, zeros snapped in both."""
    snap = lambda e: np.sort(np.where(np.abs(e) <= zero_tol, 0.0, np.asarray(e, dtype=float)))  # noqa: E731
    pred, lam = snap(pred), snap(lam)
    std = float(np.std(lam))
    return ks_distance(pred, lam) + (wasserstein1(pred, lam) / std if std > 0 else 0.0)


def _baseline_errors(samples: tuple[Draw, ...], eigs: np.ndarray, zero_tol: float) -> np.ndarray:
    """Per draw, the smallest `prediction_error` of the three baselines built from it (`baseline_error`)."""
    m = int(eigs.shape[0])
    return np.array(
        [
            min(_sample_error(b, eigs, zero_tol) for b in (as_is_baseline(d.eigs, m), rescaled_baseline(d.eigs, d.size, m), nystrom_baseline(d.eigs, d.size, m)))
            for d in samples
        ]
    )


def baseline_error(samples: tuple[Draw, ...], eigs: np.ndarray, zero_tol: float) -> float:
    r"""The validated error of the baselines: over the draws, the mean of the smallest
    `prediction_error` of the three predictions of the $m$ observed eigenvalues that need no model
    (the draw's spectrum as is; rescaled about its mean by $\sqrt{m/q}$; Nyström, $m/q$ times it
    padded with $m - q$ zeros). A model whose validated error is not below it has not decompressed."""
    errors = _baseline_errors(samples, eigs, zero_tol)
    return float(np.mean(errors)) if errors.size else np.inf


def _errors(build: Build, samples: tuple[Draw, ...], eigs: np.ndarray, zero_tol: float, grid: int, checked: bool = False) -> np.ndarray:
    """Per draw, the prediction error of the model `build` fits to it, decompressed to `eigs.size`; inf
    where a fit or a solve fails (with `checked`, also where the prediction fails its check, `_pipeline.check`)."""
    m = float(eigs.shape[0])
    errors = []
    for d in samples:
        try:
            law, kind = build(d)
            spec = Spectrum.on_grid(law, kind, m, grid)
            err = prediction_error(spec, eigs, zero_tol) if not checked or check(spec)[0] == RESULTS.successful else np.inf
        except (ValueError, FloatingPointError, np.linalg.LinAlgError):
            err = np.inf
        errors.append(err if np.isfinite(err) else np.inf)
    return np.array(errors)


def validated_error(build: Build, samples: tuple[Draw, ...], eigs: np.ndarray, zero_tol: float, grid: int = GRID) -> float:
    """Mean prediction error over the draws of the model `build` fits to each draw (with the kind
    that decompresses it), decompressed to `eigs.size` on `grid` points; inf if a fit or a solve fails."""
    errors = _errors(build, samples, eigs, zero_tol, grid)
    return float(np.mean(errors)) if errors.size else np.inf


def decompresses(build: Build, samples: tuple[Draw, ...], eigs: np.ndarray, zero_tol: float, grid: int = GRID) -> tuple[float, float]:
    """`(error, bar)`: the model's mean prediction error over the draws on which it could be fitted,
    solved and checked (`_pipeline.check`, as at size $n$), and the baselines' (`baseline_error`) over
    the same draws; the model decompresses if `error < bar`. A draw too small for the model (its
    refit fails its check, as the NTK's (2, 2) curve does at a quarter of the size) does not count
    against it; no such draw at all gives `(inf, bar)`."""
    errors = _errors(build, samples, eigs, zero_tol, grid, checked=True)
    bars = _baseline_errors(samples, eigs, zero_tol)
    ok = np.isfinite(errors)
    if not ok.any():
        return np.inf, float(np.mean(bars)) if bars.size else np.inf
    return float(np.mean(errors[ok])), float(np.mean(bars[ok]))
