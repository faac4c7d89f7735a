r"""Non-negative least squares $\min\|Ax - b\|$ over $x \ge 0$ in JAX (Lawson–Hanson active set).

The active-set iterations run on $R$ and $Q^\top b$ of the reduced QR $A = QR$:
$\|Ax - b\|^2 = \|Rx - Q^\top b\|^2 + \|(I - QQ^\top)b\|^2$ for every $x$, so they take the same steps on a
$K \times K$ system instead of the $N \times K$ one (a Lévy–Khintchine design has $N$ in the thousands of
rows, $K$ about a hundred columns).

They keep a triangular factor of the passive columns and update it as the passive set changes, instead
of factoring it afresh at every step. The columns of $R$ are kept in an order $\pi$ with the $p$ passive
columns first, together with $T = H R_\pi$ and $d = H Q^\top b$, $H$ the product of the Householder
reflections applied so far, such that $T$'s first $p$ columns are upper triangular. The passive least
squares is then the triangular solve $T_{:p,:p}\,x = d_{:p}$.
- A column entering the passive set moves to slot $p$; one reflection on rows $\ge p$ zeroes it below
  the diagonal. The columns before it are zero there and do not change. A column enters only if its
  $w_j = a_j^\top r$ exceeds a tolerance of $10\,\varepsilon\max(N, K)$ times the largest column sum,
  while a column in the span of the passive ones has $w_j = 0$ up to rounding far below it (the residual
  of the passive least squares is orthogonal to that span), so the factor stays non-singular.
- Columns leaving it are dropped from the order, the others keeping theirs; the columns after the first
  one dropped have gained entries below the diagonal, and one reflection per column clears them again.

Each step costs $O(K^2)$ per reflection instead of a QR's $O(K^3)$.

The derivative is the implicit function theorem at the converged active set $\mathcal P$: there
$x_{\mathcal P}$ solves $A_{\mathcal P}^\top A_{\mathcal P}\,x_{\mathcal P} = A_{\mathcal P}^\top b$, so
$$A_{\mathcal P}^\top A_{\mathcal P}\,\dot x_{\mathcal P} = \dot A_{\mathcal P}^\top r + A_{\mathcal P}^\top(\dot b - \dot A_{\mathcal P}\,x_{\mathcal P}),
\qquad r = b - A x,$$
and $\dot x = 0$ off $\mathcal P$. The matrix on the left is $U^\top U$, $U = T_{:p,:p}$ (an R factor of
$A_{\mathcal P}$), so the tangent costs two triangular solves.
"""

import functools

import jax
import jax.numpy as jnp
from jax.scipy.linalg import solve_triangular


def _reflect(T, d, k):
    """Apply the Householder reflection on rows >= k that zeroes column k of T below its diagonal (to T and d)."""
    rows = jnp.arange(T.shape[0])
    v = jnp.where(rows >= k, T[:, k], 0.0)
    norm = jnp.linalg.norm(v)
    alpha = -jnp.where(v[k] >= 0, 1.0, -1.0) * norm
    u = v.at[k].add(-alpha)
    uu = jnp.sum(u * u)
    scale = jnp.where(uu > 0, 2.0 / jnp.where(uu > 0, uu, 1.0), 0.0)
    T = T - scale * u[:, None] * (u @ T)[None, :]
    d = d - scale * u * (u @ d)
    return T.at[:, k].set(jnp.where(rows > k, 0.0, T[:, k])), d


def _triangularise(T, d, start, stop):
    """Reflections for slots start, ..., stop - 1, in order."""
    return jax.lax.fori_loop(start, stop, lambda k, c: _reflect(c[0], c[1], k), (T, d))


def _factor(T, p):
    """$T_{:p,:p}$, completed by the identity to $K \\times K$ (upper triangular)."""
    K = T.shape[1]
    lead = jnp.arange(K) < p
    return jnp.where(lead[:, None] & lead[None, :], T[:K], jnp.eye(K))


def _passive_solve(T, d, order, p):
    """The passive least squares $T_{:p,:p}\\,z = d_{:p}$, scattered back from slots to columns."""
    K = T.shape[1]
    z = solve_triangular(_factor(T, p), jnp.where(jnp.arange(K) < p, d[:K], 0.0))
    return jnp.zeros(K).at[order].set(z)


@functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
def nnls(A, b, iters: int):
    r"""$\min\|Ax - b\|$ over $x \ge 0$: Lawson–Hanson active set on an updated factorisation, at most
    `iters` columns entering; differentiable in A and b at the converged active set (module docstring)."""
    return _active_set(A, b, iters)[0]


@nnls.defjvp
def _nnls_jvp(iters, primals, tangents):
    A, b = primals
    dA, db = tangents
    x, (T, order, p) = _active_set(A, b, iters)
    lead = jnp.arange(A.shape[1]) < p
    v = dA.T @ (b - A @ x) + A.T @ (db - dA @ x)
    U = _factor(T, p)
    z = solve_triangular(U, solve_triangular(U, jnp.where(lead, v[order], 0.0), trans="T"))
    return x, jnp.where(lead, z, 0.0)[jnp.argsort(order)]  # slots back to columns


def _active_set(A, b, iters: int):
    """The solution and the factor of its passive set: `(x, (T, order, p))` (module docstring)."""
    As, bs = A, b
    K = A.shape[1]
    tol = 10 * jnp.finfo(A.dtype).eps * jnp.max(jnp.sum(jnp.abs(As), axis=0)) * max(A.shape)
    if A.shape[0] > K:  # R and Q^T b at once, from the R of [A b] (module docstring)
        r = jnp.linalg.qr(jnp.concatenate([As, bs[:, None]], axis=1), mode="r")
        As, bs = r[:K, :K], r[:K, K]
    slots = jnp.arange(K)

    def drop(state, keep):
        """Drop the passive columns not in `keep` (by column); the rest keep their order."""
        T, d, order, p, x = state
        kept = (slots < p) & keep[order]
        perm = jnp.argsort(jnp.where(kept, 0, 1), stable=True)
        first = jnp.min(jnp.where((slots < p) & ~kept, slots, K))
        p_new = jnp.sum(kept)
        T, d = _triangularise(T[:, perm], d, first, p_new)
        return T, d, order[perm], p_new, x

    def inner(c):
        state, s, k = c
        T, d, order, p, x = state
        P = jnp.zeros(K, bool).at[order].set(slots < p)
        neg = P & (s <= 0)
        alpha = jnp.min(jnp.where(neg, x / jnp.where(neg, x - s, 1.0), jnp.inf))
        x = x + alpha * (s - x)
        T, d, order, p, x = drop((T, d, order, p, x), P & (x > tol))
        return (T, d, order, p, x), _passive_solve(T, d, order, p), k + 1

    def passive(state):
        T, d, order, p, x = state
        return jnp.zeros(K, bool).at[order].set(slots < p)

    def outer(c):
        state, w, it = c
        T, d, order, p, x = state
        j = jnp.argmax(jnp.where(passive(state), -jnp.inf, w))
        at = jnp.argmax(order == j)  # j's slot, moved to slot p
        perm = slots.at[p].set(at).at[at].set(p)
        T, d = _reflect(T[:, perm], d, p)
        state = (T, d, order[perm], p + 1, x)
        state, s, _ = jax.lax.while_loop(
            lambda c: jnp.any(passive(c[0]) & (c[1] <= 0)) & (c[2] < K), inner, (state, _passive_solve(*state[:4]), 0)
        )
        x = jnp.where(passive(state), s, 0.0)
        return (*state[:4], x), As.T @ (bs - As @ x), it + 1

    T0 = jnp.concatenate([As, jnp.zeros((max(K - As.shape[0], 0), K))])
    d0 = jnp.concatenate([bs, jnp.zeros(max(K - As.shape[0], 0))])
    state0 = (T0, d0, slots, jnp.asarray(0), jnp.zeros(K))
    state, _, _ = jax.lax.while_loop(
        lambda c: jnp.any(~passive(c[0]) & (c[1] > tol)) & (c[2] < iters), outer, (state0, As.T @ bs, 0)
    )
    T, d, order, p, _ = state
    x = jnp.maximum(_passive_solve(T, d, order, p), 0.0)  # (max: iteration cap reached mid-step)
    return x, (T, order, p)
