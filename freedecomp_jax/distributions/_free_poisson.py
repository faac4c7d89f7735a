"""Compound free Poisson and free Lévy laws (free infinitely divisible, finitely many jump sizes)."""

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import PRNGKeyArray

from .._curve import SpectralCurve
from .._custom_types import Array, Complex, Float, RealScalarLike
from .._x64 import check_x64, is_concrete
from ._algebra import (
    coeffs_in_m,
    inverse_map_support,
    leave_one_out,
    monic_roots,
    physical_root,
    pmul,
    product,
    safe_inverse,
    select_real_axis,
)
from ._base import (
    AbstractDistribution,
    AtomsLike,
    atom_params,
    block_counts,
    concrete_float,
    scalar_param,
    size_param,
    symmetric_gaussian,
    symmetrize,
    tau_param,
)


def _levy_coeffs(t: Array, w: Array, lam: Array, a: Array, s2: Array | None) -> Array:
    r"""$(1 - am + \sigma^2m^2 + zm)\prod_i(1 + t_im) - \lambda m\sum_i w_it_i\prod_{j\ne i}(1 + t_jm)$.

    Without the $m^{r+2}$ column when `s2` is None (no Gaussian part).
    """
    one, zero = jnp.ones(()), jnp.zeros(())
    factors = [jnp.stack([one, t[i]])[None, :] for i in range(t.shape[0])]
    row0 = [one, -a] if s2 is None else [one, -a, s2]
    row1 = [zero, one] if s2 is None else [zero, one, zero]
    base = jnp.stack([jnp.stack(row0), jnp.stack(row1)])
    jumps = pmul(jnp.stack([zero, one])[None, :], leave_one_out(factors, w * t))
    p = pmul(base, product(factors))
    return p.at[:1, : jumps.shape[1]].add(-lam * jumps)


def _levy_inverse_prime(m: Array, t: Array, w: Array, lam: Array, s2: Array) -> Array:
    r"""$z'(m) = 1/m^2 - \sigma^2 - \lambda\sum_i w_it_i^2/(1 + t_im)^2$ at real `m`."""
    return 1 / m**2 - s2 - lam * jnp.sum(w * t**2 / (1 + t * m[..., None]) ** 2, axis=-1)


def _levy_roots(c: Array, z: Array) -> Array:
    """All roots m of P(z, .), through the monic reversed polynomial in 1/m (P(z, 0) = 1)."""
    return safe_inverse(monic_roots(coeffs_in_m(c, z)[..., ::-1]))


def _levy_stieltjes(c: Array, t: Array, w: Array, lam: Array, s2: Array, z: Array) -> Array:
    return physical_root(lambda zz: _levy_roots(c, zz), lambda mm: _levy_inverse_prime(mm, t, w, lam, s2), z)


def _levy_density(c: Array, t: Array, w: Array, lam: Array, s2: Array, x: Array) -> Array:
    m = _levy_roots(c, x)
    m = select_real_axis(m, _levy_inverse_prime(jnp.real(m), t, w, lam, s2))
    return jnp.maximum(jnp.imag(m), 0.0) / jnp.pi


def _levy_support(t, w, lam, a, sigma) -> np.ndarray:
    t_np, w_np = np.asarray(t), np.asarray(w)
    return inverse_map_support(-float(sigma) ** 2, float(a), [0.0, *(-1 / t_np)], [-1.0, *(float(lam) * w_np)])


def _jump_sum(key: PRNGKeyArray, t: Array, w: Array, lam: float, n: int) -> Array:
    r"""$\sum_i t_i Z_iZ_i^\top/n$, $Z_i \in \mathbb R^{n\times q_i}$, $\sum_i q_i = \mathrm{round}(\lambda n)$, $q_i \approx \lambda n w_i$.

    Each term is free Poisson with rate $q_i/n$ and jump $t_i$; independent Gaussian blocks
    are asymptotically free, so the sum is compound free Poisson.
    """
    counts = block_counts(w, max(1, round(lam * n)))
    scales = jnp.concatenate([jnp.full((q,), t[i]) for i, q in enumerate(counts)])
    z = jr.normal(key, (n, scales.shape[0]), dtype=jnp.float64)
    return symmetrize((z * scales) @ z.T / n)


class CompoundFreePoisson(AbstractDistribution):
    r"""Compound free Poisson law with rate $\lambda$ and jump law $\sum_i w_i\delta_{t_i}$.

    R-transform $R(g) = \lambda\sum_i w_it_i/(1 - t_ig)$; explicit inverse of the Stieltjes
    transform $z(m) = -1/m + \lambda\sum_i w_it_i/(1 + t_im)$. Curve:
    $(1 + zm)\prod_i(1 + t_im) - \lambda m\sum_i w_it_i\prod_{j\ne i}(1 + t_jm) = 0$, degrees
    $(1, r+1)$. Atom $1 - \lambda$ at 0 when $\lambda < 1$. Free decompression:
    $(t, w, \lambda) \to (\tau t, w, \lambda/\tau)$.

    **Arguments:**

    - `t`: jump sizes $t_i > 0$, distinct, shape `(r,)`.
    - `w`: jump probabilities $w_i > 0$ summing to 1, shape `(r,)`.
    - `lam`: rate $\lambda > 0$.
    """

    t: Float[Array, " r"]
    w: Float[Array, " r"]
    lam: Float[Array, ""]
    n0: Float[Array, ""]
    free_closed_form: ClassVar[bool] = True

    def __init__(self, t: AtomsLike, w: AtomsLike, lam: RealScalarLike, *, n0: RealScalarLike = 1.0):
        check_x64()
        self.n0 = size_param(n0)
        self.t, self.w = atom_params(t, w)
        self.lam = scalar_param("lam", lam, hint="lam is the Poisson rate.")

    def _coeffs(self) -> Array:
        return _levy_coeffs(self.t, self.w, self.lam, jnp.zeros(()), None)

    def curve(self, n0: RealScalarLike | None = None) -> SpectralCurve:
        return SpectralCurve(self._coeffs(), self.n0 if n0 is None else n0)

    def _density(self, x: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
        return _levy_density(self._coeffs(), self.t, self.w, self.lam, jnp.zeros(()), x)

    def _stieltjes_upper(self, z: Complex[Array, "*shape"]) -> Complex[Array, "*shape"]:
        return _levy_stieltjes(self._coeffs(), self.t, self.w, self.lam, jnp.zeros(()), z)

    def support(self) -> Float[np.ndarray, "k 2"]:
        return _levy_support(self.t, self.w, self.lam, 0.0, 0.0)

    def atoms(self) -> tuple[Float[Array, " A"], Float[Array, " A"]]:
        return jnp.zeros(1), jnp.maximum(1.0 - self.lam, 0.0)[None]

    def sample_matrix(self, key: PRNGKeyArray, n: int) -> Float[Array, "n n"]:
        r"""$\sum_i t_iZ_iZ_i^\top/n$ with $Z_i \in \mathbb R^{n \times q_i}$ Gaussian, $q_i \approx \lambda w_in$."""
        return _jump_sum(key, self.t, self.w, concrete_float("lam", self.lam), n)

    def decompress(self, tau: RealScalarLike) -> "CompoundFreePoisson":
        r"""The law at size $\tau n$: $(t, w, \lambda) \to (\tau t, w, \lambda/\tau)$."""
        tau = tau_param(tau)
        return CompoundFreePoisson(tau * self.t, self.w, self.lam / tau, n0=tau * self.n0)


class FreeLevy(AbstractDistribution):
    r"""Free Lévy law: drift $a$, semicircular part of variance $\sigma^2$, compound free Poisson jumps.

    Explicit inverse $z(m) = -1/m + a - \sigma^2m + \lambda\sum_i w_it_i/(1 + t_im)$. Curve:
    $(1 - am + \sigma^2m^2 + zm)\prod_i(1 + t_im) - \lambda m\sum_i w_it_i\prod_{j\ne i}(1 + t_jm) = 0$,
    degrees $(1, r+2)$, or $(1, r+1)$ when $\sigma = 0$. Atom $1 - \lambda$ at $a$ when
    $\sigma = 0$ and $\lambda < 1$. Free decompression:
    $(t, w, \lambda, a, \sigma) \to (\tau t, w, \lambda/\tau, a, \sigma\sqrt\tau)$.

    **Arguments:**

    - `t`: jump sizes $t_i > 0$, distinct, shape `(r,)`.
    - `w`: jump probabilities $w_i > 0$ summing to 1, shape `(r,)`.
    - `lam`: rate $\lambda > 0$.
    - `a`: drift (any real).
    - `sigma`: standard deviation $\sigma \ge 0$ of the semicircular part.
    """

    t: Float[Array, " r"]
    w: Float[Array, " r"]
    lam: Float[Array, ""]
    a: Float[Array, ""]
    sigma: Float[Array, ""]
    has_gaussian_part: bool = eqx.field(static=True)
    n0: Float[Array, ""]
    free_closed_form: ClassVar[bool] = True

    def __init__(
        self,
        t: AtomsLike,
        w: AtomsLike,
        lam: RealScalarLike,
        a: RealScalarLike = 0.0,
        sigma: RealScalarLike = 0.0,
        *,
        n0: RealScalarLike = 1.0,
    ):
        check_x64()
        self.n0 = size_param(n0)
        self.t, self.w = atom_params(t, w)
        self.lam = scalar_param("lam", lam, hint="lam is the Poisson rate.")
        self.a = scalar_param("a", a, lower=None)
        self.sigma = scalar_param("sigma", sigma, strict=False, hint="sigma is the semicircle standard deviation.")
        # Static: sigma = 0 lowers the degree in m (no zero leading column). Traced sigma counts as > 0.
        self.has_gaussian_part = not is_concrete(self.sigma) or float(self.sigma) > 0

    def _coeffs(self) -> Array:
        return _levy_coeffs(self.t, self.w, self.lam, self.a, self.sigma**2 if self.has_gaussian_part else None)

    def curve(self, n0: RealScalarLike | None = None) -> SpectralCurve:
        return SpectralCurve(self._coeffs(), self.n0 if n0 is None else n0)

    def _density(self, x: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
        return _levy_density(self._coeffs(), self.t, self.w, self.lam, self.sigma**2, x)

    def _stieltjes_upper(self, z: Complex[Array, "*shape"]) -> Complex[Array, "*shape"]:
        return _levy_stieltjes(self._coeffs(), self.t, self.w, self.lam, self.sigma**2, z)

    def support(self) -> Float[np.ndarray, "k 2"]:
        return _levy_support(self.t, self.w, self.lam, self.a, self.sigma)

    def atoms(self) -> tuple[Float[Array, " A"], Float[Array, " A"]]:
        w = jnp.where(self.sigma > 0, 0.0, jnp.maximum(1.0 - self.lam, 0.0))
        return self.a[None], w[None]

    def sample_matrix(self, key: PRNGKeyArray, n: int) -> Float[Array, "n n"]:
        r"""$\sum_i t_iZ_iZ_i^\top/n + aI + \sigma(G + G^\top)/\sqrt{2n}$ (compound free Poisson + drift + semicircle)."""
        k_jump, k_gauss = jr.split(key)
        jumps = _jump_sum(k_jump, self.t, self.w, concrete_float("lam", self.lam), n)
        return jumps + self.a * jnp.eye(n) + self.sigma * symmetric_gaussian(k_gauss, n) / jnp.sqrt(float(n))

    def decompress(self, tau: RealScalarLike) -> "FreeLevy":
        r"""The law at size $\tau n$: $(t, w, \lambda, a, \sigma) \to (\tau t, w, \lambda/\tau, a, \sigma\sqrt\tau)$."""
        tau = tau_param(tau)
        sigma = self.sigma * jnp.sqrt(tau) if self.has_gaussian_part else 0.0
        return FreeLevy(tau * self.t, self.w, self.lam / tau, self.a, sigma, n0=tau * self.n0)
