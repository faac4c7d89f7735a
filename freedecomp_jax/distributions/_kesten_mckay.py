"""The Kesten-McKay law (spectrum of random d-regular graphs)."""

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
    haar_orthogonal,
    scalar_param,
    size_param,
    symmetrize,
)


class KestenMcKay(AbstractDistribution):
    r"""Kesten-McKay law of degree $d \ge 2$: the spectral law of the $d$-regular tree.

    Curve: $(d^2 - z^2) m^2 + (d - 2) z m + (d - 1) = 0$, degrees (2, 2). Density
    $\rho(x) = d\sqrt{4(d-1) - x^2}/(2\pi(d^2 - x^2))$ on $|x| \le 2\sqrt{d-1}$, Stieltjes
    $m(z) = 2(d-1)/(-(d-2)z - d\sqrt{z - e}\sqrt{z + e})$, $e = 2\sqrt{d-1}$. No closed-form
    free decompression.

    **Arguments:**

    - `d`: degree $d \ge 2$ (real for the law; an integer for `sample_matrix`).
    """

    d: Float[Array, ""]
    n0: Float[Array, ""]

    def __init__(self, d: RealScalarLike, *, n0: RealScalarLike = 1.0):
        check_x64()
        self.n0 = size_param(n0)
        self.d = scalar_param("d", d, lower=2.0, strict=False, hint="d is the degree of the regular graph (d >= 2).")

    def _edge(self):
        return 2 * jnp.sqrt(self.d - 1)

    def curve(self, n0: RealScalarLike | None = None) -> SpectralCurve:
        d = self.d
        zero = jnp.zeros(())
        coeffs = jnp.stack(
            [
                jnp.stack([d - 1, zero, d**2]),
                jnp.stack([zero, d - 2, zero]),
                jnp.stack([zero, zero, -jnp.ones(())]),
            ]
        )
        return SpectralCurve(coeffs, self.n0 if n0 is None else n0)

    def _density(self, x: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
        e = self._edge()
        inside = jnp.abs(x) < e
        xs = jnp.where(inside, x, 0.0)
        rho = self.d * jnp.sqrt(e**2 - xs**2) / (2 * jnp.pi * (self.d**2 - xs**2))
        return jnp.where(inside, rho, 0.0)

    def _stieltjes_upper(self, z: Complex[Array, "*shape"]) -> Complex[Array, "*shape"]:
        e = self._edge()
        s = jnp.sqrt(z - e) * jnp.sqrt(z + e)
        m = 2 * (self.d - 1) / (-(self.d - 2) * z - self.d * s)
        return m

    def support(self) -> Float[np.ndarray, "k 2"]:
        e = float(self._edge())
        return np.array([[-e, e]])

    def atoms(self) -> tuple[Float[Array, " A"], Float[Array, " A"]]:
        return jnp.zeros(0), jnp.zeros(0)

    def sample_matrix(self, key: PRNGKeyArray, n: int) -> Float[Array, "n n"]:
        r"""$\sum_{k=1}^{\lfloor d/2\rfloor}(O_k + O_k^\top)$ plus, for odd $d$, a reflection $2QQ^\top - I$.

        $O_k$ are independent Haar orthogonal matrices (each $O + O^\top$ is asymptotically
        $u + u^*$ for a Haar unitary $u$) and $Q$ has $n/2$ Haar orthonormal columns (a
        symmetric $\pm1$ Bernoulli); asymptotic freeness makes the sum the free analogue of
        the $d$-regular tree's adjacency operator, whose law is Kesten-McKay.
        """
        d_float = concrete_float("d", self.d)
        if d_float != round(d_float):
            raise ValueError(f"sample_matrix needs an integer degree d; got d = {d_float!r}.")
        d = int(round(d_float))
        keys = jr.split(key, d // 2 + 1)
        a = jnp.zeros((n, n))
        for k in range(d // 2):
            o = haar_orthogonal(keys[k], n, n)
            a = a + o + o.T
        if d % 2:
            q = haar_orthogonal(keys[-1], n, n // 2)
            a = a + 2 * (q @ q.T) - jnp.eye(n)
        return symmetrize(a)

    def decompress(self, tau: RealScalarLike) -> "KestenMcKay":
        raise NotImplementedError(
            "KestenMcKay has no closed-form free decompression (the decompressed law leaves the "
            "Kesten-McKay family); law.evolve(log(tau)) gives the exact evolved curve."
        )
