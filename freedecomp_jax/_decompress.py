r"""`decompress`: a law at size $n_0$, evolved to larger sizes and solved on a grid.

$\tau = n/n_0 = e^t$; the law at size $n$ is the law's exact evolution under the decompression
kind (`law.evolve(t, kind)`), and the [`Spectrum`][] holds its density on the grid, its atoms
and a [`RESULTS`][] per point (docs/method.md, "Free decompression").
"""

import equinox as eqx
import jax.numpy as jnp

from . import _arguments as arguments
from ._curve_solve import CurveSolver
from ._custom_types import ArrayLike, Real
from ._kinds import AbstractDecompression, Free
from ._law import AbstractSpectralLaw
from ._results import throw_if_failed
from ._spectrum import Spectrum
from ._x64 import check_x64, is_concrete


def _check_sizes(n, n0):
    sizes = arguments.sizes("n", n, n0)
    if not (is_concrete(n) and is_concrete(n0)):  # otherwise checked above
        sizes = eqx.error_if(sizes, jnp.any(sizes < n0 * (1 - 1e-12)), "decompress: n < n0; decompression only grows the matrix (pass n >= n0).")
    return sizes


def decompress(
    law: AbstractSpectralLaw,
    x: Real[ArrayLike, " P"],
    n: Real[ArrayLike, "*S"],
    kind: AbstractDecompression = Free(),
    *,
    solver: CurveSolver = CurveSolver(),
    throw: bool = True,
) -> Spectrum:
    r"""The spectrum at matrix size `n` of a law observed at size `law.n0`.

    With $\tau = n/n_0 = e^t$ the law at size $n$ is `law.evolve(t, kind)`: for a curve under
    [`Free`][], $P_t(z, m) = P(z + (1 - \tau^{-1})/m,\ \tau m) = 0$; under [`Deformed`][], its
    Gram-matrix analogue. Its physical branch is found on the grid and
    $\rho_n(x) = \operatorname{Im} m_n(x + i0)/\pi$ (docs/method.md, "Free decompression").

    **Arguments:**

    - `law`: any [`AbstractSpectralLaw`][] at size `law.n0` (a fitted [`SpectralCurve`][], a
      [`LevyKhintchine`][] law, a closed-form law of `fdj.distributions`, ...).
    - `x`: real grid `(P,)`, strictly increasing, where the density is wanted.
    - `n`: target size, or a 1-D array of sizes `(S,)` (all solved in one program); each `>= n0`.
    - `kind`: a decompression kind, [`Free`][]`()` (default) or [`Deformed`][]`(ratio)`.
    - `solver`: a [`CurveSolver`][] (how a curve is solved on the grid; other laws ignore it).
    - `throw`: `True` raises (at run time, inside `jit` too) the message of the first failed
      point; `False` returns, and the failures are in `Spectrum.result` (what a batch wants:
      one bad spectrum of a `vmap` never aborts the others).

    **Returns:** a [`Spectrum`][] (density `(P,)` or `(S, P)`, atoms, a [`RESULTS`][] per point).

    A fitted curve that is not exactly decompressible can still give a law that is wrong as a
    whole (mass or moments off) with every point on a branch of the evolved curve: check
    `spec.moment_errors()` and `spec.mass()`, or call [`predict`][], which does it for you.
    """
    check_x64()
    arguments.law("law", law)
    arguments.kind("kind", kind)
    arguments.grid("x", x)
    sizes = _check_sizes(n, law.n0)
    spec = Spectrum.solve(law, kind, jnp.asarray(x, dtype=jnp.float64), sizes, solver)
    if throw:
        density = throw_if_failed(spec.density, spec.result)
        spec = eqx.tree_at(lambda s: s.density, spec, density)
    return spec
