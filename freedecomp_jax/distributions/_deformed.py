"""Deformed Wigner (H ⊞ semicircle) and deformed Marchenko-Pastur (H ⊠ MP) laws of a discrete population H."""

import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import PRNGKeyArray

from .._curve import SpectralCurve
from .._custom_types import Array, Complex, Float, RealScalarLike
from .._x64 import check_x64
from ._algebra import (
    coeffs_in_m,
    inverse_map_support,
    leave_one_out,
    monic_roots,
    padd,
    physical_root,
    pmul,
    ppow,
    product,
    safe_inverse,
    select_real_axis,
    shift_z,
    trim_coeffs,
)
from ._base import (
    AbstractDistribution,
    AtomsLike,
    atom_params,
    concrete_float,
    scalar_param,
    shuffled_diagonal,
    size_param,
    symmetric_gaussian,
    symmetrize,
    tau_param,
)


class DeformedWigner(AbstractDistribution):
    r"""Deformed Wigner law $H \boxplus \mathrm{SC}(\sigma)$, $H = \sum_i w_i\delta_{t_i}$.

    Pastur's equation $m = \sum_i w_i/(t_i - z - \sigma^2m)$; with $\omega = z + \sigma^2m$
    (subordination) the explicit inverse is $z(\omega) = \omega + \sigma^2\sum_i w_i/(\omega - t_i)$.
    Curve: $m\prod_i(t_i - z - \sigma^2m) - \sum_iw_i\prod_{j\ne i}(t_j - z - \sigma^2m) = 0$,
    degrees $(r, r+1)$. Support from Biane's criterion (gaps are $z(\omega)$, $z'(\omega) > 0$).
    No closed-form free decompression.

    **Arguments:**

    - `t`: atom locations of $H$ (distinct reals), shape `(r,)`.
    - `w`: atom weights $w_i > 0$ summing to 1, shape `(r,)`.
    - `sigma`: standard deviation $\sigma > 0$ of the semicircular part.
    """

    t: Float[Array, " r"]
    w: Float[Array, " r"]
    sigma: Float[Array, ""]
    n0: Float[Array, ""]

    def __init__(self, t: AtomsLike, w: AtomsLike, sigma: RealScalarLike, *, n0: RealScalarLike = 1.0):
        check_x64()
        self.n0 = size_param(n0)
        self.t, self.w = atom_params(t, w, positive_t=False)
        self.sigma = scalar_param("sigma", sigma, hint="sigma is the semicircle standard deviation.")

    def _coeffs(self) -> Array:
        s2 = self.sigma**2
        zero, one = jnp.zeros(()), jnp.ones(())
        factors = [jnp.stack([jnp.stack([self.t[i], -s2]), jnp.stack([-one, zero])]) for i in range(self.t.shape[0])]
        m = jnp.stack([zero, one])[None, :]
        return padd(pmul(m, product(factors)), -leave_one_out(factors, self.w))

    def _inverse_prime(self, m: Array, x: Array) -> Array:
        r"""$z'(\omega) = 1 - \sigma^2\sum_i w_i/(\omega - t_i)^2$ at $\omega = x + \sigma^2 m$."""
        omega = x[..., None] + self.sigma**2 * m
        return 1 - self.sigma**2 * jnp.sum(self.w / (omega[..., None] - self.t) ** 2, axis=-1)

    def _roots(self, z: Array) -> Array:
        a = coeffs_in_m(self._coeffs(), z)
        return monic_roots(a / a[..., -1:])

    def curve(self, n0: RealScalarLike | None = None) -> SpectralCurve:
        return SpectralCurve(self._coeffs(), self.n0 if n0 is None else n0)

    def _density(self, x: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
        m = self._roots(x)
        m = select_real_axis(m, self._inverse_prime(jnp.real(m), x))
        return jnp.maximum(jnp.imag(m), 0.0) / jnp.pi

    def _stieltjes_upper(self, z: Complex[Array, "*shape"]) -> Complex[Array, "*shape"]:
        return physical_root(self._roots, lambda mm: self._inverse_prime(mm, jnp.real(z)), z)

    def support(self) -> Float[np.ndarray, "k 2"]:
        s2 = float(self.sigma) ** 2
        return inverse_map_support(1.0, 0.0, np.asarray(self.t), s2 * np.asarray(self.w))

    def atoms(self) -> tuple[Float[Array, " A"], Float[Array, " A"]]:
        return jnp.zeros(0), jnp.zeros(0)

    def sample_matrix(self, key: PRNGKeyArray, n: int) -> Float[Array, "n n"]:
        r"""$\mathrm{diag}(t)$ (values $t_i$ in proportions $w_i$, randomly permuted) $+ \sigma(G + G^\top)/\sqrt{2n}$."""
        k_diag, k_gauss = jr.split(key)
        diag = shuffled_diagonal(k_diag, self.t, self.w, n)
        return jnp.diag(diag) + self.sigma * symmetric_gaussian(k_gauss, n) / jnp.sqrt(float(n))

    def decompress(self, tau: RealScalarLike) -> "DeformedWigner":
        raise NotImplementedError(
            "DeformedWigner has no closed-form free decompression (the population H is not "
            "free-infinitely divisible, so the decompressed law leaves the family); use "
            "law.curve().evolve(log(tau)) for the exact evolved curve."
        )


class DeformedMarchenkoPastur(AbstractDistribution):
    r"""Deformed Marchenko-Pastur law $H \boxtimes \mathrm{MP}_c$ of $\Sigma^{1/2}ZZ^\top\Sigma^{1/2}/q$, $c = n/q$.

    $\Sigma$ has spectral law $H = \sum_i w_i\delta_{t_i}$. The companion transform
    $u = cm + (c - 1)/z$ (of the $q \times q$ matrix $Z^\top\Sigma Z/q$) solves Silverstein's
    equation $z = -1/u + c\sum_i w_it_i/(1 + t_iu)$, i.e.
    $F(z, u) = (1 + zu)\prod_i(1 + t_iu) - cu\sum_i w_it_i\prod_{j\ne i}(1 + t_ju) = 0$.
    Curve: $z^rF(z, cm + (c - 1)/z)/(cz)$ (the factor $cz$ is structural when
    $\sum_i w_i = 1$), degrees $(r, r+1)$. Atom $1 - 1/c$ at 0 when $c > 1$. Deformed
    decompression (rows grow, $q$ fixed): $c \to \tau c$.

    **Arguments:**

    - `t`: population eigenvalues $t_i > 0$, distinct, shape `(r,)`.
    - `w`: their proportions $w_i > 0$ summing to 1, shape `(r,)`.
    - `c`: aspect ratio $c = n/q > 0$.
    """

    t: Float[Array, " r"]
    w: Float[Array, " r"]
    c: Float[Array, ""]
    n0: Float[Array, ""]

    def __init__(self, t: AtomsLike, w: AtomsLike, c: RealScalarLike, *, n0: RealScalarLike = 1.0):
        check_x64()
        self.n0 = size_param(n0)
        self.t, self.w = atom_params(t, w)
        self.c = scalar_param("c", c, hint="c = n/q is the aspect ratio of the data matrix.")

    def _silverstein(self) -> Array:
        """F(z, u) as a (2, r+2) array in (z, u)."""
        zero, one = jnp.zeros(()), jnp.ones(())
        factors = [jnp.stack([one, self.t[i]])[None, :] for i in range(self.t.shape[0])]
        head = pmul(jnp.stack([jnp.stack([one, zero]), jnp.stack([zero, one])]), product(factors))
        jumps = pmul(jnp.stack([zero, one])[None, :], leave_one_out(factors, self.w * self.t))
        return head.at[:1, : jumps.shape[1]].add(-self.c * jumps)

    def _coeffs(self) -> Array:
        r"""$z^rF(z, U/z)/(cz)$ with $U = czm + c - 1$, by exact bivariate arithmetic."""
        f = self._silverstein()
        r = self.t.shape[0]
        zero = jnp.zeros(())
        u = jnp.stack([jnp.stack([self.c - 1, zero]), jnp.stack([zero, self.c])])
        terms = []
        for k in range(r + 2):
            u_k = ppow(u, k)
            for i in range(2):
                if i + r - k >= 0:  # F[0, r+1] = 0: the only term with a negative power of z
                    terms.append(f[i, k] * shift_z(u_k, i + r - k))
        g = padd(*terms)  # g[0] = c(c-1)^r prod(t)(1 - sum w) = 0: divide by z
        return trim_coeffs(g[1:] / self.c)

    def _inverse_prime(self, u: Array) -> Array:
        r"""$z'(u) = 1/u^2 - c\sum_i w_it_i^2/(1 + t_iu)^2$ at real `u`."""
        return 1 / u**2 - self.c * jnp.sum(self.w * self.t**2 / (1 + self.t * u[..., None]) ** 2, axis=-1)

    def _companion_roots(self, z: Array) -> Array:
        """All roots u of F(z, .), through the monic reversed polynomial in 1/u (F(z, 0) = 1)."""
        return safe_inverse(monic_roots(coeffs_in_m(self._silverstein(), z)[..., ::-1]))

    def _from_companion(self, u: Array, z: Array) -> Array:
        nonzero = z != 0
        zs = jnp.where(nonzero, z, 1.0)
        return (u - (self.c - 1) / zs) / self.c

    def curve(self, n0: RealScalarLike | None = None) -> SpectralCurve:
        return SpectralCurve(self._coeffs(), self.n0 if n0 is None else n0)

    def _density(self, x: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
        u = self._companion_roots(x)
        u = select_real_axis(u, self._inverse_prime(jnp.real(u)))
        return jnp.where(x != 0, jnp.maximum(jnp.imag(u), 0.0) / (jnp.pi * self.c), 0.0)

    def _stieltjes_upper(self, z: Complex[Array, "*shape"]) -> Complex[Array, "*shape"]:
        u = physical_root(self._companion_roots, self._inverse_prime, z)
        m = self._from_companion(u, z)
        # z = 0: m(0) = E_H[1/t]/(1 - c) for c < 1; an atom (pole) for c >= 1.
        m0 = jnp.where(self.c < 1, jnp.sum(self.w / self.t) / (1 - self.c), jnp.inf)
        return jnp.where(z == 0, m0 + 0j, m)

    def support(self) -> Float[np.ndarray, "k 2"]:
        # The companion law is CFP(t, w, lam = c): same support away from 0.
        t, w = np.asarray(self.t), np.asarray(self.w)
        return inverse_map_support(0.0, 0.0, [0.0, *(-1 / t)], [-1.0, *(float(self.c) * w)])

    def atoms(self) -> tuple[Float[Array, " A"], Float[Array, " A"]]:
        return jnp.zeros(1), jnp.maximum(1.0 - 1.0 / self.c, 0.0)[None]

    def sample_matrix(self, key: PRNGKeyArray, n: int) -> Float[Array, "n n"]:
        r"""$\Sigma^{1/2}ZZ^\top\Sigma^{1/2}/q$, $Z \in \mathbb R^{n\times q}$, $q = \mathrm{round}(n/c)$, $\Sigma$ diagonal with values $t_i$ in proportions $w_i$ (randomly permuted)."""
        k_diag, k_z = jr.split(key)
        q = max(1, round(n / concrete_float("c", self.c)))
        root = jnp.sqrt(shuffled_diagonal(k_diag, self.t, self.w, n))
        x = root[:, None] * jr.normal(k_z, (n, q), dtype=jnp.float64)
        return symmetrize(x @ x.T / q)

    def decompress(self, tau: RealScalarLike) -> "DeformedMarchenkoPastur":
        r"""The law at size $\tau n$ under *deformed* decompression (rows grow, $q$ fixed): $c \to \tau c$."""
        tau = tau_param(tau)
        return DeformedMarchenkoPastur(self.t, self.w, tau * self.c, n0=tau * self.n0)
