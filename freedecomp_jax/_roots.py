r"""Batched polynomial roots on any backend: Aberth–Ehrlich with a Newton-polygon start.

`jnp.roots` / `eigvals` run unbatched (and on CPU only) for non-symmetric matrices; this
solver is pure `jnp`, fixed-shape and `vmap`-able, so thousands of polynomials are solved
at once on a GPU.
"""

import functools
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._custom_types import Array, ArrayLike, Bool, Complex, Float, Num


class Roots(NamedTuple):
    r"""Roots of one polynomial with their quality.

    - `roots`: the K roots (a root "at infinity" of a vanishing leading coefficient comes
      back as a huge finite number).
    - `backward_error`: $|p(r)| / \sum_j |a_j| |r|^j$ for each root.
    - `converged`: every backward error is below the solver's tolerance.
    """

    roots: Complex[Array, " K"]
    backward_error: Float[Array, " K"]
    converged: Bool[Array, ""]


class Aberth(eqx.Module):
    """Aberth–Ehrlich simultaneous iteration (cubic convergence) + Newton polish.

    - `max_steps`: iteration budget (static).
    - `rtol`: backward-error tolerance for convergence.
    - `polish`: number of final Newton steps per root.
    """

    max_steps: int = eqx.field(static=True, default=200)
    rtol: float = eqx.field(static=True, default=1e-13)
    polish: int = eqx.field(static=True, default=2)


def _eval_ratio(a, z):
    r"""Newton correction p/p' and the backward error at z, evaluated stably.

    For |z| <= 1 Horner in z; for |z| > 1 via the reversed polynomial in w = 1/z:
    p(z) = z^K q(w), p/p' = z q / (K q - w q').
    """
    K = a.shape[0] - 1
    absz = jnp.abs(z)
    inside = absz <= 1
    zi = jnp.where(inside, z, 1.0)
    w = jnp.where(inside, 1.0, 1.0 / z)
    # forward (in z)
    p = jnp.zeros_like(z)
    dp = jnp.zeros_like(z)
    s = jnp.zeros_like(absz)
    for j in range(K, -1, -1):
        dp = dp * zi + p
        p = p * zi + a[j]
        s = s * jnp.abs(zi) + jnp.abs(a[j])
    # reversed (in w = 1/z)
    q = jnp.zeros_like(z)
    dq = jnp.zeros_like(z)
    sq = jnp.zeros_like(absz)
    for j in range(K + 1):
        dq = dq * w + q
        q = q * w + a[j]
        sq = sq * jnp.abs(w) + jnp.abs(a[j])
    tiny = jnp.finfo(absz.dtype).tiny
    ratio_in = p / jnp.where(dp == 0, tiny, dp)
    den = K * q - w * dq
    ratio_out = z * q / jnp.where(den == 0, tiny, den)
    ratio = jnp.where(inside, ratio_in, ratio_out)
    berr = jnp.where(inside, jnp.abs(p) / jnp.maximum(s, tiny), jnp.abs(q) / jnp.maximum(sq, tiny))
    return ratio, berr


def _initial_guess(a):
    """Start points on circles from the upper convex hull of (j, log|a_j|) (Bini's start)."""
    K = a.shape[0] - 1
    mags = jnp.abs(a)
    floor = jnp.max(mags) * 1e-300 + jnp.finfo(mags.dtype).tiny
    la = jnp.log(jnp.maximum(mags, floor))
    idx = np.arange(K + 1)
    # j is a hull vertex iff it is not strictly below any chord (i, k) with i < j < k.
    i3, j3, k3 = np.meshgrid(idx, idx, idx, indexing="ij")
    between = (i3 < j3) & (j3 < k3)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(between, (j3 - i3) / np.where(k3 > i3, k3 - i3, 1), 0.0)
    chord = la[i3] + (la[k3] - la[i3]) * frac
    below = between & (la[j3] < chord - 1e-12)
    vertex = ~jnp.any(below, axis=(0, 2))
    vertex = vertex.at[0].set(True).at[K].set(True)
    slots = np.arange(K)
    prev_v = jnp.max(jnp.where(vertex[None, :] & (idx[None, :] <= slots[:, None]), idx[None, :], -1), axis=1)
    next_v = jnp.min(jnp.where(vertex[None, :] & (idx[None, :] > slots[:, None]), idx[None, :], K + 1), axis=1)
    log_r = (la[prev_v] - la[next_v]) / (next_v - prev_v)
    radius = jnp.exp(jnp.clip(log_r, -690.0, 690.0))
    angle = 2 * jnp.pi * slots / K + 0.4 + 0.7 * prev_v / (K + 1)
    return radius * jnp.exp(1j * angle)


@eqx.filter_jit
def polyroots(a: Num[ArrayLike, "..."], solver: Aberth = Aberth()) -> Roots:
    r"""All K roots of $p(x) = \sum_{j=0}^{K} a_j x^j$ (ascending coefficients).

    Aberth–Ehrlich: with $w_k = p(x_k)/p'(x_k)$,
    $x_k \leftarrow x_k - w_k / (1 - w_k \sum_{l \ne k} (x_k - x_l)^{-1})$,
    started on the Newton-polygon circles, iterated until every backward error is below
    `solver.rtol` (or the budget runs out), then polished by Newton steps. Works under
    `jit` and `vmap`; roots of a batch of polynomials: `jax.vmap(polyroots)(A)`.

    **Arguments:**

    - `a`: complex or real array `(K+1,)`, `a[j]` multiplies $x^j$; `K >= 1`.
    - `solver`: an [`Aberth`][] instance (iteration budget and tolerance).

    Differentiable: a simple root moves by $dr = -\sum_j da_j r^j / p'(r)$.

    **Returns:** a [`Roots`][] tuple `(roots, backward_error, converged)`.
    """
    a = jnp.asarray(a)
    if a.ndim != 1 or a.shape[0] < 2:
        raise ValueError(f"polyroots needs a 1-D coefficient array of length >= 2; got shape {a.shape}.")
    return _polyroots(a.astype(jnp.complex128), solver)


@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def _polyroots(a, solver: Aberth) -> Roots:
    K = a.shape[0] - 1
    scale = jnp.max(jnp.abs(a))
    a = a / jnp.where(scale == 0, 1.0, scale)
    # A vanishing leading coefficient puts roots at infinity: keep them finite and huge.
    lead_floor = 1e-280
    a = a.at[K].set(jnp.where(jnp.abs(a[K]) < lead_floor, lead_floor, a[K]))
    if K == 1:
        r = -a[:1] / a[1]
        _, berr = _eval_ratio(a, r)
        return Roots(r, berr, jnp.all(berr <= solver.rtol))

    x0 = _initial_guess(a)
    eye = jnp.eye(K, dtype=bool)

    def aberth_step(x):
        ratio, berr = _eval_ratio(a, x)
        diff = x[:, None] - x[None, :]
        inv = jnp.where(eye, 0.0, 1.0 / jnp.where(eye, 1.0, diff))
        s = jnp.sum(inv, axis=1)
        step = ratio / (1 - ratio * s)
        done = berr <= solver.rtol
        return jnp.where(done, x, x - step), berr

    def cond(state):
        k, _, berr = state
        return (k < solver.max_steps) & ~jnp.all(berr <= solver.rtol)

    def body(state):
        k, x, _ = state
        x, berr = aberth_step(x)
        return k + 1, x, berr

    _, berr0 = _eval_ratio(a, x0)
    _, x, _ = jax.lax.while_loop(cond, body, (0, x0, berr0))
    for _ in range(solver.polish):
        ratio, berr = _eval_ratio(a, x)
        x_new = x - ratio
        _, berr_new = _eval_ratio(a, x_new)
        x = jnp.where(berr_new < berr, x_new, x)
    _, berr = _eval_ratio(a, x)
    return Roots(x, berr, jnp.all(berr <= 1e3 * solver.rtol))


@_polyroots.defjvp
def _polyroots_jvp(solver, primals, tangents):
    (a,), (da,) = primals, tangents
    out = _polyroots(a, solver)
    r = out.roots
    K = a.shape[0] - 1
    dp = jnp.polyval((a[1:] * jnp.arange(1, K + 1))[::-1], r)
    dr = -jnp.polyval(da[::-1], r) / jnp.where(dp == 0, jnp.inf, dp)
    zeros = jax.tree.map(jnp.zeros_like, (out.backward_error,))[0]
    return out, Roots(dr, zeros, np.zeros((), dtype=jax.dtypes.float0))  # pyright: ignore[reportArgumentType]  (float0 tangent)
