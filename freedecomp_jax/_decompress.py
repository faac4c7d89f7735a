r"""Free (and deformed) decompression: the flow of the physical branch to a larger matrix size.

For every query point $z = x + i\delta$ the *characteristic state* $(\zeta, y)$ solves, at
$\tau = e^t = n/n_0$ (METHOD §1.5, §1.9),

- free:     $F_1 = P(\zeta, y) = 0$, $F_2 = y(\zeta - z) - (\tau - 1) = 0$,
  and $m_t(z) = y/\tau$;
- deformed: $F_1 = P(\zeta, y) = 0$, $F_2 = (\tau\zeta - z)A + (\tau - 1)\zeta = 0$ with
  $A = c_0 y\zeta + c_0 - 1$, and $m_t(z) = (A/\zeta - (c-1)/z)/c$, $c = \tau c_0$.

Both start at $(\zeta, y) = (z, m_0(z))$ with $m_0$ the physical branch. Differentiating
$F(t, \zeta, y) = 0$ in $t$ gives the tangent $J\,(\dot\zeta, \dot y)^\top = -\partial_t F$
($\partial_t F = (0, -\tau)$ free, $(0, \tau\zeta(A+1))$ deformed, $J = \partial F/\partial(\zeta, y)$).
The ODE integrated by `diffrax` is the *constraint-stabilised* field
$$(\dot\zeta, \dot y)^\top = -J^{-1}\big(\partial_t F + k\,F\big),$$
along which the residual decays like $e^{-kt}$, so the state never drifts off the curve.
All lanes (query points) are `vmap`-ped, each with its own adaptive step; the state is
carried as real pairs in coordinates scaled to the spectrum (centre and width from the
curve's moments). At the requested times the state is polished by Newton on $F = 0$.

**Branch check.** At every requested size each lane is compared with the physical branch of
the exactly evolved curve $P_t(z, \cdot)$ (`curve.evolve(t)`) continued down from infinity
(the unit-mass Laurent branch; the same vertical tracker as `curve.stieltjes`, cheap). For
an exactly decompressible curve the two agree; a lane that left the upper half plane
(METHOD §4.2 step 5) or ended on another sheet (a fitted curve that is not exactly
decompressible can send characteristics across a branch cut) is switched to the evolved
curve's physical root and flagged `SWITCHED` (information, not a failure).

**Density at the real axis.** The Plemelj limit $m_t(x + i0)$ is itself a solution of
$F = 0$ at $z = x$ (a root of the evolved curve), so Newton continuation from the state at
$x + i\delta$ down to $z = x$ (heights falling geometrically to $\min(10^{-2}\delta, d/10)$, $d$
the distance to the nearest pole or virtual pole, then 0) gives $\rho_t(x) = \operatorname{Im} m_t(x + i0)/\pi$
without any $\delta$-extrapolation: exact in the bulk (simple root, quadratic convergence)
and at square-root edges (the conjugate pair of roots is split by the real axis, so Newton
started in the upper half plane stays on the upper root; outside the bulk both roots are
real and $\rho = 0$ either way).

**Height of the lanes.** $\delta = $ `config.delta`$\cdot\sigma_0$ ($\sigma_0$ the standard deviation
of the law at $n_0$, from the curve's Laurent series) keeps every lane a fixed distance from
the real axis, where the branch points live, so the ODE stays smooth; it does not bias the
density (the final solve is at $\delta = 0$), it only has to be small enough that Newton
started at $x + i\delta$ lands on the Plemelj root (any $10^{-4}$ to $10^{-2}$ gives the same
result to rounding on the test laws).

**Gradients** never run through the ODE: the returned state solves $F = 0$ exactly, so it
is passed through one value-neutral Newton step $s = s^* + \Delta - \mathrm{sg}(\Delta)$,
$\Delta = -J^{-1}F(s^*; c, x)$, whose derivative is the implicit-function-theorem one,
$ds = -J^{-1}\,\partial F$ (closed form, cheap, exact at any $\delta$).

**Atoms** sit at real roots $a$ of the leading coefficient $a_K(z)$ with the residue
$w_0 = a_{K-1}(a)/a_K'(a)$ of the branch that has the pole ("virtual" if $w_0 \le 0$). Free:
$w(t) = 1 - (1 - w_0)e^{-t}$ at fixed $a$ (METHOD §1.7), which also gives atoms born during
the flow (e.g. MP with $\lambda\tau$ crossing 1). Deformed: the atom at 0 has
$w(t) = \max(w_0, 1 - 1/c)$ (born when $c = \tau c_0$ crosses 1); an atom at $a \ne 0$ moves to
$\tau a$ with weight $\max(0, 1 - \tau(1 - c_0w_0))/c$. An atom is kept only if the flowed
physical branch really has that pole: $\eta\operatorname{Im}m_t(a + i\eta) \to w(t)$,
checked on extra lanes continued down to $\eta = 10^{-4}\delta$.
"""

import dataclasses
import math
from collections.abc import Mapping, Sequence

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._curve import SpectralCurve
from ._custom_types import Array, ArrayLike, Float, Real, Shaped
from ._evolve import evolve_coeffs
from ._levy import LevyConfig, LevyKhintchine, fit_levy, levy_grid
from ._levy import _solve as _levy_boundary
from ._poly import polyval2
from ._roots import polyroots
from ._spectrum import Spectrum
from ._x64 import check_x64, is_concrete

# ---------------------------------------------------------------------------- status codes
OK = 0
FLOW_FAILED = 1
INITIAL_BRANCH = 2
OFF_SHEET = 3
NOT_CONVERGED = 4
ON_ATOM = 5
SWITCHED = 6

STATUS_MESSAGES = {
    OK: "ok",
    FLOW_FAILED: "the ODE solver did not reach the target size (max_steps or step-size underflow); raise DecompressConfig.max_steps or loosen the tolerances",
    INITIAL_BRANCH: "the physical branch could be found neither at size n0 (the start of the flow) nor on the evolved curve at this point: the curve has no valid physical branch there (refit with other degrees)",
    OFF_SHEET: "the flowed branch left the upper half plane (Im m <= 0) and the evolved curve's physical branch could not be found either: the curve is not decompressible here",
    NOT_CONVERGED: "Newton on the evolved curve did not converge at this point (it sits on a branch point or the curve is degenerate there)",
    ON_ATOM: "the grid point sits on an atom; its absolutely continuous density is reported as 0 (the atom is in Spectrum.atoms)",
    SWITCHED: "(not a failure) the characteristic flow ended off the physical branch, which was taken instead from the evolved curve, continued down from infinity; expected next to branch points, but many such points mean the curve is not exactly decompressible there",
}
_FAILURES = (FLOW_FAILED, INITIAL_BRANCH, OFF_SHEET, NOT_CONVERGED)


class DecompressConfig(eqx.Module):
    r"""How [`decompress`][] integrates the flow. Every scale is relative to the spectrum.

    - `solver`: an adaptive `diffrax` solver for the characteristic ODE.
    - `rtol`, `atol`: tolerances of the `diffrax.PIDController` (state in units of the
      spectrum's width, so `atol` is relative too). The flow only has to stay in the basin
      of the right root: every returned value is polished by Newton on the exact equations,
      so these tolerances set the cost, not the accuracy.
    - `delta`: height of the query points $z = x + i\delta$, $\delta = $ `delta`$\cdot\sigma_0$
      ($\sigma_0$ the standard deviation of the law at $n_0$); the density itself is the
      exact limit $\delta \to 0$ (see the module docstring).
    - `stabilization`: rate $k$ of the pull back onto the curve, $\dot s = -J^{-1}(\partial_tF + kF)$.
    - `max_steps`: ODE step budget per query point.
    - `newton_steps`: Newton iterations per level at each requested size (the polish at
      $x + i\delta$, then each of the levels of the descent to the real axis).
    - `throw`: raise at run time (`eqx.error_if`) when any point fails; with `False` the
      failures are only reported in `Spectrum.status`.
    """

    solver: diffrax.AbstractAdaptiveSolver = diffrax.Tsit5()
    rtol: float = eqx.field(static=True, default=1e-6)
    atol: float = eqx.field(static=True, default=1e-6)
    delta: float = eqx.field(static=True, default=1e-3)
    stabilization: float = eqx.field(static=True, default=4.0)
    max_steps: int = eqx.field(static=True, default=8192)
    newton_steps: int = eqx.field(static=True, default=10)
    throw: bool = eqx.field(static=True, default=True)


# ---------------------------------------------------------------------------- coordinates
def _rescale(c, center, scale):
    r"""Coefficients of $\tilde P(\tilde z, \tilde m) = P(\text{center} + s\tilde z, \tilde m/s)$, max-normalised."""
    L, K = c.shape[0] - 1, c.shape[1] - 1
    i = np.arange(L + 1)
    binom = np.array([[math.comb(ii, r) if ii >= r else 0 for ii in i] for r in i], dtype=float)
    pw = np.maximum(i[None, :] - i[:, None], 0)
    B = binom * center ** pw * (scale ** i)[:, None]  # B[r, i] = C(i, r) center^(i-r) s^r
    B = jnp.where(binom > 0, B, 0.0)
    ct = (B @ c) * scale ** (-jnp.arange(K + 1.0))[None, :]
    return ct / jnp.max(jnp.abs(ct))


def _spectral_frame(c):
    """Centre (mean) and width (standard deviation) of the curve's law at n0 (no gradient)."""
    from ._series import laurent_series

    S = laurent_series(jax.lax.stop_gradient(c), 3)
    mu0, mu1, mu2 = -S[0], -S[1], -S[2]
    mean = mu1 / mu0
    var = mu2 / mu0 - mean**2
    ok = jnp.isfinite(mean) & jnp.isfinite(var) & (var > 0)
    return jnp.where(ok, mean, 0.0), jnp.where(ok, jnp.sqrt(jnp.abs(var)), 1.0), ok


# ---------------------------------------------------------------------------- the 2x2 system
class _System(eqx.Module):
    """F(t, zeta, y; z) = 0 of one decompression kind, with its Jacobian and t-derivative."""

    c: Array  # scaled real coefficients
    c0: Array  # aspect ratio at n0 (deformed), unused for free
    kind: str = eqx.field(static=True)

    def F(self, tau, z, zeta, y):
        p = polyval2(self.c, zeta, y)
        if self.kind == "free":
            f2 = y * (zeta - z) - (tau - 1)
        else:
            A = self.c0 * y * zeta + self.c0 - 1
            f2 = (tau * zeta - z) * A + (tau - 1) * zeta
        return p, f2

    def J(self, tau, z, zeta, y):
        pz = polyval2(self.c, zeta, y, 1, 0)
        py = polyval2(self.c, zeta, y, 0, 1)
        if self.kind == "free":
            return pz, py, y, zeta - z
        A = self.c0 * y * zeta + self.c0 - 1
        B = tau * zeta - z
        return pz, py, tau * A + self.c0 * y * B + (tau - 1), self.c0 * zeta * B

    def dF_dt(self, tau, z, zeta, y):
        if self.kind == "free":
            return jnp.zeros_like(zeta), -tau * jnp.ones_like(zeta)
        A = self.c0 * y * zeta + self.c0 - 1
        return jnp.zeros_like(zeta), tau * zeta * (A + 1)

    def scale(self, tau, z, zeta, y):
        """Magnitudes of the terms of F1 and F2 (for relative residuals)."""
        absc = jnp.abs(self.c)
        s1 = polyval2(absc, jnp.abs(zeta), jnp.abs(y))
        # term by term: at tau = 1 the solution has zeta = z, so |y (zeta - z)| would vanish too
        if self.kind == "free":
            s2 = jnp.abs(y) * (jnp.abs(zeta) + jnp.abs(z)) + jnp.abs(tau - 1)
        else:
            sA = self.c0 * jnp.abs(y * zeta) + jnp.abs(self.c0 - 1)
            s2 = (tau * jnp.abs(zeta) + jnp.abs(z)) * sA + jnp.abs((tau - 1) * zeta)
        tiny = 1e-300
        return s1 + tiny, s2 + tiny

    def m_of(self, tau, z, zeta, y):
        if self.kind == "free":
            return y / tau
        cc = tau * self.c0
        A = self.c0 * y * zeta + self.c0 - 1
        return (A / zeta - (cc - 1) / z) / cc

    def state_of(self, tau, z, m):
        if self.kind == "free":
            y = tau * m
            return z + (tau - 1) / y, y
        cc = tau * self.c0
        u = cc * m + (cc - 1) / z
        zeta = (z - (tau - 1) / u) / tau
        return zeta, (u - (self.c0 - 1) / zeta) / self.c0


def _solve2(j11, j12, j21, j22, b1, b2):
    """Cramer solve of the 2x2 complex system, with a zero step where it is singular."""
    det = j11 * j22 - j12 * j21
    bad = (det == 0) | ~jnp.isfinite(det)
    det = jnp.where(bad, 1.0, det)
    d1 = (b1 * j22 - j12 * b2) / det
    d2 = (j11 * b2 - j21 * b1) / det
    return jnp.where(bad, 0.0, d1), jnp.where(bad, 0.0, d2)


def _newton(sys, tau, z, zeta, y, steps: int):
    """Newton on F = 0 at fixed (tau, z), keeping the iterate with the smallest residual."""

    def res(zeta, y):
        f1, f2 = sys.F(tau, z, zeta, y)
        s1, s2 = sys.scale(tau, z, zeta, y)
        r = jnp.maximum(jnp.abs(f1) / s1, jnp.abs(f2) / s2)
        return jnp.where(jnp.isfinite(r), r, jnp.inf)

    def body(_, carry):
        zeta, y, bz, by, br = carry
        f1, f2 = sys.F(tau, z, zeta, y)
        d1, d2 = _solve2(*sys.J(tau, z, zeta, y), f1, f2)
        zeta, y = zeta - d1, y - d2
        ok = jnp.isfinite(zeta) & jnp.isfinite(y)
        zeta, y = jnp.where(ok, zeta, bz), jnp.where(ok, y, by)
        r = res(zeta, y)
        better = r < br
        return zeta, y, jnp.where(better, zeta, bz), jnp.where(better, y, by), jnp.where(better, r, br)

    r0 = res(zeta, y)
    _, _, zeta, y, r = jax.lax.fori_loop(0, steps, body, (zeta, y, zeta, y, r0))
    return zeta, y, r


def _ift_step(sys, tau, z, zeta, y):
    """Value-neutral Newton step: same value, derivative -J^{-1} dF (implicit function theorem)."""
    zs, ys = jax.lax.stop_gradient(zeta), jax.lax.stop_gradient(y)
    f1, f2 = sys.F(tau, z, zs, ys)
    d1, d2 = _solve2(*sys.J(tau, z, zs, ys), f1, f2)
    return zs - (d1 - jax.lax.stop_gradient(d1)), ys - (d2 - jax.lax.stop_gradient(d2))


# ---------------------------------------------------------------------------- the flow
def _to_real(zeta, y):
    return jnp.stack([zeta.real, zeta.imag, y.real, y.imag])


def _from_real(u):
    return u[0] + 1j * u[1], u[2] + 1j * u[3]


def _flow(sys, z, zeta0, y0, live, ts, config: DecompressConfig):
    """Integrate every lane (vmapped diffeqsolve) and return the states at `ts` and the solver result.

    Lanes with `live = False` (no valid start) get a zero field, so they cost one step.
    """
    k = config.stabilization

    def field(t, u, args):
        zr, live = args
        z = zr[0] + 1j * zr[1]
        zeta, y = _from_real(u)
        tau = jnp.exp(t)
        f1, f2 = sys.F(tau, z, zeta, y)
        g1, g2 = sys.dF_dt(tau, z, zeta, y)
        d1, d2 = _solve2(*sys.J(tau, z, zeta, y), g1 + k * f1, g2 + k * f2)
        return jnp.where(live, _to_real(-d1, -d2), 0.0)

    t1 = jnp.maximum(jnp.max(ts), 1e-12)

    def one(z, zeta0, y0, live):
        sol = diffrax.diffeqsolve(
            diffrax.ODETerm(field),
            config.solver,
            t0=0.0,
            t1=t1,
            dt0=None,
            y0=_to_real(zeta0, y0),
            args=(jnp.stack([z.real, z.imag]), live),
            # one size: save at t1 (diffrax checks a `ts` array with a host callback, which
            # would keep the whole solve out of JAX's persistent compilation cache)
            saveat=diffrax.SaveAt(t1=True) if ts.shape[0] == 1 else diffrax.SaveAt(ts=ts),
            stepsize_controller=diffrax.PIDController(rtol=config.rtol, atol=config.atol),
            max_steps=config.max_steps,
            throw=False,
        )
        zeta, y = jax.vmap(_from_real)(sol.ys)
        return zeta, y, sol.result == diffrax.RESULTS.successful

    return jax.vmap(one)(z, zeta0, y0, live)


# ---------------------------------------------------------------------------- atoms
def _atom_candidates(c, center, width):
    r"""Real roots $a$ of $a_K$ (as `(positions, scaled positions)`) and the residue
    $w_0 = a_{K-1}(a)/a_K'(a)$ of the branch with a pole there ("virtual" when $w_0 \le 0$);
    $w_0 = -\infty$ marks empty slots.

    Computed on the unscaled coefficients (so an atom at 0 stays exactly at 0); the roots are
    differentiable through one value-neutral Newton step (implicit function theorem).
    """
    L, K = c.shape[0] - 1, c.shape[1] - 1
    aK = c[:, K]
    daK = aK[1:] * jnp.arange(1, L + 1)
    roots = polyroots(jax.lax.stop_gradient(aK).astype(jnp.complex128)).roots
    a_s = jax.lax.stop_gradient(jnp.real(roots))
    real = (jnp.abs(jnp.imag(roots)) <= 1e-8 * (jnp.abs(roots) + width)) & (jnp.abs(roots - center) <= 1e4 * width)
    dak_s = jax.lax.stop_gradient(jnp.polyval(daK[::-1], a_s))
    safe = jnp.where(dak_s == 0, 1.0, dak_s)
    p = jnp.polyval(aK[::-1], a_s)
    a = a_s - (p - jax.lax.stop_gradient(p)) / safe
    w0 = jnp.polyval(c[:, K - 1][::-1], a) / jnp.where(dak_s == 0, 1.0, jnp.polyval(daK[::-1], a))
    real = real & (dak_s != 0) & jnp.isfinite(w0)
    # a double root of a_K would be listed twice: keep the first copy only
    first = jnp.ones((L,), dtype=bool)
    for k in range(1, L):
        dup = jnp.any((jnp.abs(a_s[:k] - a_s[k]) <= 1e-8 * (jnp.abs(a_s[k]) + width)) & real[:k])
        first = first.at[k].set(~dup)
    a = jnp.where(real, a, center)
    # an atom within rounding of 0 is at 0 (rank deficiency: keeps det = 0 exact downstream)
    a = jnp.where(jnp.abs(a) <= 1e3 * jnp.finfo(jnp.float64).eps * (jnp.abs(center) + width), 0.0, a)
    return a, (a - center) / width, jnp.where(real & first, w0, -jnp.inf)


def _descend(sys, tau, x, heights, zeta, y, steps: int):
    """Newton continuation down the heights z = x + i h_j (one Newton solve per level)."""

    def level(j, carry):
        zeta, y, _ = carry
        return _newton(sys, tau, x + 1j * heights[j], zeta, y, steps)

    r0 = jnp.zeros(jnp.shape(zeta), dtype=jnp.float64)
    return jax.lax.fori_loop(0, heights.shape[0], level, (zeta, y, r0))


# ---------------------------------------------------------------------------- the solve
_LEVELS = 8  # Newton levels of the descent to the real axis (grid) or to a + i delta 10^-4 (atoms)


@eqx.filter_jit
def _solve(c, x, ts, c0, kind: str, config: DecompressConfig):
    """Everything of `decompress` after validation. Shapes: x (P,), ts (S,)."""
    from ._branch import stieltjes_branch

    center, width, frame_ok = _spectral_frame(c)
    if kind == "deformed":  # the deformed relations are scale but not shift invariant
        width = jnp.sqrt(width**2 + center**2)
        center = jnp.zeros_like(center)
    ct = _rescale(c, center, width)
    c0 = jnp.asarray(1.0 if c0 is None else c0, dtype=jnp.float64)
    sys = _System(ct, c0, kind)
    sys_ng = jax.lax.stop_gradient(sys)
    xt = (x - center) / width
    P, S = x.shape[0], ts.shape[0]
    delta = config.delta

    steps = config.newton_steps
    eta = delta * 1e-4
    # atom lanes: half a decade per level, delta 10^-1/2 ... eta (m grows like w/h on a pole:
    # from a whole decade per level Newton can fail to follow a just-born atom of small weight)
    ladder = delta * 10.0 ** -(jnp.arange(1.0, _LEVELS + 1) / 2)

    # atom candidates: real roots of a_K (scaled positions) and their residues
    a_orig, a_cand, w0 = _atom_candidates(c, center, width)
    if kind == "deformed":  # slot 0 is the rank-deficiency atom at 0
        w0 = jnp.concatenate([jnp.zeros((1,)), jnp.where(jnp.abs(a_cand) > 1e-8, w0, -jnp.inf)])
        a_orig = jnp.concatenate([jnp.zeros((1,)), a_orig])
        a_cand = jnp.concatenate([jnp.zeros((1,)), a_cand])
        ts = jnp.concatenate([jnp.zeros((1,)), ts])  # deformed atoms need the physical weights at n0
    A = a_cand.shape[0]
    taus = jnp.exp(ts)
    tau_ns = taus[None, :]

    # lanes: grid points lifted to x + i delta, then the atom candidates; flow them all
    z = jax.lax.stop_gradient(jnp.concatenate([xt, jax.lax.stop_gradient(a_cand)]) + 1j * delta)
    m0, st0 = stieltjes_branch(sys_ng.c, z)
    live = (st0 == 0) & jnp.isfinite(m0)
    m0 = jnp.where(live, m0, -1.0 / z)  # lanes without a start are frozen and flagged below
    zeta_l, y_l, flow_ok = _flow(sys_ng, z, z, m0, live, ts, config)  # (N, S)
    newton_v = jax.vmap(jax.vmap(lambda tau, z, zeta, y: _newton(sys_ng, tau, z, zeta, y, steps), in_axes=(0, None, 0, 0)), in_axes=(None, 0, 0, 0))
    zeta_l, y_l, _ = newton_v(taus, z, zeta_l, y_l)  # polish at x + i delta
    m_l = sys_ng.m_of(tau_ns, z[:, None], zeta_l, y_l)
    good = jnp.isfinite(m_l) & (jnp.imag(m_l) > 0)

    # branch check: the physical branch of the evolved curve, continued down from infinity
    coeffs_t = jax.vmap(lambda t: evolve_coeffs(sys_ng.c, t, kind, sys_ng.c0))(ts)  # (S, ...)
    m_tr, st_tr = jax.vmap(lambda ce: stieltjes_branch(ce, z))(coeffs_t)  # (S, N)
    m_tr, st_tr = m_tr.T, st_tr.T
    tracked = (st_tr == 0) & jnp.isfinite(m_tr) & (jnp.imag(m_tr) > 0)
    agree = jnp.abs(m_l - m_tr) <= 1e-6 * jnp.abs(m_tr)
    switched = tracked & ~(good & agree)  # off the sheet (pair switch) or on another branch
    zeta_s, y_s = sys_ng.state_of(tau_ns, z[:, None], m_tr)
    zeta_l, y_l = jnp.where(switched, zeta_s, zeta_l), jnp.where(switched, y_s, y_l)
    good = good | switched

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
        jax.vmap(lambda tau, x, h, zeta, y: _descend(sys_ng, tau, x, h, zeta, y, steps), in_axes=(0, None, None, 0, 0)),
        in_axes=(None, 0, 0, 0, 0),
    )
    zeta_d, y_d, r_d = descend_v(taus, xs, heights, zeta_l, y_l)  # (N, S)
    w_meas = (eta * jnp.imag(sys_ng.m_of(tau_ns, xs[P:, None] + 1j * eta, zeta_d[P:], y_d[P:]))).T  # (S, A)

    if kind == "free":
        # w(t) = 1 - (1 - w0)/tau at fixed a (w0 <= 0: an atom born during the flow), kept
        # only where the flowed branch really has that pole
        w_t = 1.0 - (1.0 - w0[None, :]) / taus[:, None]  # (S, A)
        w_t = jnp.where(jnp.abs(w_meas - w_t) <= 1e-3 * jnp.abs(w_t) + 1e-6, w_t, 0.0)
        a_t = jnp.broadcast_to(a_orig[None, :], w_t.shape)
    else:
        # physical weights at n0, then the companion law's boxplus-tau power
        w_meas0, w_meas = w_meas[0], w_meas[1:]
        phys0 = (jnp.abs(w_meas0 - w0) <= 1e-3 * jnp.abs(w0) + 1e-6) & (w0 > 0)
        w00 = jnp.where(w_meas0[0] > 1e-6, w_meas0[0], 0.0)
        zeta_d, y_d, r_d, taus, tau_ns, ts = zeta_d[:, 1:], y_d[:, 1:], r_d[:, 1:], taus[1:], tau_ns[:, 1:], ts[1:]
        good, switched = good[:, 1:], switched[:, 1:]
        cc = taus * c0
        w_zero = jnp.maximum(w00, 1.0 - 1.0 / cc)  # born when c = tau c0 crosses 1
        w_nz = jnp.where(phys0[1:], w0[1:], 0.0)
        w_nz_t = jnp.maximum(0.0, 1.0 - taus[:, None] * (1.0 - c0 * w_nz[None, :])) / cc[:, None]
        w_t = jnp.concatenate([w_zero[:, None], jnp.where(w_nz[None, :] > 0, w_nz_t, 0.0)], axis=1)
        a_t = taus[:, None] * a_orig[None, :]
    w_t = jnp.clip(jnp.where(jnp.isfinite(w_t), w_t, 0.0), 0.0, 1.0)
    w_t = jnp.where(w_t > 1e-12, w_t, 0.0)

    # value-neutral IFT step on the grid lanes: gradients w.r.t. the coefficients and x
    zeta_r, y_r, r_r = zeta_d[:P], y_d[:P], r_d[:P]
    xt_c = jnp.broadcast_to(xt[:, None], zeta_r.shape).astype(jnp.complex128)
    ift = jax.vmap(jax.vmap(lambda tau, z, zeta, y: _ift_step(sys, tau, z, zeta, y)))
    zeta_r, y_r = ift(jnp.broadcast_to(tau_ns, zeta_r.shape), xt_c, zeta_r, y_r)
    m_r = sys.m_of(tau_ns, xt_c, zeta_r, y_r)  # scaled units, (P, S)

    # per-point status at every size, (S, P)
    on_atom = jnp.any((jnp.abs(x[None, :, None] - a_t[:, None, :]) <= 1e-6 * width) & (w_t[:, None, :] > 0), axis=-1)
    if kind == "deformed":  # z = 0 is a removable singularity of the deformed map
        on_atom = on_atom | (jnp.abs(xt)[None, :] <= 1e-12)
    status = jnp.full((S, P), OK)
    converged = (r_r <= 1e-10).T
    status = jnp.where(~converged, NOT_CONVERGED, status)
    m_ok = jnp.isfinite(m_r).T & (jnp.imag(m_r).T >= -1e-8 * jnp.abs(m_r).T)
    status = jnp.where(switched[:P].T & (status == OK), SWITCHED, status)
    status = jnp.where(~good[:P].T | ~m_ok, jnp.where(flow_ok[None, :P], OFF_SHEET, FLOW_FAILED), status)
    status = jnp.where((~live[None, :P] & ~switched[:P].T) | ~frame_ok, INITIAL_BRANCH, status)
    status = jnp.where(on_atom, ON_ATOM, status)
    lost = on_atom | (status == FLOW_FAILED) | (status == INITIAL_BRANCH) | (status == OFF_SHEET)
    m_out = jnp.where(lost, jnp.nan + 0j, m_r.T) / width
    density = jnp.where(on_atom, 0.0, jnp.maximum(jnp.imag(m_out), 0.0) / jnp.pi)
    positions = jnp.where(w_t > 0, a_t, jnp.nan)
    return m_out, density, positions, w_t, status


@eqx.filter_jit
def _levy_solve(law: LevyKhintchine, x, ts):
    """The law at every size in `ts` (exact: LevyKhintchine.evolve), solved on the grid."""

    def one(t):
        lt = law.evolve(t)
        m, residual = _levy_boundary(lt, x, jnp.zeros_like(x))
        pos, w = lt.atom()
        good = jnp.isfinite(m) & (jnp.imag(m) >= 0) & (residual <= 1e-6)
        on_atom = (w > 0) & (x == pos)
        status = jnp.where(on_atom, ON_ATOM, jnp.where(good, OK, NOT_CONVERGED))
        return m, jnp.where(on_atom, 0.0, jnp.imag(m) / jnp.pi), pos[None], w[None], status

    return jax.vmap(one)(ts)


def decompress(
    curve: SpectralCurve | LevyKhintchine,
    x: Real[ArrayLike, " P"],
    n: Real[ArrayLike, "*S"],
    *,
    kind: str = "free",
    ratio: float | Real[ArrayLike, ""] | None = None,
    config: DecompressConfig = DecompressConfig(),
) -> Spectrum:
    r"""The spectrum at matrix size `n` predicted by free (or deformed) decompression.

    With $\tau = n/n_0 = e^t$, the Stieltjes transform at size $n$ solves the evolved curve
    $P_t(z, m) = P(z + (1 - \tau^{-1})/m,\ \tau m) = 0$ (free) or its deformed analogue
    (METHOD §1.9, Gram matrices $XX^\top$ with aspect ratio $c = \tau c_0$); the physical
    branch is carried there by an ODE for the characteristic state of every grid point
    (see the module docstring), and $\rho_n(x) = \operatorname{Im} m_t(x + i0)/\pi$.

    **Arguments:**

    - `curve`: a [`SpectralCurve`][] fitted at size `curve.n0`, or a [`LevyKhintchine`][] law
      (free only; its decompression is exact and closed form, solved point by point).
    - `x`: real grid `(P,)` where the density is wanted (finite, at least one point).
    - `n`: target size, an int, or a 1-D array of sizes `(S,)` (all produced by one solve);
      every size must be `>= curve.n0`.
    - `kind`: `"free"` or `"deformed"`.
    - `ratio`: the aspect ratio $c_0 = n_0/q$ at size $n_0$ (deformed only; $X$ is $n_0\times q$).
    - `config`: a [`DecompressConfig`][].

    **Returns:** a [`Spectrum`][] (density `(P,)` or `(S, P)`, atoms, per-point status).

    Failed points raise (or, with `throw=False`, are flagged in `Spectrum.status`). A fitted
    curve that is not exactly decompressible can still give a law that is wrong as a whole
    (mass or moments off) with every point on a branch of the evolved curve: check
    `spec.moment_errors()` and `spec.mass()` (about 1e-4 and 1 on a good prediction), or
    call [`predict`][], which does it for you and passes over such degrees.
    """
    check_x64()
    if kind not in ("free", "deformed"):
        raise ValueError(f"kind must be 'free' or 'deformed'; got {kind!r}.")
    if kind == "deformed":
        if ratio is None:
            raise ValueError("kind='deformed' needs ratio=c0 = n0/q, the aspect ratio of X at size n0 (A = X X^T with X of shape n0 x q).")
        if is_concrete(ratio):
            r = np.asarray(ratio, dtype=float)
            if r.shape != () or not np.isfinite(r) or r <= 0:
                raise ValueError(f"ratio must be a positive finite scalar (c0 = n0/q); got {ratio!r}.")
    elif ratio is not None:
        raise ValueError("ratio is only used by kind='deformed'; drop it, or pass kind='deformed'.")
    levy = isinstance(curve, LevyKhintchine)
    if levy and kind != "free":
        raise ValueError("a LevyKhintchine law is decompressed freely only (kind='free'); for a Gram matrix X X^T with fixed q fit a SpectralCurve.")
    if is_concrete(x):
        xn = np.asarray(x, dtype=float)
        if xn.ndim != 1 or xn.size == 0:
            raise ValueError(f"x must be a non-empty 1-D grid of real points; got shape {xn.shape}.")
        if not np.all(np.isfinite(xn)):
            raise ValueError("x contains NaN or inf; pass a finite grid.")
        if np.any(np.diff(xn) <= 0):
            raise ValueError("x must be strictly increasing (the spectrum is integrated over the grid); sort it and drop duplicates.")
    elif jnp.ndim(x) != 1 or jnp.shape(x)[0] == 0:
        raise ValueError(f"x must be a non-empty 1-D grid; got shape {jnp.shape(x)}.")
    if is_concrete(n):
        nn = np.asarray(n, dtype=float)
        if nn.ndim > 1 or nn.size == 0 or not np.all(np.isfinite(nn)) or np.any(nn <= 0):
            raise ValueError(f"n must be a positive size or a 1-D array of sizes; got {n!r}.")
        if is_concrete(curve.n0) and np.any(nn < float(curve.n0) * (1 - 1e-12)):
            raise ValueError(
                f"n = {nn.min():g} is smaller than the curve's size n0 = {float(curve.n0):g}; "
                "decompression only grows the matrix (pass n >= n0)."
            )
    x = jnp.asarray(x, dtype=jnp.float64)
    sizes = jnp.asarray(n, dtype=jnp.float64)
    scalar = sizes.ndim == 0
    sizes = jnp.atleast_1d(sizes)
    ts = jnp.maximum(jnp.log(sizes / curve.n0), 0.0)
    if not (is_concrete(n) and is_concrete(curve.n0)):  # otherwise checked above
        ts = eqx.error_if(ts, sizes < curve.n0 * (1 - 1e-12), "decompress: n < n0; decompression only grows the matrix (pass n >= n0).")
    # `throw` acts out here, so both settings share one compiled solve
    if levy:
        m, density, positions, weights, status = _levy_solve(curve, x, ts)
    else:
        m, density, positions, weights, status = _solve(curve.coeffs, x, ts, ratio, kind, dataclasses.replace(config, throw=True))
    if config.throw:
        failed = jnp.isin(status, jnp.asarray(_FAILURES))
        density = eqx.error_if(
            density,
            jnp.any(failed),
            "decompress failed at some grid points (see freedecomp_jax._decompress.STATUS_MESSAGES); "
            "rerun with DecompressConfig(throw=False) and inspect Spectrum.status.",
        )
    if scalar:
        m, density, positions, weights, status, sizes, ts = (a[0] for a in (m, density, positions, weights, status, sizes, ts))
    return Spectrum(
        x=x,
        density=density,
        atoms=(positions, weights),
        size=sizes,
        status=status,
        m=m,
        curve=curve,
        t=ts,
        kind=kind,
        ratio=None if ratio is None else jnp.asarray(ratio, dtype=jnp.float64),
    )


@eqx.filter_jit
def _centre_radius(c, t, kind, ratio):
    """Mean of the law of the curve evolved by t, and the radius of its support about the mean
    (root test of the Laurent series)."""
    from ._evolve import evolve_coeffs
    from ._series import laurent_series, spectral_radius

    ct = evolve_coeffs(c, t, kind, ratio)
    S = laurent_series(ct, 3)
    mean = S[1] / S[0]
    return mean, spectral_radius(laurent_series(_rescale(ct, mean, 1.0), 24))


def _target_grid(curve, n, kind, ratio, size: int, config: DecompressConfig):
    """A grid covering the support at size n: the evolved law's centre +- 1.5 x its radius (root
    test of its Laurent series), then narrowed to the bulks found there."""
    mean, radius = (float(v) for v in _centre_radius(curve.coeffs, jnp.log(n / curve.n0), kind, None if ratio is None else jnp.asarray(ratio, jnp.float64)))
    coarse = np.linspace(mean - 1.5 * radius, mean + 1.5 * radius, size)
    bulks = decompress(curve, coarse, n, kind=kind, ratio=ratio, config=config).support()
    if bulks.size == 0:
        return coarse
    h = coarse[1] - coarse[0]
    return np.linspace(bulks.min() - 2 * h, bulks.max() + 2 * h, size)


_CHECK_TOL = 1e-2  # moment and mass errors of a prediction that left the physical branch (see Spectrum.moment_errors)


def _predict(curve, n, kind, ratio, grid_size, config):
    """Decompress onto a grid covering the support; return the spectrum and what is wrong with it (or None)."""
    quiet = dataclasses.replace(config, throw=False)
    spec = decompress(curve, _target_grid(curve, n, kind, ratio, grid_size, quiet), n, kind=kind, ratio=ratio, config=quiet)
    return spec, _problem(spec)


def _problem(spec: Spectrum) -> str | None:
    """What is wrong with a prediction (failed points, mass, moments), or None."""
    failed = np.isin(np.asarray(spec.status), _FAILURES)
    if failed.any():
        codes = sorted(set(np.asarray(spec.status)[failed].tolist()))
        return f"{int(failed.sum())} grid points failed ({'; '.join(STATUS_MESSAGES[c] for c in codes)})"
    mass = float(spec.mass())
    if not abs(mass - 1.0) <= _CHECK_TOL:
        return f"the predicted law has total mass {mass:.4f} instead of 1 (the flow left the physical branch, or the grid misses part of the support)"
    err = np.asarray(spec.moment_errors())
    if not np.all(np.abs(err) <= _CHECK_TOL):
        return (
            f"the predicted moments miss the exact moments by up to {np.max(np.abs(err)):.2g} standard units "
            "(the flow left the physical branch, or the grid misses part of the support)"
        )
    return None


def _levy_target_grid(law: LevyKhintchine, n, size: int):
    """A grid for the law at size n: bulks found on a wide log grid, `size` points shared among them
    (log-spaced in a bulk spanning a decade or more, or 0, linear otherwise), so each narrow bulk
    is resolved too; a law with a diagonal profile keeps the 4x finer log grid as well."""
    coarse = levy_grid(law, float(n) / float(law.n0), 4 * size)  # fine enough to see a narrow isolated bulk
    bulks = decompress(law, coarse, n, config=DecompressConfig(throw=False)).support()
    if bulks.size == 0:
        return coarse
    tiny = np.min(np.abs(coarse))
    pieces = []
    for lo, hi in bulks:
        if lo < 0 < hi:
            pieces += [(lo, -tiny), (tiny, hi)]
        else:
            pieces.append((lo, hi))
    share = max(size // len(pieces), 8)
    parts = []
    for lo, hi in pieces:
        a, b = sorted((abs(lo), abs(hi)))
        if a > 0 and b / a >= 10:
            g = np.geomspace(a, b, share)
            parts.append(g if lo > 0 else -g[::-1])
        else:
            parts.append(np.linspace(lo, hi, share))
    if law.scales is not None:  # rugged bulks (one bump per cluster of scales) over decades: keep the log grid too
        parts.append(coarse)
    return np.unique(np.concatenate(parts))


def _predict_levy(eigs, n, fit_options, grid_size: int, why: Exception) -> Spectrum:
    """`predict` with the free Levy-Khintchine model (when no algebraic curve passes the check)."""
    from ._fit import FitConfig, _parse_inputs

    inputs = _parse_inputs(eigs, fit_options.get("n0"), fit_options.get("weights"), fit_options.get("fit_config", FitConfig()))
    levy_config = fit_options.get("levy_config", LevyConfig())
    matrix = None if isinstance(eigs, (Mapping, list, tuple)) else np.asarray(eigs)
    if matrix is not None and matrix.ndim == 2 and fit_options.get("weights") is None:  # keeps the diagonal profile
        law = fit_levy(matrix, inputs.n0, config=levy_config)
    else:
        law = fit_levy(inputs.base.eigs, inputs.n0, weights=inputs.base.weights, config=levy_config)
    spec = decompress(law, _levy_target_grid(law, n, grid_size), n, config=DecompressConfig(throw=False))
    problem = _problem(spec)
    if problem is not None:
        raise ValueError(f"{why} The free Levy-Khintchine model, tried next, failed its check too: {problem}.")
    return spec


def _zero_rows(eigs) -> np.ndarray | None:
    r"""Rows (and columns) of a matrix input that vanish to rounding, $\max_j |a_{ij}| \le \varepsilon \max|a|$.

    `None` unless `eigs` is a concrete square 2-D array with some, but not all, rows zero. Such rows are a direct summand
    $0_k \oplus B$ (dead units, unused parameters, constant features): a random principal
    submatrix keeps them in the same proportion, so their zeros stay a fraction $k/m$ at
    every size instead of growing as $1 - (1 - w_0)e^{-t}$ like a free atom.
    """
    if isinstance(eigs, (Mapping, list, tuple)) or not is_concrete(eigs):
        return None
    arr = np.asarray(eigs)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.size == 0 or not np.issubdtype(arr.dtype, np.floating):
        return None
    scale = np.max(np.abs(arr))
    if not np.isfinite(scale):
        return None  # fit reports the non-finite entries
    zero = np.all(np.abs(arr) <= np.finfo(arr.dtype).eps * scale, axis=1)
    return zero if zero.any() and not zero.all() else None


def predict(
    eigs: Shaped[ArrayLike, "..."] | Mapping | Sequence,
    n: int,
    *,
    kind: str = "free",
    ratio: float | None = None,
    grid_size: int = 1024,
    config: DecompressConfig = DecompressConfig(),
    **fit_options,
) -> Spectrum:
    r"""The checked default pipeline: the [`Spectrum`][] at size $n$ predicted from the eigenvalues
    of an $m \times m$ submatrix.

    [`fit`][] (`**fit_options`: `deg`, `n0`, `log`, `weights`, `fit_config`, `levy_config`; automatic degrees
    unless `deg=` is given), then [`decompress`][] to size `n` on a grid of `grid_size` points
    covering the predicted support. Plain Python (the automatic degree choice is not jit-able;
    for batches and `grad`, call `fit` and `decompress` with fixed degrees).

    The prediction is checked before it is returned: no failed grid point, unit mass and
    the exact moments (see [`Spectrum.moment_errors`][]) to within 1e-2. With `deg=None`
    a candidate whose prediction fails the check is passed over for the next one (see
    [`fit_with_diagnostics`][]); with `deg` given, a failed check raises `ValueError`.

    When no candidate curve passes (typically a spectrum spanning many decades: Hessians,
    Gauss–Newton and kernel Gram matrices), `kind="free"` falls back to the free
    Lévy–Khintchine model ([`fit_levy`][], `levy_config=` a [`LevyConfig`][]), decompressed
    exactly and checked the same way; `spec.curve` then holds the [`LevyKhintchine`][] law. Given
    the matrix itself, that law keeps its diagonal profile (`scales`, see [`fit_levy`][]): rows
    on different scales (Hessians, Gauss–Newton matrices) keep their share of small eigenvalues.
    """
    from ._fit import FitConfig, NoUsableCurve, _fit_with_diagnostics

    n = int(n)
    unknown = set(fit_options) - {"deg", "n0", "log", "weights", "fit_config", "levy_config"}
    if unknown:
        raise ValueError(f"unknown options {sorted(unknown)}; fit options are deg, n0, log, weights, fit_config, levy_config.")
    zero = _zero_rows(eigs)
    if zero is not None:
        k, m = int(zero.sum()), zero.size
        raise ValueError(
            f"{k} of the {m} rows/columns of the matrix are zero (dead units, unused parameters, constant features?). "
            f"They are a direct summand whose zeros stay a fraction {k}/{m} at every size, which a free atom cannot describe "
            f"(it would grow to 1 - (1 - w0) m/n). Use fdj.eigvalsh(matrix, n), which sets them aside, or predict the rest: "
            f"keep = ~np.all(A == 0, axis=1); predict(A[np.ix_(keep, keep)], round(n * {m - k}/{m}))."
        )
    found = {}

    def accept(curve):
        found["spec"], problem = _predict(curve, n, kind, ratio, grid_size, config)
        return problem

    deg = fit_options.get("deg")
    try:
        curve, _ = _fit_with_diagnostics(
            eigs, deg, fit_options.get("n0"), fit_options.get("log"), fit_options.get("weights"), fit_options.get("fit_config", FitConfig()), accept
        )
    except NoUsableCurve as why:
        if kind != "free":
            raise
        return _predict_levy(eigs, n, fit_options, grid_size, why)
    if deg is not None:
        problem = accept(curve)
        if problem is not None:
            raise ValueError(f"the prediction with deg={tuple(deg)} failed its check: {problem}. Try deg=None (automatic degrees) or other degrees.")
    return found["spec"]


def eigvalsh(
    eigs: Shaped[ArrayLike, "..."] | Mapping | Sequence,
    n: int,
    *,
    kind: str = "free",
    ratio: float | None = None,
    grid_size: int = 1024,
    config: DecompressConfig = DecompressConfig(),
    **fit_options,
) -> Float[Array, " n"]:
    r"""Predicted eigenvalues of the $n \times n$ matrix from those of an $m \times m$ submatrix.

    One line for the whole method: [`predict`][] (fit with automatic degrees, decompress,
    check; same arguments), then the $n$ quantiles $Q((k - \frac12)/n)$ of the predicted law
    (atoms included), i.e. `predict(eigs, n, ...).eigvalsh()`.

    A matrix input with $k$ zero rows/columns (see [`predict`][], which refuses them) is a
    direct summand $0_k \oplus B$: the zeros keep their share, $\operatorname{round}(nk/m)$
    of the $n$ values, and $B$ is decompressed to the remaining size.
    """
    zero = _zero_rows(eigs)
    if zero is not None:
        n = int(n)
        if n < zero.size:
            raise ValueError(f"n = {n} < n0 = {zero.size}: decompression only grows the matrix (pass n >= n0).")
        keep = ~zero
        n_zero = int(round(n * zero.sum() / zero.size))
        n_rest = max(n - n_zero, int(keep.sum()))
        if "n0" in fit_options and fit_options["n0"] is not None and float(fit_options["n0"]) != zero.size:
            raise ValueError(f"a matrix input has n0 = its size ({zero.size}); drop n0 or pass n0={zero.size}.")
        options = {k: v for k, v in fit_options.items() if k != "n0"}
        b = np.asarray(eigs)[np.ix_(keep, keep)]
        ratio_b = None if ratio is None else ratio * b.shape[0] / zero.size  # X without its zero rows: fewer rows, same q
        rest = predict(b, n_rest, kind=kind, ratio=ratio_b, grid_size=grid_size, config=config, **options).eigvalsh(n_rest)
        return jnp.sort(jnp.concatenate([jnp.zeros(n - n_rest), rest]))
    return predict(eigs, n, kind=kind, ratio=ratio, grid_size=grid_size, config=config, **fit_options).eigvalsh(int(n))
