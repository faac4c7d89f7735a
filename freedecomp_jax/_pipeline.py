r"""The check of a prediction, and the checked pipeline of given degrees as one pure function.

**The check** (`check`, used by [`predict`][] in and outside `jit`): a prediction at size $n$ passes
with no failed grid point, total mass within `CHECK_TOL` of 1 and its moments within `CHECK_TOL`
standard units of the exact ones ([`Spectrum.moment_errors`][]). A law whose flow stays on its
physical branch meets it at the grid's quadrature error (about 1e-4 on 1024 points); a law that
left the branch misses it by 1e-2 and more. Its outcome is one [`RESULTS`][] item per spectrum.

**The traced pipeline** (`predict_traced`): what [`predict`][] runs when its input is traced (inside
`jax.jit`, `jax.vmap`, `jax.grad`): the curve of the given degrees fitted to the eigenvalues
([`fit`][]), the grid covering its support at size $n$ (`SpectralCurve.grid`), the law solved there
and checked, the outcome in `Spectrum.check`. Shapes are static (the grid size is a Python integer;
$n$ may be traced), so the whole program compiles once per input shape and composes with `vmap` and `grad`.
It is the pipeline of a concrete `predict(x, n, deg=...)` without the steps whose shapes depend on
the data: isolated outliers are not set aside and a matrix's zero rows cannot be (pass eigenvalues).
"""

import dataclasses

import equinox as eqx
import jax.numpy as jnp

from ._curve_solve import CurveSolver
from ._custom_types import Array, Float, Int
from ._fit import fit
from ._fit_config import FitConfig
from ._kinds import AbstractDecompression
from ._results import RESULTS, failed, first_failure, where
from ._spectrum import Spectrum

CHECK_TOL = 1e-2  # mass and moment errors of a prediction that left the physical branch (see Spectrum.moment_errors)


@eqx.filter_jit
def check(spec: Spectrum) -> tuple[RESULTS, Float[Array, ""], Float[Array, ""], Int[Array, ""]]:
    """`(result, mass, moment_error, failed_points)` of a single-size prediction: the first failed
    point's result if any, else `mass_off`, `moments_off` or `successful` (module docstring)."""
    bad = failed(spec.result)
    mass = spec.mass()
    error = jnp.max(jnp.abs(spec.moment_errors()))
    whole = where(jnp.abs(mass - 1.0) <= CHECK_TOL, where(error <= CHECK_TOL, RESULTS.successful, RESULTS.moments_off), RESULTS.mass_off)
    return where(jnp.any(bad), first_failure(spec.result), whole), mass, error, jnp.sum(bad)


def predict_traced(
    x,
    n,
    kind: AbstractDecompression,
    deg: tuple[int, int] | None,
    n0,
    log: bool | None,
    weights,
    fit_config: FitConfig,
    grid_size: int,
    solver: CurveSolver,
    throw: bool,
) -> Spectrum:
    """[`predict`][] of a traced input (module docstring): the checked prediction, its outcome in
    `Spectrum.check`; `throw` raises the outcome's message at run time instead."""
    if deg is None:
        raise ValueError(
            "predict under jit/vmap/grad needs deg=(deg_z, deg_m): the automatic model choice is plain Python "
            "(it looks at the data). Choose the degrees once outside jit (predict(x, n, return_report=True) "
            "names them) and pass them here."
        )
    eigs = jnp.asarray(x)
    if eigs.ndim != 1:
        raise ValueError(
            f"under jit/vmap/grad predict takes the eigenvalues of one matrix, shape (m,); got shape {eigs.shape}. "
            "Pass jnp.linalg.eigvalsh(A) (a matrix's zero rows cannot be set aside under jit: exact zeros are then "
            "a free atom, which grows with n), or call predict outside jit."
        )
    curve = fit(eigs, deg, n0, log=log, weights=weights, config=fit_config)
    size = jnp.asarray(n, dtype=jnp.float64)  # n may be traced: each lane of a ragged batch to its own size
    grid = curve.grid(kind, size, grid_size, solver)
    spec = Spectrum.solve(curve, kind, grid, size, solver)
    result = where(size >= curve.n0 * (1 - 1e-12), check(spec)[0], RESULTS.size_below_n0)
    if throw:
        spec = eqx.tree_at(lambda s: s.density, spec, result.error_if(spec.density, result != RESULTS.successful))
    return dataclasses.replace(spec, check=result)
