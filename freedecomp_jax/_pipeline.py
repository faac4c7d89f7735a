r"""The checked pipeline as one pure function.

**The traced pipeline** (`predict_traced`): what [`predict`][] runs when its input is traced (inside
`jax.jit`, `jax.vmap`, `jax.grad`): the curve of the given degrees fitted to the eigenvalues
([`fit`][]), the grid covering its support at size $n$ (`SpectralCurve.grid`), the law solved there
and checked, the outcome in `Spectrum.check`. Shapes are static (the grid size is a Python integer;
$n$ may be traced), so the whole program compiles once per input shape and composes with `vmap` and `grad`.
It is the pipeline of a concrete `predict(x, n, deg=...)`, with the same numbers to rounding: under
[`Free`][] decompression the isolated outliers of eigenvalues of unit weight are set aside in $2\sqrt m$
fixed slots (the law is [`Spikes`][] of the bulk's curve, its slots empty when there are none) and the
curve of a spectrum far from 0 is written about its centre ([`Shifted`][], by 0 elsewhere). A matrix input `(m, m)` is diagonalised in the program;
its zero rows (all entries within $\varepsilon\max|a|$ of 0, $k$ of them) are set aside as the concrete
pipeline does, with static shapes: $k$ of the eigenvalues nearest 0 (the $k$ zeros that $0_k \oplus B$
adds to the spectrum of $B$) get weight 0, the curve describes $B$ ($n_0 = m - k$) and the law is
[`ZeroRows`][] of fraction $k/m$ (its atom of weight 0 when $k = 0$). A matrix that is not symmetric
is reported per spectrum (`RESULTS.not_symmetric`).

**Automatic degrees of traced eigenvalues** (`deg=None`, [`Free`][] decompression): the model choice
as one program (`_traced_choice.py`): the candidate curves side by side, then the free Lévy–Khintchine
law of the spectrum's sign, checked at $n$ and gated by its refits to free compressions of the
eigenvalues as the concrete choice gates it; a spectrum where none passes reports
`RESULTS.no_model_passed`. The two choices fit the same padded problems and agree to rounding, a flat
valley of a candidate's loss included (a larger curve fitted to the exact quantiles of a simpler law: 1e-9
in density, benchmarks/RESULTS.md), except in the concrete choice's last tier (curves beside isolated
outliers, after every other candidate failed): there the traced lane reports `no_model_passed`.
"""

import dataclasses
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from . import _arguments as arguments
from ._check import check
from ._curve_solve import CurveSolver
from ._fit import _fit_fixed
from ._fit_config import FitConfig
from ._fit_problem import zero_tolerance
from ._inputs import _Inputs, _Spectrum
from ._kinds import AbstractDecompression, Free
from ._levy_fit import LevyConfig
from ._results import RESULTS, where
from ._shifted import Shifted, centre
from ._spectrum import Spectrum
from ._spikes import Spikes, isolated
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
        bulk, k, outliers = _curve(eigs, w, eps, m - zeros, kind, deg, log, fit_config)
        bulk, total = ZeroRows(bulk, zeros / (m - k), m - k, position), m
    elif arr.ndim == 1 and deg is None:
        if not isinstance(kind, Free):
            raise ValueError(
                "predict with Deformed decompression under jit/vmap/grad needs deg=(deg_z, deg_m): its automatic choice ranks "
                "Gram models by validated extrapolation, which is plain Python. Choose outside jit (return_report=True names the model)."
            )
        return _checked(*automatic(arr, size, kind, n0, log, weights, fit_config, levy_config, grid_size, solver), throw)
    elif arr.ndim == 1 and deg is not None:
        asymmetric = jnp.asarray(False)
        w = jnp.ones(arr.shape) if weights is None else jnp.asarray(weights, dtype=jnp.float64)
        total = jnp.sum(w > 0).astype(jnp.float64) if n0 is None else jnp.asarray(n0, dtype=jnp.float64)
        bulk, k, outliers = _curve(arr.astype(jnp.float64), w, eps, total, kind, deg, log, fit_config)
    else:
        raise ValueError(
            f"under jit/vmap/grad predict takes the eigenvalues of one matrix, shape (m,), or the matrix, shape (m, m); got shape {arr.shape}. "
            "For a batch use jax.vmap over the leading axis."
        )
    # the bulk solved on its grid at n - k and checked there (the outliers would dominate its moments), then the
    # outliers added as a concrete call adds them
    spec = Spectrum.solve(bulk, kind, jnp.asarray(bulk.grid(kind, size - k, grid_size, solver)), size - k, solver)
    result = check(spec)[0]
    if outliers is not None:
        spec = Spikes(bulk, *outliers).around(spec)
    result = where(size >= total * (1 - 1e-12), result, RESULTS.size_below_n0)
    return _checked(spec, where(asymmetric, RESULTS.not_symmetric, result), throw)


def _curve(eigs, w, eps: float, n0, kind: AbstractDecompression, deg: tuple[int, int], log, config: FitConfig):
    r"""`(bulk, k, outliers)`: the curve of degrees `deg` fitted as a concrete call fits it. Under [`Free`][]
    decompression, the $k$ isolated outliers of eigenvalues of unit weight, $n_0$ of them (`_spikes.isolated`),
    are set aside (weight 0), the curve is fitted to the rest at size $n_0 - k$ and written about its centre
    $c$ ([`Shifted`][], $c$ = 0 unless the rest lies far from 0: `_shifted.centre`), and `outliers` are the
    arguments of their [`Spikes`][] beside it: positions in $2\sqrt m$ slots (the outliers sorted first), $n_0$,
    and which slots are present. $c$ and the outliers are decided on: the fit works in the data's own scaled
    variables, so the prediction depends on $c$ only through rounding, and an outlier moves with its eigenvalue."""
    if not isinstance(kind, Free):
        return _fit_fixed(_Inputs(_Spectrum(eigs, w, eps), n0, (), ()), deg, log, config)[0], 0.0, None
    present = w > 0
    plain = jnp.all(jnp.where(present, w == 1, True)) & (n0 == jnp.sum(present))  # one eigenvalue per entry
    aside = plain & isolated(eigs, zero_tolerance(eigs, w, eps), present)
    k = jnp.sum(aside).astype(jnp.float64)
    slots = 2 * math.isqrt(eigs.shape[0])
    first = jnp.arange(slots) < k
    positions = jnp.where(first, jnp.sort(jnp.where(aside, eigs, jnp.inf))[:slots], 0.0)
    w = jnp.where(aside, 0.0, w)
    shift = jax.lax.stop_gradient(centre(eigs, w, eps, log, config))
    curve = _fit_fixed(_Inputs(_Spectrum(eigs - shift, w, eps), n0 - k, (), ()), deg, log, config)[0]
    return Shifted(curve, shift), k, (positions, n0, first)


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
