"""The Wachter (MANOVA / Jacobi) law."""

import jax.numpy as jnp
import numpy as np
from jaxtyping import PRNGKeyArray

from .._curve import SpectralCurve
from .._custom_types import Array, Complex, Float, RealScalarLike
from .._x64 import check_x64, is_concrete
from ._base import (
    AbstractDistribution,
    concrete_float,
    haar_orthogonal,
    scalar_param,
    size_param,
    symmetrize,
)


class Wachter(AbstractDistribution):
    r"""Wachter law of $J = (S_x + S_y)^{-1/2} S_x (S_x + S_y)^{-1/2}$, $S_x = XX^\top$, $S_y = YY^\top$.

    $X \in \mathbb R^{n \times an}$, $Y \in \mathbb R^{n \times bn}$ Gaussian. Curve:
    $z(1 - z) m^2 + (1 - a + (a + b - 2) z) m + (a + b - 1) = 0$, degrees (2, 2). Density
    $\rho(x) = (a + b)\sqrt{(\lambda_+ - x)(x - \lambda_-)}/(2\pi x(1 - x))$ on
    $[\lambda_-, \lambda_+]$, $\lambda_\pm = \big((\sqrt b \pm \sqrt{a(a + b - 1)})/(a + b)\big)^2$,
    plus atoms $1 - a$ at 0 ($a < 1$) and $1 - b$ at 1 ($b < 1$) (Wachter 1980). No
    closed-form free decompression.

    **Arguments:**

    - `a`, `b`: aspect ratios $a, b > 0$ of $X$ and $Y$, with $a + b > 1$ (so that
      $S_x + S_y$ is invertible).
    - `n0`: the matrix size the law describes (keyword, default 1).
    """

    a: Float[Array, ""]
    b: Float[Array, ""]
    n0: Float[Array, ""]

    def __init__(self, a: RealScalarLike, b: RealScalarLike, *, n0: RealScalarLike = 1.0):
        check_x64()
        self.n0 = size_param(n0)
        self.a = scalar_param("a", a, hint="a is the aspect ratio (columns/rows) of X.")
        self.b = scalar_param("b", b, hint="b is the aspect ratio (columns/rows) of Y.")
        if is_concrete(self.a, self.b) and not float(self.a + self.b) > 1:
            raise ValueError(
                f"Wachter needs a + b > 1 (otherwise S_x + S_y is singular); got a = {float(self.a)!r}, "
                f"b = {float(self.b)!r}."
            )

    def _edges(self):
        a, b = self.a, self.b
        r = jnp.sqrt(a * (a + b - 1))
        return ((jnp.sqrt(b) - r) / (a + b)) ** 2, ((jnp.sqrt(b) + r) / (a + b)) ** 2

    def curve(self, n0: RealScalarLike | None = None) -> SpectralCurve:
        a, b = self.a, self.b
        zero, one = jnp.zeros(()), jnp.ones(())
        coeffs = jnp.stack(
            [
                jnp.stack([a + b - 1, 1 - a, zero]),
                jnp.stack([zero, a + b - 2, one]),
                jnp.stack([zero, zero, -one]),
            ]
        )
        return SpectralCurve(coeffs, self.n0 if n0 is None else n0)

    def _density(self, x: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
        lo, hi = self._edges()
        inside = (x > lo) & (x < hi) & (x > 0) & (x < 1)
        xs = jnp.where(inside, x, 0.5)
        rho = (self.a + self.b) * jnp.sqrt(jnp.maximum((hi - xs) * (xs - lo), 0.0)) / (2 * jnp.pi * xs * (1 - xs))
        return jnp.where(inside, rho, 0.0)

    def _stieltjes_upper(self, z: Complex[Array, "*shape"]) -> Complex[Array, "*shape"]:
        # m = 2C / (-B - s) with s = (a + b) sqrt(z - lo) sqrt(z - hi) ~ (a + b) z.
        a, b = self.a, self.b
        lo, hi = self._edges()
        s = (a + b) * jnp.sqrt(z - lo) * jnp.sqrt(z - hi)
        m = 2 * (a + b - 1) / (-(1 - a + (a + b - 2) * z) - s)
        return m

    def support(self) -> Float[np.ndarray, "k 2"]:
        lo, hi = self._edges()
        return np.array([[float(lo), float(hi)]])

    def atoms(self) -> tuple[Float[Array, " A"], Float[Array, " A"]]:
        return jnp.array([0.0, 1.0]), jnp.maximum(1.0 - jnp.stack([self.a, self.b]), 0.0)

    def sample_matrix(self, key: PRNGKeyArray, n: int) -> Float[Array, "n n"]:
        r"""$J = Q_X^\top Q_X$, orthogonally similar to $(S_x + S_y)^{-1/2} S_x (S_x + S_y)^{-1/2}$.

        With $W = [X\ Y] \in \mathbb R^{n \times (p + q)}$, $p = \mathrm{round}(an)$,
        $q = \mathrm{round}(bn)$, and $W^\top = QR$, $J$ is similar to
        $R^{-1}(Q_X^\top Q_X)R$ where $Q_X$ are the first $p$ rows of $Q$; $Q$ is Haar on the
        Stiefel manifold, so $J$ is orthogonally invariant in law.
        """
        p = round(n * concrete_float("a", self.a))
        q = round(n * concrete_float("b", self.b))
        if p + q <= n:
            raise ValueError(f"sample_matrix needs round(a n) + round(b n) > n; got {p} + {q} <= {n}. Use a larger n.")
        qx = haar_orthogonal(key, p + q, n)[:p]
        return symmetrize(qx.T @ qx)

    def decompress(self, tau: RealScalarLike) -> "Wachter":
        raise NotImplementedError(
            "Wachter has no closed-form free decompression (the decompressed law leaves the Wachter "
            "family); law.evolve(log(tau)) gives the exact evolved curve."
        )
