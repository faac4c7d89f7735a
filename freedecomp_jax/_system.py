r"""The characteristic system of a curve under a decompression kind, and Newton on it.

$F(\tau; z, \zeta, y) = (P(\zeta, y), F_2(\tau; z, \zeta, y)) = 0$ with $F_2$ from the kind
([`AbstractDecompression`][]); $m_\tau(z)$ is read off the state $(\zeta, y)$. Newton keeps the
iterate with the smallest relative residual; the value-neutral step `ift_step` carries the
derivative of the implicit function theorem, $ds = -J^{-1}\partial F$ (docs/method.md,
"Gradients by the implicit function theorem").
"""

import equinox as eqx
import jax
import jax.numpy as jnp

from ._custom_types import Array
from ._kinds import AbstractDecompression
from ._poly import polyval2


class System(eqx.Module):
    """$F = 0$ of curve `c` (scaled coordinates) under `kind`, with its Jacobian and residual scales."""

    c: Array
    kind: AbstractDecompression

    def F(self, tau, z, zeta, y):
        return polyval2(self.c, zeta, y), self.kind.f2(tau, z, zeta, y)

    def J(self, tau, z, zeta, y) -> tuple[Array, Array, Array, Array]:
        pz = polyval2(self.c, zeta, y, 1, 0)
        py = polyval2(self.c, zeta, y, 0, 1)
        f2_zeta, f2_y = self.kind.f2_jac(tau, z, zeta, y)
        return pz, py, f2_zeta, f2_y

    def scale(self, tau, z, zeta, y):
        """Magnitudes of the terms of F1 and F2 (for relative residuals)."""
        s1 = polyval2(jnp.abs(self.c), jnp.abs(zeta), jnp.abs(y))
        tiny = 1e-300
        return s1 + tiny, self.kind.f2_scale(tau, z, zeta, y) + tiny

    def m_of(self, tau, z, zeta, y):
        return self.kind.m_of(tau, z, zeta, y)

    def state_of(self, tau, z, m):
        return self.kind.state_of(tau, z, m)


def solve2(j11, j12, j21, j22, b1, b2):
    """Cramer solve of the 2x2 complex system, with a zero step where it is singular."""
    det = j11 * j22 - j12 * j21
    bad = (det == 0) | ~jnp.isfinite(det)
    det = jnp.where(bad, 1.0, det)
    d1 = (b1 * j22 - j12 * b2) / det
    d2 = (j11 * b2 - j21 * b1) / det
    return jnp.where(bad, 0.0, d1), jnp.where(bad, 0.0, d2)


def newton(sys, tau, z, zeta, y, steps: int):
    """Newton on F = 0 at fixed (tau, z), keeping the iterate with the smallest residual."""

    def res(zeta, y):
        f1, f2 = sys.F(tau, z, zeta, y)
        s1, s2 = sys.scale(tau, z, zeta, y)
        r = jnp.maximum(jnp.abs(f1) / s1, jnp.abs(f2) / s2)
        return jnp.where(jnp.isfinite(r), r, jnp.inf)

    def body(_, carry):
        zeta, y, bz, by, br = carry
        f1, f2 = sys.F(tau, z, zeta, y)
        j11, j12, j21, j22 = sys.J(tau, z, zeta, y)
        d1, d2 = solve2(j11, j12, j21, j22, f1, f2)
        zeta, y = zeta - d1, y - d2
        ok = jnp.isfinite(zeta) & jnp.isfinite(y)
        zeta, y = jnp.where(ok, zeta, bz), jnp.where(ok, y, by)
        r = res(zeta, y)
        better = r < br
        return zeta, y, jnp.where(better, zeta, bz), jnp.where(better, y, by), jnp.where(better, r, br)

    r0 = res(zeta, y)
    _, _, zeta, y, r = jax.lax.fori_loop(0, steps, body, (zeta, y, zeta, y, r0))
    return zeta, y, r


def ift_step(sys, tau, z, zeta, y):
    """Value-neutral Newton step: same value, derivative -J^{-1} dF (implicit function theorem)."""
    zs, ys = jax.lax.stop_gradient(zeta), jax.lax.stop_gradient(y)
    f1, f2 = sys.F(tau, z, zs, ys)
    j11, j12, j21, j22 = sys.J(tau, z, zs, ys)
    d1, d2 = solve2(j11, j12, j21, j22, f1, f2)
    return zs - (d1 - jax.lax.stop_gradient(d1)), ys - (d2 - jax.lax.stop_gradient(d2))


def descend(sys, tau, x, heights, zeta, y, steps: int):
    """Newton continuation down the heights z = x + i h_j (one Newton solve per level)."""

    def level(j, carry):
        zeta, y, _ = carry
        return newton(sys, tau, x + 1j * heights[j], zeta, y, steps)

    r0 = jnp.zeros(jnp.shape(zeta), dtype=jnp.float64)
    return jax.lax.fori_loop(0, heights.shape[0], level, (zeta, y, r0))
