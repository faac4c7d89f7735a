r"""The accepted input forms of the fit and of `predict`, checked and parsed once, before any tracing.

Eigenvalues `(m,)` with optional weights (0 marks padding); a symmetric matrix `(m, m)` (its random
nested principal submatrices serve validation, and zero rows are set aside); or eigenvalues of several
nested sizes `{size: eigs}` / `[(eigs, size), ...]`.
"""

from collections.abc import Mapping
from typing import Any

import equinox as eqx
import numpy as np

from . import _arguments as arguments
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


def _nested_submatrices(a: np.ndarray, seed: int) -> tuple:
    """Eigenvalues of random nested principal submatrices of sizes m/2 and m/4."""
    m = a.shape[0]
    order = np.random.default_rng(seed).permutation(m)
    out = []
    for size in (m // 2, m // 4):
        if size >= 32:
            idx = np.sort(order[:size])
            out.append(_Spectrum(np.linalg.eigvalsh(a[np.ix_(idx, idx)]), np.ones(size), arguments.eps_of(a), float(np.log(size / m))))
    return tuple(out)


def _parse_inputs(eigs, n0, weights, config: FitConfig, name: str = "eigs") -> _Inputs:
    """Turn the accepted input forms into checked spectra (Python level, before any tracing);
    `name` is the argument's name in the messages."""
    if isinstance(eigs, Mapping) or (
        isinstance(eigs, (list, tuple)) and len(eigs) > 0 and all(isinstance(p, tuple) and len(p) == 2 for p in eigs)
    ):
        pairs = list(eigs.items()) if isinstance(eigs, Mapping) else [(size, e) for e, size in eigs]
        if weights is not None:
            arguments.fail("weights", weights, "weights cannot be combined with eigenvalues from several sizes", "pass each size's eigenvalues unweighted")
        spectra = []
        for size, e in pairs:
            size = float(arguments.real_scalar("a size of the nested spectra", size, lower=1.0, strict=False, fix="key each spectrum by its matrix size, e.g. {500: eigs500, 1000: eigs1000}"))
            e = arguments.eigenvalues(f"the eigenvalues of size {size:g}", e)
            if e.ndim != 1 or e.size == 0:
                arguments.fail(f"the eigenvalues of size {size:g}", e, "must be a non-empty 1-D array", "pass each size's eigenvalues as a 1-D array")
            spectra.append((size, e))
        spectra.sort(key=lambda p: p[0])
        size0 = spectra[-1][0]
        if n0 is not None and float(n0) != size0:
            arguments.fail("n0", n0, f"with eigenvalues of several sizes the curve describes the largest one (n0 = {size0:g})", f"drop n0 or pass n0={size0:g}")
        make = lambda s, e: _Spectrum(e.astype(np.float64), np.ones(e.size), arguments.eps_of(e), float(np.log(s / size0)))  # noqa: E731
        base = make(*spectra[-1])
        return _Inputs(base, size0, tuple(make(s, e) for s, e in spectra[:-1]), ())
    arr = arguments.eigenvalues(name, eigs)
    if arr.ndim == 2:
        arguments.symmetric_matrix(name, arr)
        if weights is not None:
            arguments.fail("weights", weights, "weights apply to eigenvalues, not to a matrix input", "pass the eigenvalues with their weights instead")
        if n0 is not None and float(n0) != arr.shape[0]:
            arguments.fail("n0", n0, f"a matrix input has n0 = its size ({arr.shape[0]})", f"drop n0 or pass n0={arr.shape[0]}")
        a = arr.astype(np.float64)
        base = _Spectrum(np.linalg.eigvalsh(a), np.ones(a.shape[0]), arguments.eps_of(arr))
        return _Inputs(base, float(a.shape[0]), (), _nested_submatrices(a, config.seed))
    if arr.ndim != 1 or arr.size == 0:
        arguments.fail(name, arr, "must be a non-empty 1-D array of eigenvalues (or a square symmetric matrix)", "pass the eigenvalues; for a batch use jax.vmap")
    w = np.ones(arr.size) if weights is None else arguments.weights("weights", weights, arr.size)
    count = int(np.sum(w > 0))
    if n0 is None:
        n0 = float(count)
    else:
        n0 = float(arguments.real_scalar("n0", n0, lower=1.0, strict=False, fix="pass the size of the matrix the eigenvalues come from"))
    return _Inputs(_Spectrum(arr.astype(np.float64), w, arguments.eps_of(arr)), float(n0), (), ())


def _check_spectrum(spec: _Spectrum, deg: tuple[int, int] | None, log: bool | None, name: str = "eigs") -> None:
    """What the fit needs of one spectrum: enough eigenvalues for the degrees, a bulk, and a sign for `log`."""
    eigs, w = np.asarray(spec.eigs), np.asarray(spec.weights)
    active = w > 0
    count = int(active.sum())
    L, K = deg if deg is not None else (1, 2)
    need = 4 * (L + 1) * (K + 1)
    if count < need:
        arguments.fail(
            name,
            eigs,
            f"{count} eigenvalues are too few for degrees (deg_z, deg_m) = ({L}, {K}); the fit needs at least 4 (deg_z+1)(deg_m+1) = {need}",
            "use smaller degrees or more eigenvalues",
        )
    lam = eigs[active]
    tol0 = count * spec.eps * np.max(np.abs(lam))
    nonzero = lam[np.abs(lam) > tol0]
    if nonzero.size < 2 or np.ptp(nonzero) == 0:
        arguments.fail(name, eigs, "the spectrum has fewer than two distinct non-zero eigenvalues: there is no bulk to fit (it is a set of atoms)", "pass the eigenvalues of a matrix with a continuous part")
    if log and np.any(nonzero < 0):
        arguments.fail(
            "log",
            log,
            f"log=True needs a positive spectrum, but some eigenvalues are negative beyond round-off (min {nonzero.min():.3g}, zero tolerance {tol0:.3g})",
            "use log=False (or log=None to choose automatically)",
        )
