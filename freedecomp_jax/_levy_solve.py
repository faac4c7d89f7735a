r"""Solving $z(m) = z$ for a [`LevyKhintchine`][] law at $z = x + i\eta$: per point, a geometric ladder of heights from far
above the spectrum down to $\eta$; at each level Newton on $f(m) = z(m) - z$ when the step
stays in the upper half plane and lowers $|f|$, otherwise the fixed-point step
$m \leftarrow 1/(a - z - s\,m + \sum_k r_k x_k/(1 + x_k m))$, a contraction of the upper
half plane. A level above the last stops once no point has more than $10^{-6}$ (relative) left to
move, enough to carry it into the next level's basin (after a Newton step, what is left is the next
Newton step $|f/f'|$, known from the acceptance test's evaluation: no extra step just to see that
nothing moves); the last at $10^{-12}$, then Newton at the exact height. The grid runs through the
ladder in chunks of 256 consecutive points, each chunk stopping its levels on its own: points far
from the support converge in a step or two and no longer wait for the slowest point of the whole
grid (the 4096-point log grid of a 745-scale profile law: 10.5 s → 5.9 s, values equal to 1e-14;
chunks of 128 were slower than 256, `benchmarks/RESULTS.md`). Gradients use the implicit function
theorem (one value-neutral Newton step at the solution), never the ladder.

With a diagonal profile (`_levy.py`) the same ladder solves the scalar fixed point in $e$.
"""

from functools import partial

import jax
import jax.numpy as jnp

_FINAL = 1e-10  # height of the last level of the ladder, relative to |x|
_LEVELS = 80
_ITERS = 12  # at most, per level: a level stops once no point has more than its tolerance (relative) left to move
_STEP_TOL = 1e-12  # the last level: the answer
_LADDER_TOL = 1e-6  # the levels above it only carry each point to the next level, inside its basin


def _iterate(step, m, tol):
    """Up to `_ITERS` steps of `step` (new points and the distance each has left to go: after a Newton
    step, the next Newton step's length $|f/f'|$; after a fixed-point step, its own length), stopping
    once no point has more than `tol` (relative) left. No derivatives flow through it (the solves differentiate by the implicit function theorem), so `while_loop` is safe."""

    def cond(carry):
        i, _, change = carry
        return (i < _ITERS) & (change > tol)

    def body(carry):
        i, m, _ = carry
        mn, left = step(i, m)
        left = jnp.where(jnp.isfinite(left), left, jnp.abs(mn - m))
        return i + 1, mn, jnp.max(left / jnp.maximum(jnp.abs(mn), 1e-300))

    return jax.lax.while_loop(cond, body, (0, m, jnp.asarray(jnp.inf)))[1]


_CHUNK = 256  # points per chunk of the ladder (module docstring)


def _by_chunks(ladder, *arrays):
    """`ladder` on consecutive chunks of `_CHUNK` points (the last padded with copies of its last
    point), one chunk after another: a chunk's levels stop when its own points have converged."""
    size = arrays[0].shape[0]
    if size <= _CHUNK:
        return ladder(*arrays)
    pad = -size % _CHUNK
    blocks = [jnp.concatenate([a, jnp.broadcast_to(a[-1:], (pad,))]).reshape(-1, _CHUNK) for a in arrays]
    return jax.lax.map(lambda b: ladder(*b), tuple(blocks)).reshape(-1)[:size]


def _scale(law):
    """A size of the law's support: the largest jump times its weight, the semicircle and the drift."""
    return jnp.max(jnp.abs(law.jumps)) * jnp.maximum(jnp.sum(law.rates), 1.0) + jnp.sqrt(law.variance) + jnp.abs(law.drift)


def _reciprocal(w):
    r"""$1/w = \bar w/|w|^2$, elementwise: 1.5x faster than XLA's complex division, which guards against
    overflow of $|w|^2$ (here $|w|$ stays far inside $10^{\pm 150}$: a spectrum's scales and heights)."""
    u, v = jnp.real(w), jnp.imag(w)
    q = 1 / (u * u + v * v)
    return jax.lax.complex(u * q, -v * q)


def _f(law, m, z):
    """$z(m) - z$ and its derivative in m."""
    t = law.jumps * _reciprocal(1 + law.jumps * m[..., None])
    f = law.drift - law.variance * m - 1 / m + jnp.sum(law.rates * t, axis=-1) - z
    fp = -law.variance + 1 / m**2 - jnp.sum(law.rates * t * t, axis=-1)
    return f, fp


def _solve(law, x, eta):
    """(m, relative residual) at z = x + i eta (eta >= 0, elementwise; 0 is the limit from above)."""
    if law.scales is None:
        m = _solve_plain(law, x, eta)
        f, _ = _f(law, m, x + 1j * eta)
        return m, jnp.abs(f) / (jnp.abs(x) + _scale(law) * 1e-12)
    return _solve_scaled(law, x, eta)


def _solve_plain(law, x, eta):
    """m by the height ladder down to max(eta, 1e-10 |x|), then Newton at the exact height;
    differentiable by the IFT."""
    stopped = jax.lax.stop_gradient(law)
    xs, eta_s = jax.lax.stop_gradient((x, eta))
    top = 10.0 * (_scale(stopped) + jnp.abs(xs))
    lt, lb = jnp.log(top), jnp.log(jnp.maximum(eta_s, _FINAL * (jnp.abs(xs) + 1e-12 * _scale(stopped))))

    def level(k, m, lt, lb, xs):
        z = xs + 1j * jnp.exp(lt + (lb - lt) * k / (_LEVELS - 1))

        def step(_, m):
            f, fp = _f(stopped, m, z)
            mn = m - f / fp
            fn, fpn = _f(stopped, mn, z)
            fixed = 1 / (f + 1 / m)  # 1/(a - z - s m + sum): the same equation solved for m
            ok = (jnp.imag(mn) > 0) & jnp.isfinite(mn) & (jnp.abs(fn) < jnp.abs(f))
            return jnp.where(ok, mn, fixed), jnp.where(ok, jnp.abs(fn / fpn), jnp.abs(fixed - m))

        return _iterate(step, m, jnp.where(k == _LEVELS - 1, _STEP_TOL, _LADDER_TOL))

    m = _by_chunks(lambda lt, lb, xs, m: jax.lax.fori_loop(0, _LEVELS, partial(level, lt=lt, lb=lb, xs=xs), m), lt, lb, xs, -1 / (xs + 1j * top))
    z = x + 1j * eta

    def polish(_, m):  # at the exact height: on the real axis the root is real outside the support
        f, fp = _f(stopped, m, z)
        mn = m - f / fp
        fn, _ = _f(stopped, mn, z)
        ok = jnp.isfinite(mn) & (jnp.abs(fn) < jnp.abs(f)) & (jnp.imag(mn) > -1e-6 * jnp.abs(mn))
        mn = jnp.where(ok, mn, m)
        return jax.lax.complex(jnp.real(mn), jnp.maximum(jnp.imag(mn), 0.0))

    m = jax.lax.stop_gradient(jax.lax.fori_loop(0, _ITERS, polish, m))
    f, fp = _f(law, m, z)
    delta = -f / jnp.where(fp == 0, 1.0, fp)
    return m + delta - jax.lax.stop_gradient(delta)


def _phi(law, e):
    r"""$\Phi(e) = a - s e + \sum_k r_kx_k/(1 + x_ke)$ and $\Phi'(e)$."""
    t = law.jumps * _reciprocal(1 + law.jumps * e[..., None])
    return law.drift - law.variance * e + jnp.sum(law.rates * t, axis=-1), -law.variance - jnp.sum(law.rates * t * t, axis=-1)


def _g(law, e, z):
    r"""$f(e) = e - \langle d/(d\Phi(e) - z)\rangle$, $f'(e)$, the fixed-point image and $m$."""
    d = law.scales
    phi, dphi = _phi(law, e)
    r = _reciprocal(d * phi[..., None] - z[..., None])  # one division per scale: the inner loop of every solve
    dr = d * r
    image = jnp.mean(dr, axis=-1)
    fp = 1 + dphi * jnp.mean(dr * dr, axis=-1)
    return e - image, fp, image, jnp.mean(r, axis=-1)


def _solve_scaled(law, x, eta):
    """The ladder of `_solve_plain` for e (a Stieltjes transform too: Im e > 0), then m from e."""
    stopped = jax.lax.stop_gradient(law)
    xs, eta_s = jax.lax.stop_gradient((x, eta))
    d = stopped.scales
    size = _scale(stopped) * jnp.max(d)
    top = 10.0 * (size + jnp.abs(xs))
    lt, lb = jnp.log(top), jnp.log(jnp.maximum(eta_s, _FINAL * (jnp.abs(xs) + 1e-12 * size)))

    def level(k, e, lt, lb, xs):
        z = xs + 1j * jnp.exp(lt + (lb - lt) * k / (_LEVELS - 1))

        def step(_, e):
            f, fp, image, _ = _g(stopped, e, z)
            en = e - f / fp
            fn, fpn, _, _ = _g(stopped, en, z)
            ok = (jnp.imag(en) > 0) & jnp.isfinite(en) & (jnp.abs(fn) < jnp.abs(f))
            return jnp.where(ok, en, image), jnp.where(ok, jnp.abs(fn / fpn), jnp.abs(image - e))

        return _iterate(step, e, jnp.where(k == _LEVELS - 1, _STEP_TOL, _LADDER_TOL))

    e = _by_chunks(lambda lt, lb, xs, e: jax.lax.fori_loop(0, _LEVELS, partial(level, lt=lt, lb=lb, xs=xs), e), lt, lb, xs, -jnp.mean(d) / (xs + 1j * top))
    z = x + 1j * eta

    def polish(_, e):
        f, fp, _, _ = _g(stopped, e, z)
        en = e - f / fp
        fn, _, _, _ = _g(stopped, en, z)
        ok = jnp.isfinite(en) & (jnp.abs(fn) < jnp.abs(f)) & (jnp.imag(en) > -1e-6 * jnp.abs(en))
        en = jnp.where(ok, en, e)
        return jax.lax.complex(jnp.real(en), jnp.maximum(jnp.imag(en), 0.0))

    e = jax.lax.stop_gradient(jax.lax.fori_loop(0, _ITERS, polish, e))
    f, fp, _, _ = _g(law, e, z)
    delta = -f / jnp.where(fp == 0, 1.0, fp)
    e = e + delta - jax.lax.stop_gradient(delta)
    _, _, _, m = _g(law, e, z)
    return m, jax.lax.stop_gradient(jnp.abs(f) / jnp.maximum(jnp.abs(e), 1e-300))
