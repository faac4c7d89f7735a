r"""`AbstractSpectralLaw`: what every model of a spectrum provides, so that decompression, the
[`Spectrum`][], its edges and quantiles and `predict`'s check are written once.

A law describes the eigenvalue distribution of an $n_0 \times n_0$ matrix through its
Stieltjes transform $m(z) = \int d\mu(\lambda)/(\lambda - z)$ (docs/method.md, "Stieltjes
transform and physical branch"). A new family is one new file: subclass this, implement the
abstract methods (the law at $n_0$ and its exact evolution to larger sizes under a
decompression kind), and `decompress`, `Spectrum`, `support`, quantiles and the moment check
work for it. The hooks below the abstract methods have generic defaults that a family may
replace by faster or sharper versions (curves solve every size in one batched program and
refine edges by Newton).
"""

import abc
import math
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._custom_types import Array, ArrayLike, Complex, Float, Real
from ._edge_flow import AbstractEdgeSystem
from ._kinds import AbstractDecompression, Free
from ._results import RESULTS, full, where


class AbstractSpectralLaw(eqx.Module):
    """A spectral law at matrix size `n0`, and its evolution to larger sizes."""

    n0: eqx.AbstractVar[Float[Array, ""]]

    # ------------------------------------------------------------------ the law at n0
    @abc.abstractmethod
    def stieltjes(self, z: Complex[ArrayLike, "*shape"]) -> Complex[Array, "*shape"]:
        r"""Physical branch $m(z)$, $\operatorname{Im}m > 0$ for $\operatorname{Im}z > 0$ (real $z$: the limit $x + i0$)."""

    @abc.abstractmethod
    def density(self, x: Real[ArrayLike, "*shape"]) -> Float[Array, "*shape"]:
        r"""Absolutely continuous density $\rho(x) = \operatorname{Im}m(x + i0)/\pi$ (atoms excluded)."""

    @abc.abstractmethod
    def atoms(self) -> tuple[Float[Array, " A"], Float[Array, " A"]]:
        """`(positions, weights)`; weight 0 marks an empty slot."""

    @abc.abstractmethod
    def moments(self, k: int) -> Float[Array, " k_plus_1"]:
        r"""Moments $\mu_0..\mu_k$, $\mu_j = \int x^jd\mu$ (atoms included)."""

    @abc.abstractmethod
    def support(self) -> np.ndarray:
        """Bulks of the density as an `(n_bulks, 2)` NumPy array of edges (plain Python)."""

    @abc.abstractmethod
    def evolve(self, t: Real[ArrayLike, ""], kind: AbstractDecompression = Free()) -> "AbstractSpectralLaw":
        r"""The exact law at size $n_0e^t$ under the decompression `kind` (`ValueError` if the family has none)."""

    # ------------------------------------------------------------------ hooks with generic defaults
    @property
    def log_grid(self) -> bool:
        """Whether bulks span decades, so that they are judged per log unit ($|x|\rho$) on log grids."""
        return False

    def grid(self, kind: AbstractDecompression, n: Real[ArrayLike, ""], size: int, solver=None) -> Float[ArrayLike, " size"]:
        """A grid of `size` points covering the support at size `n` (default: the evolved law's
        `support()`, padded by 5 %, and its atoms). Plain Python."""
        del solver
        law = self.evolve(jnp.log(n / self.n0), kind)
        sup = np.asarray(law.support())
        pos, w = (np.asarray(a) for a in law.atoms())
        ends = np.concatenate([sup.reshape(-1), pos[w > 0]])
        lo, hi = float(ends.min()), float(ends.max())
        pad = 0.05 * (hi - lo) + 1e-12 * max(abs(lo), abs(hi), 1.0)
        return np.linspace(lo - pad, hi + pad, size)

    def grid_and_solved(self, kind: AbstractDecompression, n: Real[ArrayLike, ""], size: int, solver=None) -> tuple[Float[ArrayLike, " size"], Any]:
        """`(points, solved)`: the points of `grid` still to solve, and a `Spectrum` at size `n` already
        solved on the rest, for a law whose grid comes out of a solve on part of it (else None).
        Default: `(grid(...), None)`. Plain Python."""
        return self.grid(kind, n, size, solver), None

    def solve_grid(self, kind: AbstractDecompression, x: Float[Array, " P"], ts: Float[Array, " S"], solver):
        r"""`(m, density, positions, weights, result)` on the grid `x` at every $t$ in `ts`, shapes
        `(S, P)` and `(S, A)`. Default: the evolved law's own `stieltjes`, `density` and `atoms`;
        `solver` (a curve's `CurveSolver`) is not used."""
        del solver

        def one(t):
            law = self.evolve(t, kind)
            m = law.stieltjes(x.astype(jnp.complex128))
            pos, w = law.atoms()
            on_atom = jnp.any((w[None, :] > 0) & (x[:, None] == pos[None, :]), axis=1)
            ok = jnp.isfinite(m) & (jnp.imag(m) >= 0)
            result = where(ok, full(x.shape, RESULTS.successful), full(x.shape, RESULTS.newton_failed))
            result = where(on_atom, RESULTS.on_atom, result)
            density = jnp.where(on_atom, 0.0, jnp.maximum(law.density(x), 0.0))
            return m, density, jnp.where(w > 0, pos, jnp.nan), w, result

        return jax.vmap(one)(ts)

    def exact_moments(self, kind: AbstractDecompression, t: Real[ArrayLike, ""], order: int):
        r"""Exact mean and central moments $\mu_0..\mu_{order}$ (about that mean) at size $n_0e^t$."""
        raw = self.evolve(t, kind).moments(order)
        raw = raw / raw[0]
        return raw[1], central_from_raw(raw)

    def edge_system(self, kind: AbstractDecompression) -> AbstractEdgeSystem | None:
        """The law's exact edge equations under `kind` (Newton refines edges and diffrax flows them
        in size, `_edge_flow.py`); default `None`: edges are the grid's."""
        del kind
        return None

    def refine_cusps(self, kind: AbstractDecompression, x_seed, m_seed, tau_seed):
        """Cusps `(x*, tau*, ok)` from grid seeds; default: the seeds as they are."""
        del kind, m_seed
        return x_seed, tau_seed, jnp.ones(jnp.shape(x_seed), dtype=bool)


def raw_from_central(mean: Float[Array, ""], central: Float[Array, " K"]) -> Float[Array, " K"]:
    r"""Raw moments from the mean and the central moments, $\mu_i = \sum_j\binom ij\kappa_j\,\bar x^{i-j}$."""
    K = central.shape[0]
    k = np.arange(K)
    binom = np.array([[math.comb(i, j) for j in range(K)] for i in range(K)], dtype=float)
    return jnp.stack([jnp.sum(binom[i, : i + 1] * central[: i + 1] * mean ** (i - k[: i + 1])) for i in range(K)])


def central_from_raw(raw: Float[Array, " K"]) -> Float[Array, " K"]:
    r"""Central moments from unit-mass raw moments, $\sum_j\binom ij\mu_j(-\mu_1)^{i-j}$."""
    K = raw.shape[0]
    mean = raw[1]
    k = np.arange(K)
    binom = np.array([[math.comb(i, j) for j in range(K)] for i in range(K)], dtype=float)
    return jnp.stack([jnp.sum(binom[i, : i + 1] * raw[: i + 1] * (-mean) ** (i - k[: i + 1])) for i in range(K)])
