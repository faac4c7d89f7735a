r"""The accepted input forms of the fit and of `predict`, checked and parsed once, before any tracing.

Eigenvalues `(m,)` with optional weights (0 marks padding); a symmetric matrix `(m, m)` (its random
nested principal submatrices serve validation, and zero rows are set aside); or eigenvalues of several
nested sizes `{size: eigs}` / `[(eigs, size), ...]`.
"""

from collections.abc import Mapping
from typing import Any

import equinox as eqx
import numpy as np

from ._fit_config import FitConfig


class _Spectrum(eqx.Module):
    """One checked spectrum: eigenvalues, weights, the precision they were computed in, log(size/n0)."""

    eigs: Any
    weights: Any
    eps: float = eqx.field(static=True)
    t: Any = 0.0


class _Inputs(eqx.Module):
    base: _Spectrum
    n0: Any
    joint: tuple  # further sizes fitted jointly (multi-size input)
    nested: tuple  # nested submatrices for deg=None validation (matrix input)


def _eps_of(arr) -> float:
    return float(np.finfo(arr.dtype).eps) if np.issubdtype(arr.dtype, np.floating) else float(np.finfo(np.float64).eps)


def _check_eigs(arr, what: str = "eigs") -> np.ndarray:
    arr = np.asarray(arr)
    if np.iscomplexobj(arr):
        raise ValueError(
            f"{what} is complex; eigenvalues of a real symmetric (or Hermitian) matrix are real. "
            "Pass the real eigenvalues (e.g. np.linalg.eigvalsh(A)), or np.real(...) if the imaginary parts are round-off."
        )
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"{what} must be a real numeric array; got dtype {arr.dtype}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} contains NaN or inf; remove them (or recompute the eigenvalues) before fitting.")
    return arr


def _check_weights(weights, m: int) -> np.ndarray:
    w = np.asarray(weights)
    if w.shape != (m,) or np.iscomplexobj(w) or not np.all(np.isfinite(w)) or np.any(w < 0) or not np.any(w > 0):
        raise ValueError(
            f"weights must be a finite non-negative array of shape ({m},), matching eigs, with at least one "
            "positive entry (0 marks padding)."
        )
    return w.astype(np.float64)


def _nested_submatrices(a: np.ndarray, seed: int) -> tuple:
    """Eigenvalues of random nested principal submatrices of sizes m/2 and m/4."""
    m = a.shape[0]
    order = np.random.default_rng(seed).permutation(m)
    out = []
    for size in (m // 2, m // 4):
        if size >= 32:
            idx = np.sort(order[:size])
            out.append(_Spectrum(np.linalg.eigvalsh(a[np.ix_(idx, idx)]), np.ones(size), _eps_of(a), float(np.log(size / m))))
    return tuple(out)


def _parse_inputs(eigs, n0, weights, config: FitConfig) -> _Inputs:
    """Turn the accepted input forms into checked spectra (Python level, before any tracing)."""
    if isinstance(eigs, Mapping) or (
        isinstance(eigs, (list, tuple)) and len(eigs) > 0 and all(isinstance(p, tuple) and len(p) == 2 for p in eigs)
    ):
        pairs = list(eigs.items()) if isinstance(eigs, Mapping) else [(size, e) for e, size in eigs]
        if weights is not None:
            raise ValueError("weights cannot be combined with eigenvalues from several sizes; pass each size's eigenvalues unweighted.")
        spectra = []
        for size, e in pairs:
            if not (np.ndim(size) == 0 and np.isfinite(size) and size >= 1):
                raise ValueError(f"matrix sizes must be finite numbers >= 1; got {size!r}.")
            e = _check_eigs(e, f"the eigenvalues of size {size}")
            if e.ndim != 1 or e.size == 0:
                raise ValueError(f"the eigenvalues of size {size} must be a non-empty 1-D array; got shape {e.shape}.")
            spectra.append((float(size), e))
        spectra.sort(key=lambda p: p[0])
        size0 = spectra[-1][0]
        if n0 is not None and float(n0) != size0:
            raise ValueError(f"with eigenvalues of several sizes the curve describes the largest one (n0 = {size0:g}); drop n0 or pass n0={size0:g}.")
        make = lambda s, e: _Spectrum(e.astype(np.float64), np.ones(e.size), _eps_of(e), float(np.log(s / size0)))  # noqa: E731
        base = make(*spectra[-1])
        return _Inputs(base, size0, tuple(make(s, e) for s, e in spectra[:-1]), ())
    arr = _check_eigs(eigs)
    if arr.ndim == 2:
        if arr.shape[0] != arr.shape[1]:
            raise ValueError(f"a 2-D input is read as a symmetric matrix and must be square; got shape {arr.shape}. For a batch of spectra use jax.vmap over fit.")
        scale = np.max(np.abs(arr)) if arr.size else 0.0
        if np.max(np.abs(arr - arr.T), initial=0.0) > 100 * _eps_of(arr) * arr.shape[0] * scale:
            raise ValueError(
                "the matrix is not symmetric; fit needs a real symmetric matrix (or its eigenvalues). "
                "If the asymmetry is round-off, pass (A + A.T) / 2."
            )
        if weights is not None:
            raise ValueError("weights apply to eigenvalues, not to a matrix input; pass the eigenvalues with their weights instead.")
        if n0 is not None and float(n0) != arr.shape[0]:
            raise ValueError(f"a matrix input has n0 = its size ({arr.shape[0]}); drop n0 or pass n0={arr.shape[0]}.")
        a = arr.astype(np.float64)
        base = _Spectrum(np.linalg.eigvalsh(a), np.ones(a.shape[0]), _eps_of(arr))
        return _Inputs(base, float(a.shape[0]), (), _nested_submatrices(a, config.seed))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"eigs must be a non-empty 1-D array of eigenvalues (or a square symmetric matrix); got shape {arr.shape}. For a batch use jax.vmap.")
    w = np.ones(arr.size) if weights is None else _check_weights(weights, arr.size)
    count = int(np.sum(w > 0))
    if n0 is None:
        n0 = float(count)
    elif not (np.ndim(n0) == 0 and np.isfinite(n0) and float(n0) >= 1):
        raise ValueError(f"n0 (the size of the matrix the eigenvalues come from) must be a finite number >= 1; got {n0!r}.")
    return _Inputs(_Spectrum(arr.astype(np.float64), w, _eps_of(arr)), float(n0), (), ())


def _check_spectrum(spec: _Spectrum, deg: tuple[int, int] | None, log: bool | None) -> None:
    eigs, w = np.asarray(spec.eigs), np.asarray(spec.weights)
    active = w > 0
    count = int(active.sum())
    L, K = deg if deg is not None else (1, 2)
    need = 4 * (L + 1) * (K + 1)
    if count < need:
        raise ValueError(
            f"{count} eigenvalues are too few for degrees (deg_z, deg_m) = ({L}, {K}): the fit needs at least "
            f"4 (deg_z+1)(deg_m+1) = {need}. Use smaller degrees or more eigenvalues."
        )
    lam = eigs[active]
    tol0 = count * spec.eps * np.max(np.abs(lam))
    nonzero = lam[np.abs(lam) > tol0]
    if nonzero.size < 2 or np.ptp(nonzero) == 0:
        raise ValueError("the spectrum has fewer than two distinct non-zero eigenvalues: there is no bulk to fit (it is a set of atoms).")
    if log and np.any(nonzero < 0):
        raise ValueError(
            "log=True needs a positive spectrum, but some eigenvalues are negative beyond round-off "
            f"(min {nonzero.min():.3g}, zero tolerance {tol0:.3g}). Use log=False (or log=None to choose automatically)."
        )


def _check_deg(deg) -> tuple[int, int]:
    if not (isinstance(deg, (tuple, list)) and len(deg) == 2 and all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in deg)):
        raise ValueError(f"deg must be a pair of integers (deg_z, deg_m) or None (automatic); got {deg!r}.")
    L, K = int(deg[0]), int(deg[1])
    if L < 1 or K < 2:
        raise ValueError(
            f"deg = ({L}, {K}): need deg_z >= 1 and deg_m >= 2 (with deg_m = 1 the transform is rational: atoms only, no density)."
        )
    return L, K
