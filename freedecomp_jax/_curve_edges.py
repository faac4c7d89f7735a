r"""Edges and cusps of a curve's law at a size, by Newton on their exact equations.

With $X(\zeta, y, \tau)$ the query point of a characteristic state (the kind's `edge_x`), an
edge is a real state where $x$ is stationary along the curve $P(\zeta, y) = 0$:
$E = (P, D_1)$ with $D_1 = X_\zeta P_y - X_y P_\zeta$; a cusp (where a gap opens, free, or
closes, deformed) has $D_2 = \nabla D_1\cdot(P_y, -P_\zeta) = 0$ as well, with $\tau$ unknown
(docs/method.md, "Edges and cusps").
"""

import equinox as eqx
import jax
import jax.numpy as jnp

from ._curve_solve import frame
from ._custom_types import Array
from ._edge_flow import AbstractEdgeSystem
from ._kinds import AbstractDecompression
from ._newton import real_newton
from ._poly import polyval2
from ._system import System


def _residuals(ct, kind: AbstractDecompression):
    """`edge(v, tau)` = (P, D1) and `cusp(u)` = (P, D1, D2) with u = (zeta, y, tau)."""

    def P(v):
        return polyval2(ct, v[0], v[1])

    def D1(v, tau):
        gP = jax.grad(P)(v)
        gX = jax.grad(lambda w: kind.edge_x(w[0], w[1], tau))(v)
        return gX[0] * gP[1] - gX[1] * gP[0]

    def D2(v, tau):
        gP = jax.grad(P)(v)
        gD = jax.grad(lambda w: D1(w, tau))(v)
        return gD[0] * gP[1] - gD[1] * gP[0]

    def edge(v, tau):
        return jnp.stack([P(v), D1(v, tau)])

    def cusp(u):
        v, tau = u[:2], u[2]
        return jnp.stack([P(v), D1(v, tau), D2(v, tau)])

    return edge, cusp


def _seed_states(c, kind, tau, x_seed, m_seed):
    center, width, _, ct = frame(c, kind)
    zt = ((x_seed - center) / width).astype(jnp.complex128)
    zeta, y = System(ct, kind).state_of(tau, zt, m_seed * width)
    return center, width, ct, zeta, y


class CurveEdges(AbstractEdgeSystem):
    r"""Edges of a curve's law under a kind: $u = (\zeta, y)$ real, scaled coordinates; $E = (P, D_1)$."""

    c: Array
    kind: AbstractDecompression

    def seed(self, t, x_seed, m_seed):
        _, _, _, zeta, y = _seed_states(self.c, self.kind, jnp.exp(t), x_seed, m_seed)
        return jnp.stack([jnp.real(zeta), jnp.real(y)]), jnp.ones(())

    def residual(self, u, t, s):
        _, _, _, ct = frame(self.c, self.kind)
        edge, _ = _residuals(ct, self.kind)
        return edge(u, jnp.exp(t))

    def x(self, u, t, s):
        center, width, _, _ = frame(self.c, self.kind)
        return center + width * self.kind.edge_x(u[0], u[1], jnp.exp(t))


@eqx.filter_jit
def refine_cusps(c, kind: AbstractDecompression, x_seed, m_seed, tau_seed):
    """Newton on the cusp system (zeta, y, tau) from seeds; returns (x*, tau*, ok)."""
    center, width, ct, zeta, y = _seed_states(c, kind, tau_seed, x_seed, m_seed)
    _, cusp = _residuals(ct, kind)
    u0 = jnp.stack([jnp.real(zeta), jnp.real(y), tau_seed], axis=-1)

    def one(u0):
        u, r = real_newton(cusp, u0)
        return center + width * kind.edge_x(u[0], u[1], u[2]), u[2], r

    xs, ts, r = jax.vmap(one)(u0)
    return xs, ts, r <= 1e-9
