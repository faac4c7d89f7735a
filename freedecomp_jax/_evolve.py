r"""Exact evolution of the curve's coefficients in matrix size (free and deformed decompression).

Free: $P_t(z, m) = P(z + \beta/m,\ \tau m)$, $\tau = e^t$, $\beta = 1 - 1/\tau$.
Deformed (Gram matrices, aspect ratio $c = \tau c_0$): $P(\zeta, y)$ with $\zeta = z\alpha/\beta_c$,
$y = m\beta_c/\alpha$, $\alpha = c_0 zm + c_0 - 1$, $\beta_c = c\,zm + c - 1$.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np

from ._poly import polymul


def _free_index(L: int, K: int):
    """Static scatter tables for A[r, s-1] += binom(i, r) beta^(i-r) tau^j c[i, j]."""
    rows, cols, ii, jj, binom, pb = [], [], [], [], [], []
    for i in range(L + 1):
        for j in range(K + 1):
            for r in range(i + 1):
                s = r + j + L - i
                if s == 0:  # only (i, j, r) = (L, 0, 0): c_{L,0} is forced to 0
                    continue
                rows.append(r)
                cols.append(s - 1)
                ii.append(i)
                jj.append(j)
                binom.append(math.comb(i, r))
                pb.append(i - r)
    return tuple(np.asarray(a) for a in (rows, cols, ii, jj, binom, pb))


def evolve_free(c, t):
    """Coefficients (L+1, L+K) of the free-decompressed curve at time t (factor m removed)."""
    L, K = c.shape[0] - 1, c.shape[1] - 1
    c = c.at[L, 0].set(0.0)
    tau = jnp.exp(t)
    beta = -jnp.expm1(-t)
    rows, cols, ii, jj, binom, pb = _free_index(L, K)
    vals = binom * beta ** pb * tau ** jj * c[ii, jj]
    A = jnp.zeros((L + 1, L + K), dtype=c.dtype).at[rows, cols].add(vals)
    return A / jnp.max(jnp.abs(A))


def _poly_pow(p, k: int):
    out = jnp.ones((1,), dtype=p.dtype)
    for _ in range(k):
        out = polymul(out, p)
    return out


def _diagonals(Lq: int, Kq: int):
    """Static gather tables: diagonal d = i - j of a (Lq+1, Kq+1) array as a polynomial in u = z m."""
    n_diag = Lq + Kq + 1
    width = min(Lq, Kq) + 1
    II = np.zeros((n_diag, width), dtype=int)
    J = np.zeros((n_diag, width), dtype=int)
    valid = np.zeros((n_diag, width), dtype=bool)
    for row, d in enumerate(range(-Kq, Lq + 1)):
        i0, j0 = max(d, 0), max(-d, 0)
        for k in range(width):
            if i0 + k <= Lq and j0 + k <= Kq:
                II[row, k], J[row, k], valid[row, k] = i0 + k, j0 + k, True
    return II, J, valid


def _deflate(D, valid, u0, rtol: float = 1e-9):
    """Divide every diagonal polynomial q_d(u) by (u - u0) when all remainders vanish.

    Returns the (possibly) deflated diagonals and whether the division was exact.
    """
    width = D.shape[1]
    big = jnp.abs(u0) > 1

    def forward(a):  # synthetic division from the top, stable for |u0| <= 1
        b = [None] * width
        acc = jnp.zeros_like(a[:, 0])
        for k in range(width - 1, 0, -1):
            acc = a[:, k] + u0 * acc
            b[k - 1] = acc
        rem = a[:, 0] + u0 * acc
        return jnp.stack(b[:-1] + [jnp.zeros_like(acc)], axis=1), rem

    def backward(a):  # division from the bottom, stable for |u0| > 1
        b = []
        prev = jnp.zeros_like(a[:, 0])
        for k in range(width - 1):
            prev = (prev - a[:, k]) / u0 if k else -a[:, 0] / u0
            b.append(prev)
        rem = a[:, width - 1] - prev
        return jnp.stack(b + [jnp.zeros_like(prev)], axis=1), rem

    bf, rf = forward(D)
    bb, rb = backward(D)
    quot = jnp.where(big, bb, bf)
    rem = jnp.where(big, rb, rf)
    # scale of the terms in each diagonal evaluated at u0
    pw = jnp.abs(u0) ** jnp.arange(width)
    scale = jnp.sum(jnp.abs(D) * jnp.where(big, pw / jnp.abs(u0) ** (width - 1), pw), axis=1)
    has = jnp.any(D != 0, axis=1)
    exact = jnp.all(jnp.where(has, jnp.abs(rem) <= rtol * scale, True))
    exact = exact & jnp.any(has)
    return jnp.where(exact, quot * valid, D), exact


def evolve_deformed(c, t, c0):
    r"""Coefficients (2L+K+1, L+2K+1) of the deformed-decompressed curve, common factors removed.

    $Q_t = \sum_{ij} c_{ij} z^i m^j \alpha^{i+K-j}\beta_c^{j+L-i}$, a polynomial whose every
    diagonal is a polynomial in $u = zm$; exact factors $\alpha$ and $\beta_c$ (roots
    $u = (1-c_0)/c_0$ and $(1-c)/c$) are divided out, zero-padding the array.
    """
    L, K = c.shape[0] - 1, c.shape[1] - 1
    tau = jnp.exp(t)
    cc = tau * c0
    alpha = jnp.stack([c0 - 1, c0])
    beta = jnp.stack([cc - 1, cc])
    Lq, Kq = 2 * L + K, L + 2 * K
    Q = jnp.zeros((Lq + 1, Kq + 1), dtype=c.dtype)
    for i in range(L + 1):
        for j in range(K + 1):
            g = polymul(_poly_pow(alpha, i + K - j), _poly_pow(beta, j + L - i))
            k = np.arange(K + L + 1)
            Q = Q.at[i + k, j + k].add(c[i, j] * g)
    II, J, valid = _diagonals(Lq, Kq)
    D = Q[II, J] * valid
    # K + L tries at each root (a loop, so the division is traced once)
    roots = jnp.stack([(1 - c0) / c0, (1 - cc) / cc])
    D = jax.lax.fori_loop(0, 2 * (K + L), lambda k, D: _deflate(D, valid, roots[k // (K + L)])[0], D)
    Q = jnp.zeros_like(Q).at[II[valid], J[valid]].set(D[valid])
    return Q / jnp.max(jnp.abs(Q))
