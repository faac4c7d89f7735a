r"""Edges of a law as it grows: exact equations, refined by Newton at one size, flowed in size by diffrax.

An edge of the law at size $n = n_0e^t$ is a real state $u$ with $E(u, t) = 0$ (a law's
[`AbstractEdgeSystem`][]: for a curve, $P = 0$ and $dx/dy = 0$ along the characteristic map; for
a Lévy–Khintchine law, $z_\tau'(m) = 0$; docs/method.md, "Edges and cusps"), at the point
$x(u, t)$. Differentiating $E(u(t), t) = 0$ gives the ODE of an edge's trajectory,

$$\dot u = -E_u^{-1}\big(\partial_t E \pm k\,E\big),$$

stabilised so that the residual decays in the direction of integration; each saved state is
polished by a few Newton steps on $E = 0$. It is a true ODE in $t$ between cusps,
where $E_u$ turns singular and two edges meet: integrated from the size where most edges exist
(the largest one when gaps open as the matrix grows, free; the smallest when they close,
deformed), an edge that does not exist at a size dies at its cusp, and its lane stops there.
One diffrax solve per edge, vmapped, saved at every requested size: the trajectories that
[`Spectrum.edges`][] returns for a plot of the support against $n$.
"""

import abc

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp

from ._custom_types import Array
from ._newton import real_newton


class AbstractEdgeSystem(eqx.Module):
    """The exact edge equations of a law under a decompression kind (see the module docstring)."""

    @abc.abstractmethod
    def seed(self, t, x_seed, m_seed) -> tuple[Array, Array]:
        """`(u, s)`: the state of a grid point next to an edge at size $n_0e^t$ (one lane), and
        the lane's scale `s` (fixed along the lane)."""

    @abc.abstractmethod
    def residual(self, u, t, s) -> Array:
        """$E(u, t)$, dimensionless."""

    @abc.abstractmethod
    def x(self, u, t, s) -> Array:
        """The edge's position $x(u, t)$."""


class EdgeFlow(eqx.Module):
    """How edges are flowed in size: a diffrax adaptive solver, its tolerances (in the lanes' own
    scaled units), the stabilisation rate $k$ and the step budget."""

    solver: diffrax.AbstractAdaptiveSolver = diffrax.Tsit5()
    rtol: float = eqx.field(static=True, default=1e-8)
    atol: float = eqx.field(static=True, default=1e-10)
    stabilization: float = eqx.field(static=True, default=4.0)
    max_steps: int = eqx.field(static=True, default=4096)


_TOL = 1e-9  # residual of an edge that exists


@eqx.filter_jit
def refine_edges(system: AbstractEdgeSystem, t, x_seed, m_seed):
    """Newton on $E(\\cdot, t) = 0$ from grid seeds: `(x_edge, u, s, ok)` per lane."""

    def one(x0, m0):
        u0, s = system.seed(t, x0, m0)
        u, r = real_newton(lambda u: system.residual(u, t, s), u0)
        return system.x(u, t, s), u, s, r <= _TOL

    return jax.vmap(one)(x_seed, m_seed)


@eqx.filter_jit
def flow_edges(system: AbstractEdgeSystem, t0, u0, s, ts, flow: EdgeFlow):
    """Each lane's edge at every time in `ts` (monotone, away from `t0`), by diffrax: `(x, alive)`, `(S, E)`."""
    # the pull back onto E = 0 must decay in the direction of integration
    k = flow.stabilization * jnp.sign(ts[-1] - t0)

    def field(t, u, s):
        E = system.residual(u, t, s)
        Eu = jax.jacfwd(lambda v: system.residual(v, t, s))(u)
        Et = jax.jacfwd(lambda tt: system.residual(u, tt, s))(t)
        du = -jnp.linalg.solve(Eu, Et + k * E)
        return jnp.where(jnp.all(jnp.isfinite(du)), du, jnp.zeros_like(du))

    def one(u0, s):
        sol = diffrax.diffeqsolve(
            diffrax.ODETerm(field),
            flow.solver,
            t0=t0,
            t1=ts[-1],
            dt0=None,
            y0=u0,
            args=s,
            saveat=diffrax.SaveAt(ts=ts),
            stepsize_controller=diffrax.PIDController(rtol=flow.rtol, atol=flow.atol),
            max_steps=flow.max_steps,
            throw=False,
        )
        us = sol.ys
        assert us is not None
        # each saved state polished by Newton on the exact equations (a few steps: it is on the edge already)
        us, r = jax.vmap(lambda u, t: real_newton(lambda v: system.residual(v, t, s), u, steps=4))(us, ts)
        x = jax.vmap(lambda u, t: system.x(u, t, s))(us, ts)
        # a lane is alive while its state solves the edge equations (it stops at its cusp)
        ok = jnp.isfinite(x) & (r <= _TOL)
        ok = jnp.cumprod(ok.astype(jnp.int32)) > 0
        return x, ok

    x, ok = jax.vmap(one)(u0, s)
    return x.T, ok.T
