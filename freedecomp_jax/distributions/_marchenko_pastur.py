"""The Marchenko-Pastur (free Poisson) law."""

from typing import ClassVar

import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import PRNGKeyArray

from .._curve import SpectralCurve
from .._custom_types import Array, Complex, Float, RealScalarLike
from .._x64 import check_x64
from ._base import (
    AbstractDistribution,
    concrete_float,
    scalar_param,
    size_param,
    symmetrize,
    tau_param,
)


class MarchenkoPastur(AbstractDistribution):
    r"""Marchenko-Pastur law of $\sigma^2 XX^\top/q$, $X \in \mathbb R^{n \times q}$ Gaussian, $\lambda = n/q$.

    Curve: $\lambda\sigma^2 z m^2 + (z - \sigma^2(1 - \lambda)) m + 1 = 0$, degrees (1, 2).
    Support $[\sigma^2(1 - \sqrt\lambda)^2, \sigma^2(1 + \sqrt\lambda)^2]$ with density
    $\rho(x) = \sqrt{(b - x)(x - a)}/(2\pi\lambda\sigma^2 x)$, plus an atom of mass
    $1 - 1/\lambda$ at 0 when $\lambda > 1$. Free decompression: $\lambda \to \tau\lambda$.

    **Arguments:**

    - `lam`: aspect ratio $\lambda = n/q > 0$.
    - `sigma`: scale $\sigma > 0$ (entry standard deviation).
    - `n0`: the matrix size the law describes (keyword, default 1).
    """

    lam: Float[Array, ""]
    sigma: Float[Array, ""]
    n0: Float[Array, ""]
    free_closed_form: ClassVar[bool] = True

    def __init__(self, lam: RealScalarLike, sigma: RealScalarLike = 1.0, *, n0: RealScalarLike = 1.0):
        check_x64()
        self.n0 = size_param(n0)
        self.lam = scalar_param("lam", lam, hint="lam = n/q is the aspect ratio of X.")
        self.sigma = scalar_param("sigma", sigma, hint="sigma is the entry standard deviation.")

    def _edges(self):
        s2 = self.sigma**2
        r = jnp.sqrt(self.lam)
        return s2 * (1 - r) ** 2, s2 * (1 + r) ** 2

    def curve(self, n0: RealScalarLike | None = None) -> SpectralCurve:
        s2 = self.sigma**2
        zero, one = jnp.zeros(()), jnp.ones(())
        coeffs = jnp.stack(
            [jnp.stack([one, -s2 * (1 - self.lam), zero]), jnp.stack([zero, one, self.lam * s2])]
        )
        return SpectralCurve(coeffs, self.n0 if n0 is None else n0)

    def _density(self, x: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
        a, b = self._edges()
        inside = (x > a) & (x < b)
        xs = jnp.where(inside, x, 0.5 * (a + b))
        rho = jnp.sqrt((b - xs) * (xs - a)) / (2 * jnp.pi * self.lam * self.sigma**2 * xs)
        return jnp.where(inside, rho, 0.0)

    def _stieltjes_upper(self, z: Complex[Array, "*shape"]) -> Complex[Array, "*shape"]:
        # m = 2C / (-B - s), s = sqrt(z - a) sqrt(z - b) ~ z: the root with m ~ -1/z, free of cancellation.
        a, b = self._edges()
        s = jnp.sqrt(z - a) * jnp.sqrt(z - b)
        m = 2.0 / (-(z - self.sigma**2 * (1 - self.lam)) - s)
        return m

    def support(self) -> Float[np.ndarray, "k 2"]:
        a, b = self._edges()
        return np.array([[float(a), float(b)]])

    def atoms(self) -> tuple[Float[Array, " A"], Float[Array, " A"]]:
        return jnp.zeros(1), jnp.maximum(1.0 - 1.0 / self.lam, 0.0)[None]

    def sample_matrix(self, key: PRNGKeyArray, n: int) -> Float[Array, "n n"]:
        r"""$\sigma^2 XX^\top/q$ with $X \in \mathbb R^{n\times q}$ standard Gaussian, $q = \mathrm{round}(n/\lambda)$."""
        q = max(1, round(n / concrete_float("lam", self.lam)))
        x = jr.normal(key, (n, q), dtype=jnp.float64)
        return symmetrize(self.sigma**2 * (x @ x.T) / q)

    def decompress(self, tau: RealScalarLike) -> "MarchenkoPastur":
        r"""The law at size $\tau n$: $\lambda \to \tau\lambda$ ($q$ fixed, $n$ grows)."""
        tau = tau_param(tau)
        return MarchenkoPastur(tau * self.lam, self.sigma, n0=tau * self.n0)
