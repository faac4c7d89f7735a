"""Bivariate polynomials P(z, m) = sum_ij c_ij z^i m^j stored as (L+1, K+1) arrays.

Low-level, shape-static helpers shared by the curve, the branch tracker and the flow.
"""

import math

import jax.numpy as jnp
import numpy as np


def polyval_z(c, z):
    """a_j(z) = sum_i c_ij z^i for every j (Horner in z). Returns shape z.shape + (K+1,)."""
    z = jnp.asarray(z)[..., None]
    acc = jnp.zeros(z.shape[:-1] + (c.shape[1],), dtype=jnp.result_type(c, z))
    for i in range(c.shape[0] - 1, -1, -1):
        acc = acc * z + c[i]
    return acc


def polyval_m(a, m):
    """sum_j a_j m^j for coefficient vectors a (..., K+1) (Horner in m)."""
    acc = jnp.zeros(jnp.broadcast_shapes(a.shape[:-1], jnp.shape(m)), dtype=jnp.result_type(a, m))
    for j in range(a.shape[-1] - 1, -1, -1):
        acc = acc * m + a[..., j]
    return acc


def deriv_coeffs(c, dz: int = 0, dm: int = 0):
    """Coefficients of d^{dz+dm} P / dz^dz dm^dm, same (L+1, K+1) shape (trailing zeros)."""
    L1, K1 = c.shape
    fz = np.array([math.perm(i, dz) if i >= dz else 0 for i in range(L1)], dtype=float)
    fm = np.array([math.perm(j, dm) if j >= dm else 0 for j in range(K1)], dtype=float)
    d = c * fz[:, None] * fm[None, :]
    d = jnp.roll(d, -dz, axis=0) if dz else d
    d = jnp.roll(d, -dm, axis=1) if dm else d
    return d


def polyval2(c, z, m, dz: int = 0, dm: int = 0):
    """d^{dz+dm}P/dz^dz dm^dm at (z, m), broadcasting z and m."""
    d = deriv_coeffs(c, dz, dm) if (dz or dm) else c
    return polyval_m(polyval_z(d, z), m)


def value_and_derivs(c, z, m):
    """(P, P_z, P_m) at (z, m); one Horner pass per quantity."""
    return polyval2(c, z, m), polyval2(c, z, m, 1, 0), polyval2(c, z, m, 0, 1)


def m_coeffs(c, z):
    """Coefficients (ascending in m) of the univariate polynomial P(z, .)."""
    return polyval_z(c.astype(jnp.result_type(c, z)), z)


def rescale(c, center, scale):
    r"""Coefficients of $\tilde P(\tilde z, \tilde m) = P(\text{center} + s\tilde z, \tilde m/s)$, max-normalised."""
    L, K = c.shape[0] - 1, c.shape[1] - 1
    i = np.arange(L + 1)
    binom = np.array([[math.comb(ii, r) if ii >= r else 0 for ii in i] for r in i], dtype=float)
    pw = np.maximum(i[None, :] - i[:, None], 0)
    B = binom * center ** pw * (scale ** i)[:, None]  # B[r, i] = C(i, r) center^(i-r) s^r
    B = jnp.where(binom > 0, B, 0.0)
    ct = (B @ c) * scale ** (-jnp.arange(K + 1.0))[None, :]
    return ct / jnp.max(jnp.abs(ct))


def polymul(a, b):
    """Coefficients of the product of two polynomials (full length `len(a) + len(b) - 1`).

    Used instead of `jnp.convolve`, whose batched form under `vmap` is a grouped convolution that
    multiplies every lane by the others' zeros, so a NaN in one lane of a batch spreads to all.
    """
    a, b = jnp.asarray(a), jnp.asarray(b)
    n = a.shape[-1] + b.shape[-1] - 1
    idx = np.arange(a.shape[-1])[:, None] + np.arange(b.shape[-1])[None, :]
    onehot = (idx[..., None] == np.arange(n)).astype(float)  # (len a, len b, n), static
    return jnp.einsum("i,j,ijk->k", a, b, onehot.astype(jnp.result_type(a, b)))
