r"""The physical branch $m(z)$ of a spectral curve: seed at a tall point, continue vertically.

For a query $z = x + iy$ ($y \ge 0$; $y < 0$ by Schwarz reflection $m(\bar z) = \overline{m(z)}$):

1. **Seed** at $x + iY$ with $Y = $ `seed_factor` $\cdot R$, $R$ the root-test radius of the
   curve's Laurent series at infinity. There the series converges geometrically, so Newton
   on $P(x+iY, \cdot)$ started from the truncated series lands on the physical root (if it
   lands more than $10^{-3}$ away, the seed is flagged ambiguous).
2. **Continue** down in $s = \log y$ to the floor $y_f = $ `floor_rel`$\cdot(|x| + 10^{-6}R)$
   (or to $y$ itself if higher): Heun predictor with $dm/ds = i y\, m'(z)$,
   $m' = -P_z/P_m$, Newton corrector on $P(z, \cdot) = 0$; a step is accepted when Newton
   converged, the corrector stayed close to the predictor (no sheet jump), and
   $\operatorname{Im} m \ge 0$ (Herglotz); otherwise the step is halved. Every query point is
   an independent lane (`vmap` of a `lax.while_loop`).
3. **Finish** with Newton steps at the exact query point (real $z$ included: the Plemelj
   limit $m(x + i0)$ is itself a root of $P(x, \cdot)$, so no $\delta$-extrapolation is
   needed), kept only if they converge to a nearby root.

Gradients never go through the loops: $m$ solves $P(z, m; c) = 0$, so
$dm = -(P_{dc}(z, m) + P_z\,dz)/P_m$ (implicit function theorem, a `custom_jvp`).
"""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._poly import polyval2
from ._results import RESULTS, full, where
from ._series import laurent_series, series_eval, spectral_radius

# Per-point codes of the tracker (internal; public functions report them as RESULTS).
OK = 0
SEED_AMBIGUOUS = 1
STEP_FAILED = 2
HERGLOTZ_VIOLATED = 3
NOT_CONVERGED = 4



class BranchTracker(eqx.Module):
    """How the physical branch is found (defaults work for any curve; all scales relative).

    - `series_terms`: terms of the Laurent series used for the seed and the radius $R$.
    - `seed_factor`: seed height $Y$ in units of $R$.
    - `floor_rel`: lowest continuation height relative to $|x| + 10^{-6}R$.
    - `max_steps`: budget of continuation steps per point.
    - `newton_steps`: Newton corrector iterations per step.
    - `max_log_step`: largest step in $\\log y$.
    """

    series_terms: int = eqx.field(static=True, default=24)
    seed_factor: float = eqx.field(static=True, default=4.0)
    floor_rel: float = eqx.field(static=True, default=1e-10)
    max_steps: int = eqx.field(static=True, default=400)
    newton_steps: int = eqx.field(static=True, default=5)
    max_log_step: float = eqx.field(static=True, default=1.0)


def _newton(c, z, m, steps: int, unroll: bool = False):
    r"""Fixed Newton iterations on P(z, .) = 0. `unroll=True` (the continuation's corrector, run at every
    step) traces them unrolled, so XLA fuses them into one pass over the lanes instead of a loop whose
    every iteration reads and writes each lane's state (a batch of 256 spectra: 1.2x faster).

    Returns the root, the size of the last step and the relative backward error
    $|P| / \sum_{ij} |c_{ij}||z|^i|m|^j$ (converged means either is at round-off level).
    """

    def body(_, state):
        m, _ = state
        p = polyval2(c, z, m)
        pm = polyval2(c, z, m, 0, 1)
        step = p / jnp.where(pm == 0, 1e-300, pm)
        step = jnp.where(jnp.isfinite(step), step, 0.0)
        return m - step, jnp.abs(step)

    m, last = jax.lax.fori_loop(0, steps, body, (m, jnp.zeros_like(jnp.abs(m))), unroll=unroll)
    resid = jnp.abs(polyval2(c, z, m)) / (polyval2(jnp.abs(c), jnp.abs(z), jnp.abs(m)) + 1e-300)
    return m, last, resid


def _dm_ds(c, z, y, m):
    """dm/ds along z = x + i e^s: i y m'(z), m' = -P_z/P_m."""
    pz = polyval2(c, z, m, 1, 0)
    pm = polyval2(c, z, m, 0, 1)
    return 1j * y * (-pz / jnp.where(pm == 0, 1e-300, pm))


def _seed(c, x, Y, S):
    """Newton on P(x + iY, .) from the Laurent series; ambiguous if it lands elsewhere."""
    zs = x + 1j * Y
    target = series_eval(S, zs)
    m0, _, resid = _newton(c, zs, target, 8)
    ambiguous = (jnp.abs(m0 - target) > 1e-3 * jnp.abs(target)) | (resid > 1e-10)
    return m0, ambiguous


def _track_point(c, z, S, R, tracker: BranchTracker):
    """Physical branch at one point z with Im z >= 0. Returns (m, status)."""
    x = jnp.real(z)
    y = jnp.imag(z)
    floor = tracker.floor_rel * (jnp.abs(x) + 1e-6 * R)
    y_end = jnp.maximum(y, floor)
    Y = jnp.maximum(tracker.seed_factor * R, 2.0 * y_end)
    m0, ambiguous = _seed(c, x, Y, S)
    s_end = jnp.log(y_end)

    def cond(state):
        k, s, m, h, failed = state
        return (s > s_end) & (k < tracker.max_steps) & ~failed

    def body(state):
        k, s, m, h, failed = state
        h_try = jnp.maximum(h, s_end - s)  # h < 0
        y0 = jnp.exp(s)
        z0 = x + 1j * y0
        s1 = jnp.where(h_try == s_end - s, s_end, s + h_try)  # land exactly on the target height
        y1 = jnp.exp(s1)
        z1 = x + 1j * y1
        f0 = _dm_ds(c, z0, y0, m)
        m_euler = m + h_try * f0
        m_pred = m + 0.5 * h_try * (f0 + _dm_ds(c, z1, y1, m_euler))
        m_corr, last, resid = _newton(c, z1, m_pred, tracker.newton_steps, unroll=True)
        move = jnp.abs(m_corr - m)
        err = jnp.abs(m_corr - m_pred)
        scale = jnp.abs(m_corr) + jnp.abs(m)
        converged = (last <= 1e-9 * scale) | (resid <= 1e-13)
        # attainable accuracy of a root of P(z1, .) in double precision: eps * sum|terms| / |P_m|
        noise = 1e3 * jnp.finfo(jnp.float64).eps * polyval2(jnp.abs(c), jnp.abs(z1), jnp.abs(m_corr))
        noise = noise / (jnp.abs(polyval2(c, z1, m_corr, 0, 1)) + 1e-300) + 1e-14 * scale
        close = err <= 0.1 * move + noise
        herglotz = jnp.imag(m_corr) >= -1e-12 * scale
        ok = converged & close & herglotz & jnp.isfinite(m_corr)
        s_new = jnp.where(ok, s1, s)
        m_new = jnp.where(ok, m_corr, m)
        grow = jnp.where(err <= 0.01 * move + noise, 2.0, 1.25)
        h_new = jnp.where(ok, jnp.maximum(h_try * grow, -tracker.max_log_step), h_try / 2)
        failed = jnp.abs(h_new) < 1e-10
        return k + 1, s_new, m_new, h_new, failed

    state = (0, jnp.log(Y), m0, jnp.asarray(-0.5), jnp.asarray(False))
    k, s, m, h, failed = jax.lax.while_loop(cond, body, state)
    step_failed = failed | (s > s_end + 1e-12)
    # finish exactly at the query point (real z included)
    m_fin, last, resid = _newton(c, z, m, tracker.newton_steps + 3)
    scale = jnp.abs(m_fin) + jnp.abs(m)
    fin_ok = ((last <= 1e-8 * scale) | (resid <= 1e-13)) & (jnp.abs(m_fin - m) <= 0.1 * jnp.abs(m) + 1e-300) & jnp.isfinite(m_fin)
    fin_ok = fin_ok & (jnp.imag(m_fin) >= -1e-10 * scale)
    m_out = jnp.where(fin_ok, m_fin, m)
    status = jnp.where(ambiguous, SEED_AMBIGUOUS, OK)
    status = jnp.where(step_failed, STEP_FAILED, status)
    status = jnp.where((status == OK) & (jnp.imag(m_out) < -1e-8 * jnp.abs(m_out)), HERGLOTZ_VIOLATED, status)
    status = jnp.where((status == OK) & ~fin_ok & (y < floor), NOT_CONVERGED, status)
    return m_out, status


@functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
def _branch(c, z, tracker: BranchTracker):
    c = jax.lax.stop_gradient(c)
    z = jax.lax.stop_gradient(z)
    S = laurent_series(c, tracker.series_terms)
    R = spectral_radius(S)
    R = jnp.where(R > 0, R, 1.0)
    zc = jnp.asarray(z, dtype=jnp.complex128)
    flip = jnp.imag(zc) < 0
    zu = jnp.where(flip, jnp.conj(zc), zc)
    flat = zu.reshape(-1)
    m, status = jax.vmap(lambda zz: _track_point(c, zz, S, R, tracker))(flat)
    m = m.reshape(zu.shape)
    m = jnp.where(flip, jnp.conj(m), m)
    return m, status.reshape(zu.shape)


@_branch.defjvp
def _branch_jvp(tracker, primals, tangents):
    c, z = primals
    dc, dz = tangents
    m, status = _branch(c, z, tracker)
    zc = jnp.asarray(z, dtype=jnp.complex128)
    pm = polyval2(c, zc, m, 0, 1)
    pm = jnp.where(pm == 0, 1e-300, pm)
    num = polyval2(jnp.asarray(dc, jnp.complex128), zc, m)
    pz = polyval2(c, zc, m, 1, 0)
    dm = -(num + pz * jnp.asarray(dz, jnp.complex128)) / pm
    return (m, status), (dm, np.zeros(status.shape, dtype=jax.dtypes.float0))


@eqx.filter_jit
def stieltjes_branch(c, z, tracker: BranchTracker = BranchTracker()):
    """Physical branch and per-point status (see module docstring)."""
    return _branch(c, z, tracker)


def tracker_results(status):
    """The tracker's per-point codes as [`RESULTS`][]."""
    lost = (status == STEP_FAILED) | (status == HERGLOTZ_VIOLATED)
    out = where(status == SEED_AMBIGUOUS, RESULTS.no_physical_branch, full(status.shape, RESULTS.successful))
    out = where(lost, RESULTS.branch_lost, out)
    return where((status != 0) & ~lost & (status != SEED_AMBIGUOUS), RESULTS.newton_failed, out)
