"""The Wigner semicircle law."""

from typing import ClassVar

import jax.numpy as jnp
import numpy as np
from jaxtyping import PRNGKeyArray

from .._curve import SpectralCurve
from .._custom_types import Array, Complex, Float, RealScalarLike
from .._x64 import check_x64
from ._base import (
    AbstractDistribution,
    scalar_param,
    size_param,
    symmetric_gaussian,
    tau_param,
)


class Wigner(AbstractDistribution):
    r"""Wigner semicircle law of radius $r$ (variance $r^2/4$).

    Curve: $\tfrac{r^2}{4} m^2 + z m + 1 = 0$, degrees (1, 2). Density
    $\rho(x) = 2\sqrt{r^2 - x^2}/(\pi r^2)$ on $[-r, r]$, Stieltjes
    $m(z) = 2/(-z - \sqrt{z - r}\sqrt{z + r})$. Free decompression: $r \to r\sqrt\tau$.

    **Arguments:**

    - `r`: radius $r > 0$ of the support.
    - `n0`: the matrix size the law describes (keyword, default 1).
    """

    r: Float[Array, ""]
    n0: Float[Array, ""]
    free_closed_form: ClassVar[bool] = True

    def __init__(self, r: RealScalarLike, *, n0: RealScalarLike = 1.0):
        check_x64()
        self.n0 = size_param(n0)
        self.r = scalar_param("r", r, hint="r is the radius of the semicircle (twice the standard deviation).")

    def curve(self, n0: RealScalarLike | None = None) -> SpectralCurve:
        zero, one = jnp.zeros(()), jnp.ones(())
        coeffs = jnp.stack([jnp.stack([one, zero, self.r**2 / 4]), jnp.stack([zero, one, zero])])
        return SpectralCurve(coeffs, self.n0 if n0 is None else n0)

    def _density(self, x: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
        inside = jnp.abs(x) < self.r
        xs = jnp.where(inside, x, 0.0)
        return jnp.where(inside, 2 * jnp.sqrt(self.r**2 - xs**2) / (jnp.pi * self.r**2), 0.0)

    def _stieltjes_upper(self, z: Complex[Array, "*shape"]) -> Complex[Array, "*shape"]:
        s = jnp.sqrt(z - self.r) * jnp.sqrt(z + self.r)
        return 2.0 / (-z - s)

    def support(self) -> Float[np.ndarray, "k 2"]:
        r = float(self.r)
        return np.array([[-r, r]])

    def atoms(self) -> tuple[Float[Array, " A"], Float[Array, " A"]]:
        return jnp.zeros(0), jnp.zeros(0)

    def sample_matrix(self, key: PRNGKeyArray, n: int) -> Float[Array, "n n"]:
        r"""Symmetric Gaussian matrix $(G + G^\top)/\sqrt2 \cdot r/(2\sqrt n)$."""
        return symmetric_gaussian(key, n) * (self.r / (2 * jnp.sqrt(float(n))))

    def decompress(self, tau: RealScalarLike) -> "Wigner":
        r"""The law at size $\tau n$: $r \to r\sqrt\tau$ (the variance grows like $\tau$)."""
        tau = tau_param(tau)
        return Wigner(self.r * jnp.sqrt(tau), n0=tau * self.n0)
