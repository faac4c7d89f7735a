r"""Non-negative least squares $\min\|Ax - b\|$ over $x \ge 0$ in JAX (Lawson–Hanson active set).

The passive-set solve is a QR of $[A P;\ \operatorname{diag}(1 - P)]$ (full column rank), so the final
solve at the converged active set is differentiable in $A$ and $b$. The active-set iterations run on
$R$ and $Q^\top b$ of the reduced QR $A = QR$: $\|Ax - b\|^2 = \|Rx - Q^\top b\|^2 + \|(I - QQ^\top)b\|^2$
for every $x$, so they take the same steps on a $K \times K$ system instead of the $N \times K$ one
(a Lévy–Khintchine design has $N$ in the thousands of rows, $K$ about a hundred columns).
"""

import jax
import jax.numpy as jnp
from jax.scipy.linalg import solve_triangular


def _masked_lstsq(A, b, P):
    """Least squares over the columns in P (others 0), via QR of [A P; diag(1 - P)] (full column rank, differentiable)."""
    K = A.shape[1]
    Pf = P.astype(A.dtype)
    Aa = jnp.concatenate([A * Pf, jnp.diag(1.0 - Pf + 1e-10 * Pf)])
    q, r = jnp.linalg.qr(Aa)
    return solve_triangular(r, q.T @ jnp.concatenate([b, jnp.zeros(K)]))


def nnls(A, b, iters: int):
    r"""$\min\|Ax - b\|$ over $x \ge 0$: Lawson–Hanson active set, then the passive-set least squares
    (differentiable in A and b at a fixed active set)."""
    As, bs = jax.lax.stop_gradient((A, b))
    K = A.shape[1]
    tol = 10 * jnp.finfo(A.dtype).eps * jnp.max(jnp.sum(jnp.abs(As), axis=0)) * max(A.shape)
    if A.shape[0] > K:  # R and Q^T b at once, from the R of [A b] (module docstring)
        r = jnp.linalg.qr(jnp.concatenate([As, bs[:, None]], axis=1), mode="r")
        As, bs = r[:K, :K], r[:K, K]

    def inner(c):
        x, P, s, k = c
        neg = P & (s <= 0)
        alpha = jnp.min(jnp.where(neg, x / jnp.where(neg, x - s, 1.0), jnp.inf))
        x = x + alpha * (s - x)
        P = P & (x > tol)
        return x, P, _masked_lstsq(As, bs, P), k + 1

    def outer(c):
        x, P, w, it = c
        j = jnp.argmax(jnp.where(P, -jnp.inf, w))
        P = P.at[j].set(True)
        x, P, s, _ = jax.lax.while_loop(
            lambda c: jnp.any(c[1] & (c[2] <= 0)) & (c[3] < K), inner, (x, P, _masked_lstsq(As, bs, P), 0)
        )
        x = jnp.where(P, s, 0.0)
        return x, P, As.T @ (bs - As @ x), it + 1

    x0 = jnp.zeros(K)
    _, P, _, _ = jax.lax.while_loop(
        lambda c: jnp.any(~c[1] & (c[2] > tol)) & (c[3] < iters), outer, (x0, jnp.zeros(K, bool), As.T @ bs, 0)
    )
    P = jax.lax.stop_gradient(P)
    return jnp.where(P, jnp.maximum(_masked_lstsq(A, b, P), 0.0), 0.0)  # (max: iteration cap reached mid-step)
