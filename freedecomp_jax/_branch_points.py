r"""Branch points (discriminant of $P$ in $m$) and the support read off from them.

$\operatorname{Disc}_m P(z) = \operatorname{Res}_m(P, P_m)/a_K(z)$ is a polynomial of degree
$\le (2K-1)L$. It is sampled at roots of unity on a circle of radius $R$ (the spectral radius),
each value a $(2K-1)\times(2K-1)$ Sylvester determinant (LU: any backend), interpolated
exactly by an FFT, and its roots found by batched Aberth iterations.
"""

import functools

import jax
import jax.numpy as jnp

from ._poly import m_coeffs
from ._roots import polyroots
from ._series import laurent_series, spectral_radius


def _sylvester(p, q):
    """Sylvester matrix of p (deg K) and q (deg K-1), ascending coefficient vectors."""
    K = p.shape[0] - 1
    n = 2 * K - 1
    rows = []
    for r in range(K - 1):  # K-1 shifted copies of p (descending)
        row = jnp.zeros(n, dtype=p.dtype).at[r : r + K + 1].set(p[::-1])
        rows.append(row)
    for r in range(K):  # K shifted copies of q
        row = jnp.zeros(n, dtype=p.dtype).at[r : r + K].set(q[::-1])
        rows.append(row)
    return jnp.stack(rows)


def discriminant_coeffs(c, radius):
    """Ascending coefficients (degree (2K-1)L) of Res_m(P, P_m)(z) / a_K(z)."""
    L, K = c.shape[0] - 1, c.shape[1] - 1
    D = (2 * K - 1) * L
    n = D + 1
    zk = radius * jnp.exp(2j * jnp.pi * jnp.arange(n) / n)

    def value(z):
        a = m_coeffs(c, z)
        da = a[1:] * jnp.arange(1, K + 1)
        return jnp.linalg.det(_sylvester(a, da)) / a[K]

    vals = jax.vmap(value)(zk)
    coef = jnp.fft.fft(vals) / n  # coefficients of p(radius * w)
    return coef / radius ** jnp.arange(n)


@functools.partial(jax.jit, static_argnums=1)
def branch_points(c, series_terms: int = 24):
    """All (2K-1)L roots of the discriminant; roots 'at infinity' come back huge."""
    if c.shape[1] < 3 and c.shape[0] < 2:
        raise ValueError("branch_points needs deg_m >= 1 and deg_z >= 1.")
    R = spectral_radius(laurent_series(c, series_terms))
    R = jnp.where(R > 0, R, 1.0)
    d = discriminant_coeffs(c, R)
    if d.shape[0] < 2:
        return jnp.zeros((0,), dtype=jnp.complex128)
    return polyroots(d * R ** jnp.arange(d.shape[0])).roots * R  # solve in scaled variable z/R
