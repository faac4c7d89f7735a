r"""The checked pipeline as one pure function.

**The traced pipeline** (`predict_traced`): what [`predict`][] runs when its input is traced (inside
`jax.jit`, `jax.vmap`, `jax.grad`): the curve of the given degrees fitted to the eigenvalues
([`fit`][]), the grid covering its support at size $n$ (`SpectralCurve.grid`), the law solved there
and checked, the outcome in `Spectrum.check`. Shapes are static (the grid size is a Python integer;
$n$ may be traced), so the whole program compiles once per input shape and composes with `vmap` and `grad`.
It is the pipeline of a concrete `predict(x, n, deg=...)` without the step whose shapes depend on
the data: isolated outliers are not set aside. A matrix input `(m, m)` is diagonalised in the program;
its zero rows (all entries within $\varepsilon\max|a|$ of 0, $k$ of them) are set aside as the concrete
pipeline does, with static shapes: $k$ of the eigenvalues nearest 0 (the $k$ zeros that $0_k \oplus B$
adds to the spectrum of $B$) get weight 0, the curve describes $B$ ($n_0 = m - k$) and the law is
[`ZeroRows`][] of fraction $k/m$ (its atom of weight 0 when $k = 0$). A matrix that is not symmetric
is reported per spectrum (`RESULTS.not_symmetric`).

**Automatic degrees of traced eigenvalues** (`deg=None`, [`Free`][] decompression): the model choice
as one program (`_traced_choice.py`): the candidate curves side by side, then the free Lévy–Khintchine
law of the spectrum's sign, checked at $n$ and gated by its refits to free compressions of the
eigenvalues as the concrete choice gates it; a spectrum where none passes reports
`RESULTS.no_model_passed`. The concrete choice also gates the curves; that gate is not made here, so
where it rejects a curve that passes its check the two choices differ. Elsewhere they fit the same
padded problems and agree to rounding, a flat valley of a candidate's loss included (a larger curve
fitted to the exact quantiles of a simpler law: 1e-9 in density, benchmarks/RESULTS.md).
"""

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from . import _arguments as arguments
from ._check import check
from ._curve_solve import CurveSolver
from ._fit import _fit_fixed, fit
from ._fit_config import FitConfig
from ._inputs import _Inputs, _Spectrum
from ._kinds import AbstractDecompression, Free
from ._levy_fit import LevyConfig
from ._results import RESULTS, where
from ._spectrum import Spectrum
from ._traced_choice import automatic
from ._zero_rows import ZeroRows


def predict_traced(
    x,
    n,
    kind: AbstractDecompression,
    deg: tuple[int, int] | None,
    n0,
    log: bool | None,
    weights,
    fit_config: FitConfig,
    levy_config: LevyConfig,
    grid_size: int,
    solver: CurveSolver,
    throw: bool,
) -> Spectrum:
    """[`predict`][] of a traced input (module docstring): the checked prediction, its outcome in
    `Spectrum.check`; `throw` raises the outcome's message at run time instead."""
    arr = jnp.asarray(x)
    if jnp.iscomplexobj(arr):
        raise ValueError("x is complex; pass the real eigenvalues or a real symmetric matrix.")
    eps = arguments.eps_of(np.empty(0, dtype=arr.dtype))
    size = jnp.asarray(n, dtype=jnp.float64)  # n may be traced: each lane of a ragged batch to its own size
    if arr.ndim == 2 and arr.shape[0] == arr.shape[1]:
        if deg is None:
            raise ValueError(
                "predict of a matrix under jit/vmap/grad needs deg=(deg_z, deg_m): outside jit its automatic choice ranks the "
                "candidates by the matrix's own sub-submatrices, which is plain Python. Choose the degrees once outside jit "
                "(predict(a, n, return_report=True) names them) and pass them here, or pass its eigenvalues."
            )
        if weights is not None or n0 is not None:
            raise ValueError("a matrix input takes neither weights nor n0 (n0 is its size); pass the eigenvalues with their weights instead.")
        eigs, w, zeros, position, asymmetric = _matrix_spectrum(arr, eps)
        m = float(arr.shape[0])
        kind = kind.without_rows((m - zeros) / m)
        curve, _ = _fit_fixed(_Inputs(_Spectrum(eigs, w, eps), m - zeros, (), ()), deg, log, fit_config)
        law, grid = ZeroRows(curve, zeros / m, m, position), curve.grid(kind, size * (m - zeros) / m, grid_size, solver)
    elif arr.ndim == 1 and deg is None:
        if not isinstance(kind, Free):
            raise ValueError(
                "predict with Deformed decompression under jit/vmap/grad needs deg=(deg_z, deg_m): its automatic choice ranks "
                "Gram models by validated extrapolation, which is plain Python. Choose outside jit (return_report=True names the model)."
            )
        return _checked(*automatic(arr, size, kind, n0, log, weights, fit_config, levy_config, grid_size, solver), throw)
    elif arr.ndim == 1:
        asymmetric = jnp.asarray(False)
        curve = fit(x, deg, n0, log=log, weights=weights, config=fit_config)
        law, grid = curve, curve.grid(kind, size, grid_size, solver)
    else:
        raise ValueError(
            f"under jit/vmap/grad predict takes the eigenvalues of one matrix, shape (m,), or the matrix, shape (m, m); got shape {arr.shape}. "
            "For a batch use jax.vmap over the leading axis."
        )
    spec = Spectrum.solve(law, kind, grid, size, solver)
    result = where(size >= law.n0 * (1 - 1e-12), check(spec)[0], RESULTS.size_below_n0)
    return _checked(spec, where(asymmetric, RESULTS.not_symmetric, result), throw)


def _checked(spec: Spectrum, result: RESULTS, throw: bool) -> Spectrum:
    if throw:
        spec = eqx.tree_at(lambda s: s.density, spec, result.error_if(spec.density, result != RESULTS.successful))
    return dataclasses.replace(spec, check=result)


def _matrix_spectrum(a, eps: float):
    r"""`(eigs, weights, k, position, asymmetric)` of a traced symmetric matrix: its eigenvalues, weight 0 on
    $k$ of those nearest 0, $k$ the number of zero rows (every entry within $\varepsilon\max|a|$ of 0;
    none counted when all are), the zero rows' atom position for [`ZeroRows`][] (0 in value, with the
    derivative of the mean of those $k$ eigenvalues: a zero row's diagonal entry moves the trace), and
    whether it misses symmetry by more than $100\,m\,\varepsilon\max|a|$ (the concrete check's tolerance)."""
    a = a.astype(jnp.float64)
    m = a.shape[0]
    scale = jnp.max(jnp.abs(a))
    asymmetric = jnp.max(jnp.abs(a - a.T)) > 100 * eps * m * scale
    zeros = jnp.sum(jnp.all(jnp.abs(a) <= eps * scale, axis=1))
    zeros = jnp.where(zeros == m, 0, zeros).astype(jnp.float64)
    eigs = jnp.linalg.eigvalsh(a)
    rank = jnp.argsort(jnp.argsort(jnp.abs(eigs)))  # 0 for the eigenvalue nearest 0
    aside = jnp.sum(jnp.where(rank < zeros, eigs, 0.0)) / jnp.maximum(zeros, 1.0)
    return eigs, (rank >= zeros).astype(jnp.float64), zeros, aside - jax.lax.stop_gradient(aside), asymmetric
