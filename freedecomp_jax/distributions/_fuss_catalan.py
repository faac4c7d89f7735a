"""The Fuss-Catalan law (squared singular values of products of Gaussian matrices)."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import PRNGKeyArray

from .._curve import SpectralCurve
from .._custom_types import Array, Complex, Float, RealScalarLike
from .._x64 import check_x64
from ._algebra import monic_roots
from ._base import AbstractDistribution, integer_param, size_param, symmetrize


class FussCatalan(AbstractDistribution):
    r"""Fuss-Catalan law of order $p \ge 1$: the moments are $\frac{1}{pk+1}\binom{(p+1)k}{k}$.

    Law of $PP^\top$, $P = G_1 \cdots G_p/n^{p/2}$ with square Gaussian $G_k$ (the free
    multiplicative power $\mathrm{MP}(1)^{\boxtimes p}$; $p = 1$ is Marchenko-Pastur with
    $\lambda = 1$). Curve: $(-1)^p z^p m^{p+1} - z m - 1 = 0$, degrees $(p, p+1)$, support
    $[0, L]$, $L = (p+1)^{p+1}/p^p$, no atoms.

    *Uniformisation.* With $B = -zm$ the curve is $B = 1 + B^{p+1}/z$; put $B = 1 + u$:
    $z = (1+u)^{p+1}/u$, $m = -u/(1+u)^p$, and $u \approx 1/z$ at infinity. On the
    physical sheet $u$ ranges over the star-shaped domain $|u| < \sin\varphi/\sin(p\varphi)$,
    $\varphi = \arg(u)/(p+1)$, whose boundary $u(\varphi) = \sin\varphi\,e^{i(p+1)\varphi}/\sin(p\varphi)$
    ($|\varphi| < \pi/(p+1)$) is mapped onto the cut $[0, L]$. Substituting gives the
    parametric density (Haagerup & Möller 2012; Neuschel 2014): for
    $0 < \varphi < \pi/(p+1)$,
    $$x(\varphi) = \frac{\sin^{p+1}((p+1)\varphi)}{\sin\varphi\,\sin^p(p\varphi)},\qquad
      m(x + i0) = -\frac{\sin\varphi\,\sin^{p-1}(p\varphi)}{\sin^p((p+1)\varphi)}\,e^{-i\varphi},\qquad
      \rho(x) = \frac{\sin^2\varphi\,\sin^{p-1}(p\varphi)}{\pi\,\sin^p((p+1)\varphi)},$$
    with $x(\varphi)$ decreasing from $L$ to 0. Off the cut, `stieltjes` takes the root of
    $(1+u)^{p+1} - zu$ inside that domain. No closed-form free decompression.

    **Arguments:**

    - `p`: order, an integer $p \ge 1$ (static: it fixes the degrees).
    """

    p: int = eqx.field(static=True)
    n0: Float[Array, ""]

    def __init__(self, p: RealScalarLike, *, n0: RealScalarLike = 1.0):
        check_x64()
        self.n0 = size_param(n0)
        self.p = integer_param("p", p, lower=1)

    @property
    def _right_edge(self) -> float:
        return (self.p + 1) ** (self.p + 1) / self.p**self.p

    def curve(self, n0: RealScalarLike | None = None) -> SpectralCurve:
        p = self.p
        coeffs = np.zeros((p + 1, p + 2))
        coeffs[0, 0] = -1.0
        coeffs[1, 1] = -1.0
        coeffs[p, p + 1] = (-1.0) ** p
        return SpectralCurve(coeffs, self.n0 if n0 is None else n0)

    def _phi(self, x: Array) -> Array:
        """Solve x(phi) = x on (0, pi/(p+1)) by bisection on log x(phi) (decreasing)."""
        p = self.p
        lx = jnp.log(x)

        def g(phi):
            return (p + 1) * jnp.log(jnp.sin((p + 1) * phi)) - jnp.log(jnp.sin(phi)) - p * jnp.log(jnp.sin(p * phi)) - lx

        def body(_, lohi):
            lo, hi = lohi
            mid = 0.5 * (lo + hi)
            right = g(mid) > 0  # x(mid) > x: the solution lies to the right
            return jnp.where(right, mid, lo), jnp.where(right, hi, mid)

        lo = jnp.zeros_like(x)
        hi = jnp.full_like(x, jnp.pi / (p + 1))
        lo, hi = jax.lax.fori_loop(0, 64, body, (lo, hi))
        return 0.5 * (lo + hi)

    def _on_cut(self, x: Array) -> tuple[Array, Array]:
        """(inside, m(x + i0)) from the parametric form; m is meaningful where inside."""
        p = self.p
        inside = (x > 0) & (x < self._right_edge)
        phi = self._phi(jnp.where(inside, x, 0.5 * self._right_edge))
        amp = jnp.sin(phi) * jnp.sin(p * phi) ** (p - 1) / jnp.sin((p + 1) * phi) ** p
        return inside, -amp * jnp.exp(-1j * phi)

    def _density(self, x: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
        inside, m = self._on_cut(x)
        return jnp.where(inside, jnp.imag(m) / jnp.pi, 0.0)

    def _stieltjes_upper(self, z: Complex[Array, "*shape"]) -> Complex[Array, "*shape"]:
        p = self.p
        binom = jnp.asarray([math.comb(p + 1, k) for k in range(p + 2)], dtype=jnp.complex128)
        coeffs = jnp.broadcast_to(binom, z.shape + (p + 2,)).at[..., 1].add(-z)
        u = monic_roots(coeffs)
        phi = jnp.angle(u) / (p + 1)
        small = jnp.abs(phi) < 1e-8
        ratio = jnp.where(small, p, jnp.sin(p * phi) / jnp.where(small, 1.0, jnp.sin(phi)))
        idx = jnp.argmin(jnp.abs(u) * ratio, axis=-1)  # < 1 exactly on the physical sheet
        u = jnp.take_along_axis(u, idx[..., None], axis=-1)[..., 0]
        m = -u / (1 + u) ** p
        on_cut, m_cut = self._on_cut(jnp.real(z))
        return jnp.where((jnp.imag(z) == 0) & on_cut, m_cut, m)

    def support(self) -> Float[np.ndarray, "k 2"]:
        return np.array([[0.0, self._right_edge]])

    def atoms(self) -> tuple[Float[Array, " A"], Float[Array, " A"]]:
        return jnp.zeros(0), jnp.zeros(0)

    def sample_matrix(self, key: PRNGKeyArray, n: int) -> Float[Array, "n n"]:
        r"""$PP^\top$ with $P = \prod_{k=1}^p G_k/\sqrt n$, $G_k$ independent $n \times n$ standard Gaussian."""
        keys = jr.split(key, self.p)
        prod = jr.normal(keys[0], (n, n), dtype=jnp.float64) / jnp.sqrt(float(n))
        for k in range(1, self.p):
            prod = prod @ (jr.normal(keys[k], (n, n), dtype=jnp.float64) / jnp.sqrt(float(n)))
        return symmetrize(prod @ prod.T)

    def decompress(self, tau: RealScalarLike) -> "FussCatalan":
        raise NotImplementedError(
            "FussCatalan has no closed-form free decompression (the decompressed law leaves the "
            "Fuss-Catalan family); law.evolve(log(tau)) gives the exact evolved curve."
        )
