r"""Laurent series of the physical branch at infinity, and the moments it encodes.

With $w = 1/z$ and $m = w\,S(w)$, $S(w) = \sum_k S_k w^k$, the moments are $\mu_k = -S_k$.
Grouping $P(1/w, wS) = \sum_d w^{-d} D_d(S)$ by diagonals $d = i - j$ with
$D_d(\mu) = \sum_j c_{j+d,j}\mu^j$, the top non-zero diagonal $r$ fixes $S_0$ as the root
of $D_r$ reached by Newton from $-1$, and each further order is linear:
$D_r'(S_0) S_k + [w^{k}]\big(\sum_{d \le r} w^{r-d} D_d(S_{<k})\big) = 0$.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np


def _diagonal_table(L: int, K: int):
    ds = np.arange(-K, L + 1)
    rows, cols, src_i, src_j = [], [], [], []
    for a, d in enumerate(ds):
        for j in range(K + 1):
            if 0 <= j + d <= L:
                rows.append(a)
                cols.append(j)
                src_i.append(j + d)
                src_j.append(j)
    return ds, tuple(np.asarray(v) for v in (rows, cols, src_i, src_j))


@functools.partial(jax.jit, static_argnums=1)
def laurent_series(c, n_terms: int):
    """Coefficients S_0..S_{n_terms-1} of m(z) = sum_k S_k z^{-k-1} (physical branch at infinity)."""
    c = jnp.asarray(c, dtype=jnp.float64)
    L, K = c.shape[0] - 1, c.shape[1] - 1
    c = c.at[L, 0].set(0.0)
    # Units: z -> sigma z, m -> m / sigma multiplies c_ij by sigma^(i-j), so the diagonals of a curve
    # in large or small units differ by many decades and a test for a vanishing diagonal relative to
    # the largest coefficient would depend on the units. Balance first: sigma, a power of two (exact),
    # from the least-squares slope of log|c_ij| against i - j; then S_k = sigma^k S_k(balanced).
    c, sigma = _balanced(c)
    ds, (rows, cols, si, sj) = _diagonal_table(L, K)
    D = jnp.zeros((len(ds), K + 1), dtype=c.dtype).at[rows, cols].set(c[si, sj])
    thr = 1e-13 * jnp.max(jnp.abs(c))
    nonzero = jnp.any(jnp.abs(D) > thr, axis=1)
    r_idx = jnp.max(jnp.where(nonzero, jnp.arange(len(ds)), 0))
    r = jnp.asarray(ds)[r_idx]
    Dr = D[r_idx]
    # S_0: the root of D_r nearest -1 (unit mass), by Newton from -1.
    def newton(_, mu):
        val = jnp.polyval(Dr[::-1], mu)
        der = jnp.polyval((Dr[1:] * jnp.arange(1, K + 1))[::-1], mu)
        return mu - jnp.where(der == 0, 0.0, val / jnp.where(der == 0, 1.0, der))

    S0 = jax.lax.fori_loop(0, 30, newton, jnp.asarray(-1.0, c.dtype))
    dDr = jnp.sum(Dr[1:] * jnp.arange(1, K + 1) * S0 ** jnp.arange(K))
    N = n_terms
    dvals = jnp.asarray(ds)

    lower = np.subtract.outer(np.arange(N), np.arange(N))  # i - j

    def body(k, S):
        # truncated products with S as a lower-triangular Toeplitz matrix (no convolutions)
        T = jnp.where(lower >= 0, S[np.clip(lower, 0, N - 1)], 0.0)
        pows = [jnp.zeros(N).at[0].set(1.0)]
        for _ in range(K):
            pows.append(T @ pows[-1])
        P = jnp.stack(pows)  # (K+1, N)
        ser = D @ P  # (n_diag, N): series of D_d(S)
        idx = k - r + dvals
        valid = (dvals <= r) & (idx >= 0)
        E = jnp.sum(jnp.where(valid, ser[jnp.arange(len(ds)), jnp.clip(idx, 0, N - 1)], 0.0))
        return S.at[k].set(-E / dDr)

    S = jnp.zeros(N, dtype=c.dtype).at[0].set(S0)
    S = jax.lax.fori_loop(1, N, body, S)
    return S * sigma ** jnp.arange(N)


def _balanced(c):
    """`(c_ij sigma^(i-j), sigma)` with sigma = 2^round(-slope) from log|c_ij| ~ a + slope (i - j)."""
    i, j = np.indices(c.shape)
    d = jnp.asarray(i - j, dtype=c.dtype)
    nz = jax.lax.stop_gradient(c) != 0
    count = jnp.maximum(jnp.sum(nz), 1)
    logc = jnp.where(nz, jnp.log2(jnp.where(nz, jnp.abs(jax.lax.stop_gradient(c)), 1.0)), 0.0)
    d_mean = jnp.sum(jnp.where(nz, d, 0.0)) / count
    l_mean = jnp.sum(logc) / count
    var = jnp.sum(jnp.where(nz, (d - d_mean) ** 2, 0.0))
    cov = jnp.sum(jnp.where(nz, (d - d_mean) * (logc - l_mean), 0.0))
    k = jnp.round(-jnp.where(var > 0, cov / jnp.where(var > 0, var, 1.0), 0.0))
    k = jnp.clip(jnp.where(jnp.isfinite(k), k, 0.0), -300.0, 300.0)
    return c * jnp.exp2(k * d), jnp.exp2(k)


def spectral_radius(S):
    r"""Root-test estimate $\max_{1 \le j} |S_j/S_0|^{1/j}$ of the largest $|x|$ in the support."""
    j = jnp.arange(1, S.shape[0])
    ratios = jnp.abs(S[1:] / S[0]) ** (1.0 / j)
    return jnp.max(jnp.where(jnp.isfinite(ratios), ratios, 0.0))


def series_eval(S, z):
    """Truncated series m(z) ~ sum_k S_k z^{-k-1} (valid for |z| well beyond the support)."""
    w = 1.0 / z
    acc = jnp.zeros_like(w)
    for k in range(S.shape[0] - 1, -1, -1):
        acc = acc * w + S[k]
    return acc * w


def spectral_frame(c):
    """Centre (mean) and width (standard deviation) of the curve's law at n0 (no gradient)."""
    S = laurent_series(jax.lax.stop_gradient(c), 3)
    mu0, mu1, mu2 = -S[0], -S[1], -S[2]
    mean = mu1 / mu0
    var = mu2 / mu0 - mean**2
    ok = jnp.isfinite(mean) & jnp.isfinite(var) & (var > 0)
    return jnp.where(ok, mean, 0.0), jnp.where(ok, jnp.sqrt(jnp.abs(var)), 1.0), ok
