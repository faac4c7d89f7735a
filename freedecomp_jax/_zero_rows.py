r"""`ZeroRows`: the law of $0_k \oplus B$, a matrix with $k$ of its $m$ rows and columns zero.

Dead units of a ReLU network, unused parameters and constant features make zero rows. A random
principal submatrix keeps them in the same proportion $f = k/m$, so their zeros stay a fixed
atom $f\delta_0$ at every size instead of growing like a free atom, while $B$ (the rest) is
decompressed by its own law: $\mu = f\delta_0 + (1 - f)\mu_B$ and
$m(z) = (1 - f)m_B(z) - f/z$, at the same ratio $\tau = n/m = n_B/m_B$ for both parts.
"""

import dataclasses

import jax.numpy as jnp
import numpy as np

from ._custom_types import Array, ArrayLike, Complex, Float, Real
from ._edge_flow import AbstractEdgeSystem
from ._kinds import AbstractDecompression, Free
from ._law import AbstractSpectralLaw, central_from_raw, raw_from_central
from ._results import RESULTS, where


class ZeroRows(AbstractSpectralLaw):
    r"""$f\delta_0 + (1 - f)\mu_B$: the law `law` of the non-zero block $B$ and the zero rows' fraction $f$.

    `n0` is the size of the whole matrix; `law.n0` = $(1 - f)$`n0` is the size of $B$. `position`: where
    the zero rows' atom sits, 0 in value; under `jit` the matrix pipeline passes the mean of the zero rows'
    eigenvalues minus itself stopped (`_pipeline.py`), whose value is 0 and whose derivative is that of
    the block's diagonal (a zero row's diagonal entry moves its eigenvalue, and the trace, one for one).
    """

    law: AbstractSpectralLaw
    fraction: Float[Array, ""]
    n0: Float[Array, ""]
    position: Float[Array, ""]

    def __init__(self, law: AbstractSpectralLaw, fraction: Real[ArrayLike, ""], n0: Real[ArrayLike, ""], position: Real[ArrayLike, ""] = 0.0):
        self.law = law
        self.fraction = jnp.asarray(fraction, dtype=jnp.float64)
        self.n0 = jnp.asarray(n0, dtype=jnp.float64)
        self.position = jnp.asarray(position, dtype=jnp.float64)

    @property
    def log_grid(self) -> bool:
        return self.law.log_grid

    def stieltjes(self, z: Complex[ArrayLike, "*shape"]) -> Complex[Array, "*shape"]:
        z = jnp.asarray(z, dtype=jnp.complex128)
        return (1 - self.fraction) * self.law.stieltjes(z) - self.fraction / (z - self.position)

    def density(self, x: Real[ArrayLike, "*shape"]) -> Float[Array, "*shape"]:
        return (1 - self.fraction) * self.law.density(x)

    def atoms(self):
        pos, w = self.law.atoms()
        return jnp.concatenate([self.position[None], pos]), jnp.concatenate([self.fraction[None], (1 - self.fraction) * w])

    def moments(self, k: int) -> Float[Array, " k_plus_1"]:
        return (1 - self.fraction) * self.law.moments(k) + self.fraction * self._powers(k)

    def _powers(self, k: int):
        r"""$1, p, \dots, p^k$ of the atom's position $p$ (a product, whose derivative at $p = 0$ is finite)."""
        return jnp.concatenate([jnp.ones(1), jnp.cumprod(jnp.full(k, self.position))])

    def support(self) -> np.ndarray:
        return self.law.support()

    def evolve(self, t: Real[ArrayLike, ""], kind: AbstractDecompression = Free()) -> "ZeroRows":
        return ZeroRows(self.law.evolve(t, kind), self.fraction, self.n0 * jnp.exp(t), self.position)

    def solve_grid(self, kind: AbstractDecompression, x, ts, solver=None):
        return self._mixed(x, *self.law.solve_grid(kind, x, ts, solver))

    def _mixed(self, x, m, density, pos, w, result):
        """The solution for $B$ on the grid `x` made the mixture's: $m = (1 - f)m_B - f/x$, the atom $f$ at 0."""
        f = self.fraction
        at_zero = (x == 0) & (f > 0)  # no zero rows (a traced matrix input may have none): B's law itself
        m = jnp.where(at_zero, jnp.nan + 0j, (1 - f) * m - f / jnp.where(at_zero, 1.0, x - self.position))
        result = where(at_zero, RESULTS.on_atom, result)
        pos = jnp.concatenate([jnp.broadcast_to(self.position, pos.shape[:-1] + (1,)), pos], axis=-1)
        w = jnp.concatenate([jnp.full(w.shape[:-1] + (1,), f), (1 - f) * w], axis=-1)
        return m, jnp.where(at_zero, 0.0, (1 - f) * density), pos, w, result

    def exact_moments(self, kind: AbstractDecompression, t, order: int):
        raw = (1 - self.fraction) * raw_from_central(*self.law.exact_moments(kind, t, order)) + self.fraction * self._powers(order)
        return raw[1], central_from_raw(raw)

    def edge_system(self, kind: AbstractDecompression) -> "_ZeroRowsEdges | None":
        inner = self.law.edge_system(kind)
        return None if inner is None else _ZeroRowsEdges(inner, self.fraction)

    def refine_cusps(self, kind: AbstractDecompression, x_seed, m_seed, tau_seed):
        f = self.fraction
        return self.law.refine_cusps(kind, x_seed, (m_seed + f / x_seed) / (1 - f), tau_seed)

    def grid(self, kind: AbstractDecompression, n: Real[ArrayLike, ""], size: int, solver=None) -> Float[ArrayLike, " size"]:
        return self.law.grid(kind, jnp.asarray(n, dtype=jnp.float64) * self.law.n0 / self.n0, size, solver)

    def grid_and_solved(self, kind: AbstractDecompression, n: Real[ArrayLike, ""], size: int, solver=None):
        """$B$'s points still to solve, and its solved part made the mixture's (same grid, same ratio $\tau$)."""
        points, inner = self.law.grid_and_solved(kind, jnp.asarray(n, dtype=jnp.float64) * self.law.n0 / self.n0, size, solver)
        if inner is None:
            return points, None
        pos_b, w_b = inner.atoms
        m, density, pos, w, result = self._mixed(inner.x, inner.m, inner.density, pos_b, w_b, inner.result)
        return points, dataclasses.replace(inner, m=m, density=density, atoms=(pos, w), result=result, law=self, size=self.n0 * jnp.exp(inner.t))


class _ZeroRowsEdges(AbstractEdgeSystem):
    """The edges of $B$: seeds convert the mixture's $m$ to $m_B$."""

    inner: AbstractEdgeSystem
    fraction: Float[Array, ""]

    def seed(self, t, x_seed, m_seed):
        f = self.fraction
        return self.inner.seed(t, x_seed, (m_seed + f / x_seed) / (1 - f))

    def residual(self, u, t, s):
        return self.inner.residual(u, t, s)

    def x(self, u, t, s):
        return self.inner.x(u, t, s)


def zero_rows(eigs) -> np.ndarray | None:
    r"""Rows (and columns) of a matrix input that vanish to rounding, $\max_j |a_{ij}| \le \varepsilon \max|a|$.

    `None` unless `eigs` is a concrete square 2-D floating array with some, but not all, rows zero.
    """
    arr = np.asarray(eigs)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.size == 0 or not np.issubdtype(arr.dtype, np.floating):
        return None
    scale = np.max(np.abs(arr))
    if not np.isfinite(scale):
        return None  # the input checks report the non-finite entries
    zero = np.all(np.abs(arr) <= np.finfo(arr.dtype).eps * scale, axis=1)
    return zero if zero.any() and not zero.all() else None
