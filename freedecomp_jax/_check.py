r"""The check of a prediction.

`check` (used by [`predict`][] in and outside `jit`): a prediction at size $n$ passes
with no failed grid point, total mass within `CHECK_TOL` of 1 and its moments within `CHECK_TOL`
standard units of the exact ones ([`Spectrum.moment_errors`][]). A law whose flow stays on its
physical branch meets it at the grid's quadrature error (about 1e-4 on 1024 points); a law that
left the branch misses it by 1e-2 and more. Its outcome is one [`RESULTS`][] item per spectrum.
"""

import equinox as eqx
import jax.numpy as jnp

from ._custom_types import Array, Float, Int
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
