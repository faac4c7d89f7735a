r"""Exact moments of a freely decompressed law (docs/method.md, "Moments under free decompression")."""

import jax.numpy as jnp
import numpy as np

from ._custom_types import Array, ArrayLike, Float, Real
from ._poly import polymul


def evolve_moments(moments: Float[ArrayLike, " K"], t: Real[ArrayLike, ""]) -> Float[Array, " K"]:
    r"""Moments $\mu_0..\mu_K$ at time $t$ from those at $t = 0$ (unit mass; docs/method.md, "Moments under free decompression").

    $\mu_n(t) = \sum_{k=0}^{n-1} a_{n,k}e^{kt}$ with $a_1 = (\mu_1)$,
    $R_{n,k} = \sum_{i=1}^{n-1}(a_i * a_{n-i})_k$, $a_{n,k} = \frac{1 + k/2}{n - 1 - k}R_{n,k}$
    for $k \le n - 2$ and $a_{n,n-1} = \mu_n(0) - \sum_{k<n-1}a_{n,k}$ (free cumulants scale like
    $\kappa_j(t) = e^{(j-1)t}\kappa_j(0)$).
    """
    mu = jnp.asarray(moments, dtype=jnp.float64)
    mu = mu / mu[0]
    K = mu.shape[0] - 1
    t = jnp.asarray(t, dtype=jnp.float64)
    if K == 0:
        return jnp.ones((1,))
    a = {1: mu[1:2]}
    out = [jnp.ones(()), mu[1]]
    for n in range(2, K + 1):
        R = jnp.zeros((n,))
        for i in range(1, n):
            conv = polymul(a[i], a[n - i])
            R = R.at[: conv.shape[0]].add(conv)
        k = np.arange(n - 1)
        head = (1 + k / 2) / (n - 1 - k) * R[: n - 1]
        a[n] = jnp.concatenate([head, (mu[n] - jnp.sum(head))[None]])
        out.append(jnp.sum(a[n] * jnp.exp(np.arange(n) * t)))
    return jnp.stack(out)
