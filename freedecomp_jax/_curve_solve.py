r"""A curve's law at larger sizes, on a grid: the exactly evolved curve and its physical branch.

For every requested size $n = n_0\tau$ (docs/method.md, "Free decompression" and
"Tracking the physical branch"):

1. the curve is put in coordinates scaled to its spectrum (centre and width from its moments,
   the kind's frame) and evolved exactly, $P \to P_t$ (the kind's `evolve_coeffs`);
2. the physical branch of $P_t$ is continued down from infinity to $z = x + i\delta$ (the
   vertical tracker of `_branch.py`), one lane per grid point and per atom candidate;
3. its characteristic state $(\zeta, y)$ is polished by Newton on $F = 0$ and continued down
   to the real axis (heights falling geometrically to $\min(10^{-2}\delta, d/10)$, $d$ the
   distance to the nearest pole, then 0): the Plemelj limit $m_\tau(x + i0)$ is a root of
   $F = 0$ at $z = x$, so $\rho = \operatorname{Im}m/\pi$ needs no extrapolation in $\delta$;
   where Newton on $F$ stalls (a node of the evolved curve in a gap, where the branch crosses the
   sheet $m = 0$), Newton on the evolved curve itself gives the real root, $\rho = 0$ (its
   derivative: the implicit function theorem on $P_t(x, m) = 0$);
4. atom lanes stop at $a + i\eta$ and measure $\eta\operatorname{Im}m \to w$, which confirms
   (or drops) the kind's atom rule;
5. one value-neutral Newton step carries the derivative of the implicit function theorem
   (gradients with respect to the coefficients and the grid; never through the loops).

No ODE runs here: the exact evolution gives the curve at every size, so the answer is the
physical branch of that curve. The characteristic ODE in $t$ that would carry each point
from $n_0$ lands on another sheet of a fitted (not exactly decompressible) curve at a large
share of points (benchmarks/RESULTS.md, "Where the answer comes from").
"""

import equinox as eqx
import jax
import jax.numpy as jnp

from ._branch import BranchTracker, stieltjes_branch, tracker_results
from ._density import pole_candidates
from ._kinds import AbstractDecompression
from ._poly import polyval2, rescale
from ._results import RESULTS, where
from ._series import spectral_frame
from ._system import System, descend, ift_step, newton

_LEVELS = 8  # Newton levels of the descent to the real axis (grid) or to a + i delta 10^-4 (atoms)


class CurveSolver(eqx.Module):
    r"""How a curve is solved on a grid (every scale relative to the spectrum).

    - `delta`: height $\delta$ (in units of the law's standard deviation at $n_0$) where the
      branch is taken from the tracker before Newton continues it to the real axis; any value
      from $10^{-4}$ to $10^{-2}$ gives the same density to rounding.
    - `newton_steps`: Newton iterations per level of the descent.
    - `tracker`: the [`BranchTracker`][] that finds the physical branch of the evolved curve.
    """

    delta: float = eqx.field(static=True, default=1e-3)
    newton_steps: int = eqx.field(static=True, default=10)
    tracker: BranchTracker = BranchTracker()


def frame(c, kind: AbstractDecompression):
    """Centre, width, frame validity and scaled coefficients of curve `c` under `kind`."""
    center, width, ok = spectral_frame(c)
    center, width = kind.frame(center, width)
    return center, width, ok, rescale(c, center, width)


@eqx.filter_jit
def solve_curve(c, kind: AbstractDecompression, x, ts, solver: CurveSolver):
    """`(m, density, atom positions, atom weights, result)` at grid `x` (P,) for every t in `ts` (S,):
    shapes (S, P), (S, P), (S, A), (S, A), (S, P)."""
    center, width, frame_ok, ct = frame(c, kind)
    sys = System(ct, kind)
    sys_ng = jax.lax.stop_gradient(sys)
    xt = (x - center) / width
    P = x.shape[0]
    delta = solver.delta
    steps = solver.newton_steps
    eta = delta * 1e-4
    # atom lanes: half a decade per level, delta 10^-1/2 ... eta (m grows like w/h on a pole:
    # from a whole decade per level Newton can fail to follow a just-born atom of small weight)
    ladder = delta * 10.0 ** -(jnp.arange(1.0, _LEVELS + 1) / 2)

    a_orig, a_cand, w0 = kind.atom_slots(*pole_candidates(c, center, width))
    A = a_cand.shape[0]
    taus = jnp.exp(ts)
    tau_ns = taus[None, :]

    # lanes: grid points lifted to x + i delta, then the atom candidates
    z = jax.lax.stop_gradient(jnp.concatenate([xt, jax.lax.stop_gradient(a_cand)]) + 1j * delta)
    coeffs_t = jax.vmap(lambda t: kind.evolve_coeffs(sys_ng.c, t))(ts)  # (S, ...)
    m_tr, st_tr = jax.vmap(lambda ce: stieltjes_branch(ce, z, solver.tracker))(coeffs_t)  # (S, N)
    m_tr, st_tr = m_tr.T, st_tr.T
    tracked = (st_tr == 0) & jnp.isfinite(m_tr) & (jnp.imag(m_tr) > 0)
    m_tr = jnp.where(tracked, m_tr, -1.0 / z[:, None])  # lanes without a branch carry a harmless value
    zeta_l, y_l = sys_ng.state_of(tau_ns, z[:, None], m_tr)
    newton_v = jax.vmap(jax.vmap(lambda tau, z, zeta, y: newton(sys_ng, tau, z, zeta, y, steps), in_axes=(0, None, 0, 0)), in_axes=(None, 0, 0, 0))
    zeta_l, y_l, _ = newton_v(taus, z, zeta_l, y_l)  # polish at x + i delta on F = 0

    # down to the real axis (grid) or to a + i eta (atoms)
    # The grid comes down geometrically from delta to h_min, then to the axis. Newton follows the
    # root while each step in height is small next to the distance d to the nearest pole (atom
    # candidate, real or virtual), so h_min = min(delta 10^-2, d/10): all levels are spent
    # above the pole's scale, where m turns from i w/h to -w/d.
    d = jnp.min(jnp.where(jnp.isfinite(w0)[None, :], jnp.abs(xt[:, None] - a_cand[None, :]), jnp.inf), axis=1, initial=jnp.inf)
    h_min = jnp.minimum(delta * 1e-2, 0.1 * d)
    frac = jnp.arange(1.0, _LEVELS) / (_LEVELS - 1)
    grid_heights = jnp.concatenate([delta * (h_min[:, None] / delta) ** frac[None, :], jnp.zeros((P, 1))], axis=1)
    heights = jnp.concatenate([grid_heights, jnp.broadcast_to(ladder, (A, _LEVELS))])
    xs = jnp.real(z).astype(jnp.complex128)
    descend_v = jax.vmap(
        jax.vmap(lambda tau, x, h, zeta, y: descend(sys_ng, tau, x, h, zeta, y, steps), in_axes=(0, None, None, 0, 0)),
        in_axes=(None, 0, 0, 0, 0),
    )
    zeta_d, y_d, r_d = descend_v(taus, xs, heights, zeta_l, y_l)  # (N, S)
    w_meas = (eta * jnp.imag(sys_ng.m_of(tau_ns, xs[P:, None] + 1j * eta, zeta_d[P:], y_d[P:]))).T  # (S, A)

    if kind.needs_initial_weights:  # the physical weights at n0: the branch of the curve itself
        m0, _ = stieltjes_branch(sys_ng.c, jnp.real(z[P:]) + 1j * eta, solver.tracker)
        w_meas0 = eta * jnp.imag(m0)
    else:
        w_meas0 = None
    a_t, w_t = kind.atom_weights(a_orig, w0, w_meas0, w_meas, taus)
    w_t = jnp.clip(jnp.where(jnp.isfinite(w_t), w_t, 0.0), 0.0, 1.0)
    w_t = jnp.where(w_t > 1e-12, w_t, 0.0)

    # value-neutral IFT step on the grid lanes: gradients w.r.t. the coefficients and x
    zeta_r, y_r, r_r = zeta_d[:P], y_d[:P], r_d[:P]
    xt_c = jnp.broadcast_to(xt[:, None], zeta_r.shape).astype(jnp.complex128)
    ift = jax.vmap(jax.vmap(lambda tau, z, zeta, y: ift_step(sys, tau, z, zeta, y)))
    zeta_r, y_r = ift(jnp.broadcast_to(tau_ns, zeta_r.shape), xt_c, zeta_r, y_r)
    m_r = sys.m_of(tau_ns, xt_c, zeta_r, y_r).T  # scaled units, (S, P)

    # A grid point where Newton on F stalls and the evolved curve has a real root next to the
    # descended value lies in a gap at a node of the evolved curve (docs/method.md, "Tracking the
    # physical branch"): there the branch is that real root, with density 0.
    # At the node itself Newton on F may converge, but F's Jacobian is singular there (y = tau m = 0):
    # its derivative is taken on the curve as well, within 1e-8 of m = 0 (scaled units).
    stalled = r_r.T > 1e-10  # (S, P)
    at_node = jnp.abs(jax.lax.stop_gradient(m_r)) <= 1e-8
    m_gap, gap_ok = jax.vmap(lambda ce, m0: _real_root(ce, xt, m0))(coeffs_t, jax.lax.stop_gradient(m_r))
    gap = (stalled | at_node) & gap_ok
    # its derivative: a value-neutral Newton step on the evolved curve, differentiable in c, x and t
    step = jax.vmap(lambda t, m, g: _ift_on_curve(kind.evolve_coeffs(sys.c, t), xt, m, g))(ts, m_gap, gap)
    m_r = jnp.where(gap, jax.lax.stop_gradient(m_gap) + step, m_r)

    # per-point result at every size, (S, P)
    on_atom = jnp.any((jnp.abs(x[None, :, None] - a_t[:, None, :]) <= 1e-6 * width) & (w_t[:, None, :] > 0), axis=-1)
    on_atom = on_atom | kind.singular(xt)[None, :]
    result = tracker_results(st_tr[:P].T)
    m_ok = jnp.isfinite(m_r) & (jnp.imag(m_r) >= -1e-8 * jnp.abs(m_r))
    result = where(~m_ok & (result == RESULTS.successful), RESULTS.branch_lost, result)
    result = where(stalled & ~gap & (result == RESULTS.successful), RESULTS.newton_failed, result)
    result = where(~frame_ok, RESULTS.no_physical_branch, result)
    result = where(on_atom, RESULTS.on_atom, result)
    lost = (result != RESULTS.successful) & (result != RESULTS.newton_failed)
    m_out = jnp.where(lost, jnp.nan + 0j, m_r) / width
    density = jnp.where(on_atom, 0.0, jnp.maximum(jnp.imag(m_out), 0.0) / jnp.pi)
    positions = jnp.where(w_t > 0, a_t, jnp.nan)
    return m_out, density, positions, w_t, result


def _deflated(c):
    r"""$P(z, m)/m$ when $m = 0$ is a sheet of $P$ (its $m^0$ column is zero to rounding), else $P$:
    at the node where the physical branch crosses that sheet, its root is simple in $P/m$ only."""
    sheet = jnp.max(jnp.abs(c[:, 0])) <= 1e-12 * jnp.max(jnp.abs(c))
    return jnp.where(sheet, jnp.concatenate([c[:, 1:], jnp.zeros_like(c[:, :1])], axis=1), c)


def _ift_on_curve(c, x, m, keep):
    r"""Zero with the derivative of a root $m$ of the (deflated) curve $P(x, \cdot\,; c)$ at the
    lanes `keep`: $dm = -(P_c\,dc + P_z\,dx)/P_m$ (implicit function theorem), as one Newton step
    minus its value. Where $P_m$ vanishes to rounding (a node of the deflated curve: a symmetric
    law's other sheet crossing there too; a set of measure zero) it has none: its derivative is 0."""
    m = jax.lax.stop_gradient(m)
    c = _deflated(c)
    pm = polyval2(c, x, m, 0, 1)
    simple = keep & (jnp.abs(pm) > 1e-10 * jnp.max(jnp.abs(c)))
    d = -polyval2(c, x, m) / jnp.where(simple, pm, 1.0)
    d = jnp.where(simple, d, 0.0)
    return d - jax.lax.stop_gradient(d)


def _real_root(c, x, m0, steps: int = 60):
    r"""Newton on the evolved curve $P_t(x, \cdot) = 0$ in $m$ from `m0`, at real `x` (P,): the root
    and whether it is real and converged (last step and $|\operatorname{Im} m|$ at most $10^{-10}$
    of $\max(|m|, 1)$, in the curve's scaled units), on the curve deflated by its sheet $m = 0$ when it
    has one (`_deflated`), so that the root is simple at the node too."""
    c = _deflated(c)

    def step(_, carry):
        m, _ = carry
        pm = polyval2(c, x, m, 0, 1)
        d = polyval2(c, x, m) / jnp.where(pm == 0, 1.0, pm)
        d = jnp.where(jnp.isfinite(d), d, jnp.inf)
        return jnp.where(jnp.isfinite(d), m - d, m), jnp.abs(d)

    m, last = jax.lax.fori_loop(0, steps, step, (m0.astype(jnp.complex128), jnp.full(m0.shape, jnp.inf)))
    size = jnp.maximum(jnp.abs(m), 1.0)
    ok = (last <= 1e-10 * size) & (jnp.abs(jnp.imag(m)) <= 1e-10 * size)
    return jnp.real(m).astype(jnp.complex128), ok
