r"""Refinement of a curve fit: the branch-aware loss, optax L-BFGS in whitened coordinates, Newton
polish with the exact Hessian, and the implicit derivative of the minimiser (see the docstring of `_fit.py`).
"""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from ._branch import _newton, stieltjes_branch
from ._custom_types import Array, Bool, Float
from ._fit_config import FitConfig, FitDiagnostics
from ._fit_problem import (
    _build_problem,
    _closed_forms,
    _Coefficients,
    _Data,
    _Problem,
    _spectrum_data,
)
from ._poly import polyval2


def _branch_points(problem: _Problem):
    """All points where the loss reads the branch: fit points, the smoothing grid, just above the resolving grid."""
    return jnp.concatenate([problem.z, problem.smooth + 1j * problem.eta, problem.near + 0.05j * problem.near_dx])


def _tracked(c, problem: _Problem, config: FitConfig):
    """Physical branch at the loss points by the tracker, as data (no derivative through its loop)."""
    m, status = stieltjes_branch(jax.lax.stop_gradient(c), jax.lax.stop_gradient(_branch_points(problem)), config.tracker)
    return jax.lax.stop_gradient(m), status


def _carried(c, m_old, status_old, problem: _Problem, config: FitConfig, fresh=False):
    r"""The branch at the loss points of a curve `c` near the one whose tracked branch is `m_old`:
    Newton on $P(z, \cdot\,; c) = 0$ from $m_{\rm old}$ at each point, a continuation in the
    coefficients (one optimiser step: $0.2$ ms where the tracker, from infinity, takes $4$ ms). A
    point is carried when it was tracked before, Newton converged in its quadratic regime (the root
    is within $0.1\,|m - m_{\rm old}|$ of the first iterate: the tracker's own test that a step did
    not jump sheets) and $\operatorname{Im} m \ge 0$. Unless every point is, or when `fresh`, all
    are tracked from infinity (`_tracked`). As data, like `_tracked`."""
    c = jax.lax.stop_gradient(c)
    z = jax.lax.stop_gradient(_branch_points(problem))
    m1, _, _ = _newton(c, z, m_old, 1)
    m, last, resid = _newton(c, z, m1, config.tracker.newton_steps + 3)
    scale = jnp.abs(m) + jnp.abs(m_old)
    noise = 1e3 * jnp.finfo(jnp.float64).eps * polyval2(jnp.abs(c), jnp.abs(z), jnp.abs(m))
    noise = noise / (jnp.abs(polyval2(c, z, m, 0, 1)) + 1e-300) + 1e-14 * scale
    converged = (last <= 1e-9 * scale) | (resid <= 1e-13)
    close = jnp.abs(m - m1) <= 0.1 * jnp.abs(m - m_old) + noise
    ok = (status_old == 0) & converged & close & (jnp.imag(m) >= -1e-12 * scale) & jnp.isfinite(m)
    # computed when `fresh` too (once per fit, 0.2 ms): skipping it by a `lax.while_loop` cost 1 s of compilation
    return _when(fresh | ~jnp.all(ok), lambda cc: _tracked(cc, problem, config), c, (m, jnp.zeros_like(status_old)))


def _on_curve(c, z, m_star):
    r"""Two Newton steps on $P(z, \cdot\,; c) = 0$ from the tracked root $m^*$.

    At $c$ where $m^*$ is the root they return $m^*$; as functions of $(c, z)$ they agree with
    the branch to fourth order, so their first and second derivatives are the
    implicit-function-theorem derivatives ($dm = -(P_c\,dc + P_z\,dz)/P_m$ and its derivative).
    """
    m = m_star
    for _ in range(2):
        pm = polyval2(c, z, m, 0, 1)
        m = m - polyval2(c, z, m) / jnp.where(pm == 0, 1.0, pm)
    return m


def _loss_terms(b, m_star, problem: _Problem, config: FitConfig):
    c = _Coefficients(b).raw(problem)
    m = _on_curve(c, _branch_points(problem), m_star)
    n, g = problem.z.shape[0], problem.smooth.shape[0]
    mz, ms, m0 = m[:n], m[n : n + g], m[n + g :]
    mismatch = jnp.sum(problem.omega * jnp.abs(mz - problem.m) ** 2)
    mass = jnp.sum(jnp.imag(ms) * problem.smooth_dx) / jnp.pi
    negative = jnp.sum(jnp.maximum(-jnp.imag(m0), 0.0) * problem.near_dx) / jnp.pi
    loss = mismatch + config.density_penalty * negative**2 + config.mass_penalty * (mass - problem.mass_emp) ** 2
    return loss, mismatch


def _hessian(b, m, problem: _Problem, config: FitConfig):
    r"""Exact Hessian of the loss in b, in closed form.

    $P$ is linear in $c = M b$ ($M = T\Pi$), so on the curve $m_a = -P_a/P_m$ and
    $m_{ab} = -(\partial_m P_a\, m_b + \partial_m P_b\, m_a + P_{mm} m_a m_b)/P_m$ with
    $P_a = z^{i_a} m^{j_a}$; each loss term is a smooth function of these.
    """
    c = _Coefficients(b).raw(problem)
    z = _branch_points(problem)
    L1, K1 = problem.shape
    i = np.repeat(np.arange(L1), K1)
    j = np.tile(np.arange(K1), L1)
    mono = z[:, None] ** i * m[:, None] ** j
    dmono = z[:, None] ** i * (j * m[:, None] ** np.maximum(j - 1, 0))
    pm = polyval2(c, z, m, 0, 1)
    pmm = polyval2(c, z, m, 0, 2)
    Mmat = problem.to_raw @ problem.proj
    u = -mono / pm[:, None]  # dm/dc
    jac = u @ Mmat  # dm/db
    du = dmono @ Mmat  # d(P_m)/db contributions
    jm = jac

    def second(weights):
        # sum_k weights_k d2m_k/db2 (weights complex), = M^T S M with S_k = -(d u^T + u d^T + P_mm u u^T)/P_m
        wk = weights / pm
        a = -(du * wk[:, None]).T @ jm
        return a + a.T - (jm * (wk * pmm)[:, None]).T @ jm

    n, g = problem.z.shape[0], problem.smooth.shape[0]
    mz, ms, m0 = m[:n], m[n : n + g], m[n + g :]
    jz, js, j0 = jm[:n], jm[n : n + g], jm[n + g :]
    n_near = problem.near.shape[0]
    omega = problem.omega
    r = mz - problem.m
    h_mis = 2 * jnp.real((jz * omega[:, None]).T @ jnp.conj(jz))
    h_mis = h_mis + 2 * jnp.real(second(jnp.concatenate([omega * jnp.conj(r), jnp.zeros(m.shape[0] - n)])))
    wdx = problem.smooth_dx / jnp.pi
    mass = jnp.sum(jnp.imag(ms) * wdx)
    d_mass = jnp.imag(js).T @ wdx
    h_mass_m = jnp.imag(second(jnp.concatenate([jnp.zeros(n), wdx, jnp.zeros(n_near)]).astype(jnp.complex128)))
    h_mass = 2 * (jnp.outer(d_mass, d_mass) + (mass - problem.mass_emp) * h_mass_m)
    act = (jnp.imag(m0) < 0) * problem.near_dx / jnp.pi
    neg = jnp.sum(-jnp.imag(m0) * act)
    d_neg = -jnp.imag(j0).T @ act
    h_neg_m = -jnp.imag(second(jnp.concatenate([jnp.zeros(n + g), act]).astype(jnp.complex128)))
    h_neg = 2 * (jnp.outer(d_neg, d_neg) + neg * h_neg_m)
    return h_mis + config.mass_penalty * h_mass + config.density_penalty * h_neg


def _newton_system(b, m, problem: _Problem, sg_problem: _Problem, config: FitConfig):
    """Gradient (differentiable in the data through `problem`) and regularised Hessian (stopped) at a normalised b.

    The gauge terms $\\tfrac\\gamma2(\\|b\\|^2-1)^2 + \\tfrac\\gamma2\\|(I-\\Pi)b\\|^2$ vanish with their
    gradient at a normalised constrained b, but fix the scale and the constrained-out
    directions, where the loss is flat. The Hessian is shifted to be positive definite.
    """
    h = jax.lax.stop_gradient(_hessian(b, m, sg_problem, config))
    # the loss Hessian is O(1) where the data move the curve (relative mismatches of unit-norm
    # coefficients); where they cannot (constraints leave only the scale free) it is rounding
    # noise, and the floor keeps the gauge positive definite (the result does not depend on gamma > 0)
    gamma = jnp.maximum(jnp.trace(h) / b.shape[0], 1e-8)
    eye = jnp.eye(b.shape[0])
    h = h + gamma * (2 * jnp.outer(b, b) + eye - sg_problem.proj)
    lam_min = jnp.linalg.eigvalsh(h)[0]
    h = h + jnp.maximum(0.0, 1e-8 * gamma - lam_min) * eye
    g = jax.grad(lambda bb: _loss_terms(bb, m, problem, config)[0])(b) + gamma * (eye - problem.proj) @ b
    return g, h


class _Whitened(eqx.Module):
    """The trainable curve: coefficients y in coordinates whitened by the Hessian at the start, b = b0 + W y."""

    y: Float[Array, " p"]
    b0: Float[Array, " p"]
    w: Float[Array, "p p"]

    @property
    def b(self):
        return self.b0 + self.w @ self.y


def _whitening(h):
    """W with W^T h W = I: coordinates in which the loss Hessian h is the identity."""
    evals, evecs = jnp.linalg.eigh(h)
    return evecs / jnp.sqrt(evals)


_BACKTRACK = 0.5 ** np.arange(12)
# A Newton step is taken if it does not raise the loss by more than this (relative): the loss is a sum
# over a thousand points, evaluated to ~1e-13; near the minimiser a step of size d changes it by
# ~d^2, so comparing losses exactly would stop Newton at d ~ sqrt(rounding) instead of at rounding.
_LOSS_ROUNDING = 1e-10


_ROUNDING = 64 * float(np.finfo(np.float64).eps)  # a Newton step this small (unit-norm coefficients) is converged


def _when(needed, fn, arg, default):
    """`fn(arg)` if `needed`, else `default`; `fn` runs only if needed (under `vmap`: in some lane).
    A `lax.while_loop` of at most one pass (a batched `lax.cond` runs both branches in every lane),
    whose input is tied to its counter (`+ 0.0 * k`, which XLA does not fold for floats): XLA
    hoists loop-invariant work out of a loop, where it would run unconditionally."""

    def once(state):
        k, _ = state
        return k + 1, fn(arg + 0.0 * k)

    return jax.lax.while_loop(lambda state: needed & (state[0] == 0), once, (jnp.asarray(0), default))[1]


def _refine(b0, m_start, status_start, problem: _Problem, config: FitConfig):
    r"""Up to `config.steps` optax L-BFGS steps (zoom line search), then up to `config.polish` Newton
    steps, from `b0` with its tracked branch and status at the loss points (no derivatives: see
    [`_implicit`][]). Returns the end point with its tracked branch and status there.

    The optimiser trains the leaf `y` of a [`_Whitened`][] module (split off by
    `eqx.partition`): coordinates in which the loss Hessian $H_0$ at the closed-form start is
    the identity, so the first step is a Newton step and L-BFGS converges in a few. There the
    squared gradient is the Newton decrement $g^\top H_0^{-1} g \approx 2(\ell - \ell^*)$: L-BFGS
    hands over to Newton once it is below `config.handoff` times the loss (what is left to gain
    is then a vanishing fraction of the loss, Newton's to take quadratically). Newton steps
    backtrack (1, 1/2, ..., 1/2^11: the longest that does not raise the loss beyond its rounding)
    and stop at the rounding level. Each phase is a `lax.while_loop` that computes only its own
    step and finds the branch once per step, at the new point, by carrying the last one there
    (`_carried`: Newton in the coefficients, the tracker from infinity where that is in doubt);
    the last Newton step tracks it from infinity, so the branch returned is the tracker's. Under
    `vmap` every lane stops on its own criterion, so a batch computes what single calls do.
    """
    problem = jax.lax.stop_gradient(problem)
    b0 = jax.lax.stop_gradient(b0)
    _, h_start = _newton_system(b0, m_start, problem, problem, config)
    model = _Whitened(jnp.zeros_like(b0), b0, _whitening(h_start))
    params, static = eqx.partition(model, eqx.tree_at(lambda mdl: mdl.y, jax.tree_util.tree_map(lambda _: False, model), replace=True))
    opt = optax.lbfgs()

    def unit(b):
        return b / jnp.linalg.norm(b)

    def track(params, m_star, status):
        return _carried(_Coefficients(unit(eqx.combine(params, static).b)).raw(problem), m_star, status, problem, config)

    def loss_at(m_star):
        def loss_fn(q):
            return _loss_terms(unit(eqx.combine(q, static).b), m_star, problem, config)[0]

        return loss_fn

    def measured(params, m_star):
        """Loss, gradient (whitened) and whether L-BFGS hands over."""
        value, grads = jax.value_and_grad(loss_at(m_star))(params)
        return value, grads, jnp.sum(grads.y**2) <= config.handoff * value

    def lbfgs_step(carry):
        k, params, state, m_star, status, value, grads, _ = carry
        upd, state = opt.update(grads, state, params, value=value, grad=grads, value_fn=loss_at(m_star))
        params = optax.apply_updates(params, upd)
        m_star, status = track(params, m_star, status)
        return (k + 1, params, state, m_star, status) + measured(params, m_star)

    def lbfgs_more(carry):
        k, *_, done = carry
        return (k < config.steps) & ~done

    carry = (jnp.asarray(0), params, opt.init(params), m_start, status_start) + measured(params, m_start)
    _, params, _, m_star, status, _, _, _ = jax.lax.while_loop(lbfgs_more, lbfgs_step, carry)

    def newton_step(carry):
        k, b, m_star, status, _ = carry
        g, h = _newton_system(b, m_star, problem, problem, config)
        direction = -jnp.linalg.solve(h, g)
        value = _loss_terms(b, m_star, problem, config)[0]
        trials = jax.vmap(lambda a: _loss_terms(unit(b + a * direction), m_star, problem, config)[0])(_BACKTRACK)
        fits = trials <= value * (1 + _LOSS_ROUNDING)
        new = unit(b + jnp.where(jnp.any(fits), jnp.asarray(_BACKTRACK)[jnp.argmax(fits)], 0.0) * direction)
        size = jnp.linalg.norm(new - b)
        # the branch is carried to each new point; the last step's is tracked from infinity (the
        # result's branch is checked, not trusted)
        last = (k + 1 >= config.polish) | (size <= _ROUNDING)
        m_new, status = _carried(_Coefficients(new).raw(problem), m_star, status, problem, config, fresh=last)
        return k + 1, new, m_new, status, size

    def newton_more(carry):
        k, b, *_, size = carry
        return (k < config.polish) & (size > _ROUNDING)

    carry = (jnp.asarray(0), unit(eqx.combine(params, static).b), m_star, status, jnp.asarray(jnp.inf))
    _, b, m_star, status, _ = jax.lax.while_loop(newton_more, newton_step, carry)
    if config.polish == 0:  # no Newton phase: L-BFGS's last branch is checked here
        m_star, status = _tracked(_Coefficients(b).raw(problem), problem, config)
    b = problem.proj @ b  # the constraints to rounding (the gauge term kept b in their null space)
    return b / jnp.linalg.norm(b), m_star, status


def _implicit(b_star, m_star, problem: _Problem, config: FitConfig):
    r"""`b_star` as value, with the derivative of the minimiser: $db = -H^{-1}\,\partial g(b^*; \text{data})$.

    The implicit function theorem on the stationarity $g(b^*(\theta); \theta) = 0$; the
    optimiser's iterations are never differentiated. A `custom_jvp`: the Newton system is built
    only when the fit is differentiated, never in a forward pass.
    """
    return _at_minimiser(config, jax.lax.stop_gradient(b_star), jax.lax.stop_gradient(m_star), problem)


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def _at_minimiser(config: FitConfig, b_star, m_star, problem: _Problem):
    return b_star


@_at_minimiser.defjvp
def _at_minimiser_jvp(config: FitConfig, primals, tangents):
    b_star, m_star, problem = primals
    sg_problem = jax.lax.stop_gradient(problem)
    h = _newton_system(b_star, m_star, sg_problem, sg_problem, config)[1]
    _, dg = jax.jvp(lambda p: _newton_system(b_star, m_star, p, sg_problem, config)[0], (problem,), (tangents[2],))
    return b_star, -jnp.linalg.solve(h, dg)


def _sign_fixed(c):
    flat = c.reshape(-1)
    return c * jnp.sign(flat[jnp.argmax(jnp.abs(flat))])


def _in_atom(x, problem: _Problem):
    """Real points inside the data's atom at 0 (|x| <= the zero tolerance, when there are zeros)."""
    return (problem.w0 > 0) & (jnp.abs(x) <= problem.tol0)


def _on_points(b, m_star, status, problem: _Problem, config: FitConfig):
    """Loss, relative RMS mismatch and branch failures of the curve b at the loss points, given its
    tracked branch and status there (points just above the atom at 0 not counted: `_on_check_grid`)."""
    loss, _ = _loss_terms(b, m_star, problem, config)
    n = problem.z.shape[0]
    rel = jnp.abs(m_star[:n] - problem.m) ** 2 / jnp.abs(problem.m) ** 2
    mismatch = jnp.sqrt(jnp.sum(problem.pw * rel) / jnp.sum(problem.pw))
    counted = jnp.concatenate([problem.pw > 0, jnp.ones(problem.smooth.shape[0], dtype=bool), ~_in_atom(problem.near, problem)])
    return loss, mismatch, jnp.sum(counted & (status != 0))


def _on_check_grid(b, problem: _Problem, config: FitConfig):
    r"""Branch failures, mass and negative mass of the curve b on the check grid (tracked here).

    Grid points inside the atom at 0 (|x| <= the data's zero tolerance, when the data have zeros)
    are left out: the curve carries the atom as its pole, $m(x) \approx -w_0/x$, where a real-axis
    value of size $w_0/|x| \gtrsim 10^{12}$ is a rounding question, not a test of the branch (whether
    the tracker's last Newton step converges there depends on the last bits of the coefficients)."""
    c = _Coefficients(b).raw(problem)
    m0, status0 = stieltjes_branch(c, problem.check + 0j, config.tracker)
    kept = ~_in_atom(problem.check, problem)
    im = jnp.where(kept, jnp.imag(m0), 0.0) / jnp.pi
    # the atom at 0 is the one the curve was built to carry (a missing pole shows up as missing mass)
    mass = jnp.sum(jnp.maximum(im, 0.0) * problem.check_dx) + problem.w0
    negative = jnp.sum(jnp.maximum(-im, 0.0) * problem.check_dx)
    return jnp.sum(kept & (status0 != 0)), mass, negative


def _check_grids(ends, points, lower, problem: _Problem, config: FitConfig):
    """`_on_check_grid` of the result `ends[1]` and, only if the choice between them or the diagnostics
    of the start need it, of the start `ends[0]` (a `lax.while_loop` over the two curves, so a batch
    tracks the start's check grid only if some lane needs it; a batched `lax.cond` would run it in
    every lane). The refinement is kept if it lowers the loss (`lower`) without new branch failures
    (loss `points` and check grid): settled from the result's figures alone when its failures are
    no more than the start's at the loss points. Returns (failures, mass, negative mass), each
    `(start, result)`."""

    def more(state):
        k, (failures, _, _) = state
        settled = lower & (points[1] + failures[1] <= points[0])
        return (k == 0) | ((k == 1) & ~settled)

    def evaluate(state):
        k, figures = state
        i = 1 - k  # the result first
        return k + 1, tuple(f.at[i].set(v) for f, v in zip(figures, _on_check_grid(ends[i], problem, config)))

    dtype = ends.dtype
    init = (jnp.asarray(0), (jnp.zeros(2, points.dtype), jnp.zeros(2, dtype), jnp.zeros(2, dtype)))
    return jax.lax.while_loop(more, evaluate, init)[1]


def _fit_core(base: _Data, extra: tuple, deg: tuple[int, int], n0, config: FitConfig):
    return _fit_problem(*_build_problem(base, extra, deg, config), base, deg, n0, config)


def _fit_problem(problem: _Problem, b0, residual, base: _Data, deg: tuple[int, int], n0, config: FitConfig):
    """Refine the closed-form start `b0` of `problem`, keep the refinement if it is better, and report
    (`deg`: the degrees the diagnostics name). Returns `(c, n0, diagnostics)`."""
    sg_problem = jax.lax.stop_gradient(problem)
    b0_sg = jax.lax.stop_gradient(b0)
    m0, status0 = _tracked(_Coefficients(b0_sg).raw(sg_problem), sg_problem, config)
    if config.steps + config.polish > 0:
        b1, m1, status1 = _refine(b0, m0, status0, problem, config)
    else:
        b1, m1, status1 = b0_sg, m0, status0
    b1 = jax.lax.stop_gradient(b1)
    loss0, mismatch0, points0 = _on_points(b0_sg, m0, status0, sg_problem, config)
    loss1, mismatch1, points1 = _on_points(b1, m1, status1, sg_problem, config)
    lower = jnp.isfinite(loss1) & (loss1 <= loss0)
    points = jnp.stack([points0, points1])
    grid, mass, negative = _check_grids(jnp.stack([b0_sg, b1]), points, lower, sg_problem, config)
    failures = points + grid
    refined = lower & (failures[1] <= failures[0])
    if config.steps + config.polish > 0:
        b = jnp.where(refined, _implicit(b1, m1, problem, config), b0)
    else:
        b = b0
    c = _Coefficients(b).raw(problem)
    c = _sign_fixed(c / jnp.linalg.norm(c))
    pick = jnp.where(refined, 1, 0)
    diag = FitDiagnostics(
        deg=deg,
        log=base.log,
        atom_weight=base.w0,
        zero_tolerance=base.tol0,
        residual=residual,
        mismatch_start=mismatch0,
        mismatch=jnp.stack([mismatch0, mismatch1])[pick],
        loss_start=loss0,
        loss=jnp.stack([loss0, loss1])[pick],
        refined=refined,
        branch_failures=failures[pick],
        mass=mass[pick],
        negative_mass=negative[pick],
    )
    return c, jnp.asarray(n0, dtype=jnp.float64), diag


# ---------------------------------------------------------------------------- public API

_data_program = eqx.filter_jit(_spectrum_data)
_core_program = eqx.filter_jit(_fit_core)


# Called with the config's compiled part (`FitConfig.compiled`): the degree choice's fields do not recompile them;
# the mode (None: automatic; a bool, traced or not) as an array: the data of the automatic choice and of its refits in the decided mode share one program.
def _data_jit(eigs, weights, log: bool | Bool[Array, ""] | None, eps, config: FitConfig) -> _Data:
    return _data_program(eigs, weights, jnp.asarray(-1 if log is None else log, dtype=jnp.int32), eps, config.compiled())


def _core_jit(base: _Data, extra: tuple, deg: tuple[int, int], n0, config: FitConfig):
    return _core_program(base, extra, deg, n0, config.compiled())


def _newton_to_curve(c, z, y, steps: int = 12):
    """The root of P(z, .) reached by Newton from y (the nearest branch to the data)."""
    m = y
    for _ in range(steps):
        pm = polyval2(c, z, m, 0, 1)
        step = polyval2(c, z, m) / jnp.where(pm == 0, 1.0, pm)
        m = m - jnp.where(jnp.isfinite(step), step, 0.0)
    return m


def _scores(base: _Data, validation: tuple, degrees: tuple[tuple[int, int], ...], config: FitConfig):
    r"""Per degree pair of `degrees`, relative RMS distances between the closed-form curve and (a)
    the data at the fit points, (b) the nested smaller spectra moved onto the base curve by the
    exact compression map: `(D, 2)`. Measured in the scaled variables $\hat z = (z - c)/s$,
    $\hat m = s\,m$, where the relative distance is the same and the curve keeps its digits (a
    spectrum far from 0). Every candidate is padded to the largest degrees (`_closed_forms`), so
    one compiled program scores them all."""
    return _scores_program(base, validation, degrees, config.compiled())


@eqx.filter_jit
def _scores_program(base: _Data, validation: tuple, degrees: tuple[tuple[int, int], ...], config: FitConfig):
    curves = _closed_forms(base, degrees, config)

    def distance(ch, z, y, pw):
        zh, yh = (z - base.cz) / base.sz, base.sz * y
        m = _newton_to_curve(ch, zh, yh)
        score = jnp.sqrt(jnp.sum(pw * jnp.abs(m - yh) ** 2 / jnp.abs(yh) ** 2) / jnp.sum(pw))
        return jnp.where(jnp.isfinite(score), score, jnp.inf)

    fit_score = jax.vmap(distance, (0, None, None, None))(curves, base.z, base.m, base.pw)
    if not validation:
        return jnp.stack([fit_score, fit_score], axis=1)
    held = [jnp.concatenate([v[i] for v in validation]) for i in range(3)]
    return jnp.stack([fit_score, jax.vmap(distance, (0, None, None, None))(curves, *held)], axis=1)
