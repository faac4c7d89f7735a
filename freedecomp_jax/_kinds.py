r"""Decompression kinds: how the law of a random principal submatrix grows with its size.

A kind is a strategy object passed to [`decompress`][] and [`predict`][]; the maths that
differs between kinds lives here and nowhere else (docs/method.md, "Free decompression" and
"Deformed decompression").

Every kind is written as a characteristic system $F(\tau; z, \zeta, y) = (F_1, F_2) = 0$
with $F_1 = P(\zeta, y)$ the curve at $n_0$ and $\tau = n/n_0$:

- [`Free`][]: $F_2 = y(\zeta - z) - (\tau - 1)$, $m_\tau(z) = y/\tau$ (a principal
  submatrix of a matrix in general position: free cumulants scale as $\tau^{j-1}$);
- [`Deformed`][]`(ratio)`: Gram matrices $XX^\top$ with $X$ of shape $n \times q$, $q$ fixed,
  aspect ratio $c = \tau c_0$, $c_0 = n_0/q$ = `ratio`: $F_2 = (\tau\zeta - z)A + (\tau - 1)\zeta$,
  $A = c_0y\zeta + c_0 - 1$, $m_\tau(z) = (A/\zeta - (c - 1)/z)/c$.
"""

import abc
from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from ._custom_types import Array, ArrayLike, Real
from ._evolve import evolve_deformed, evolve_free
from ._moments import evolve_moments
from ._x64 import is_concrete


class AbstractDecompression(eqx.Module):
    """A decompression kind: the second characteristic equation, its exact curve evolution,
    its atom rule and its exact moments (see the module docstring)."""

    # ------------------------------------------------------------------ the characteristic system
    @abc.abstractmethod
    def f2(self, tau, z, zeta, y) -> Array:
        """$F_2(\\tau; z, \\zeta, y)$."""

    @abc.abstractmethod
    def f2_jac(self, tau, z, zeta, y) -> tuple[Array, Array]:
        r"""$(\partial_\zeta F_2, \partial_y F_2)$."""

    @abc.abstractmethod
    def f2_dtau(self, tau, z, zeta, y) -> Array:
        r"""$\tau\,\partial_\tau F_2$ (the derivative in $t = \log\tau$)."""

    @abc.abstractmethod
    def f2_scale(self, tau, z, zeta, y) -> Array:
        """Magnitude of the terms of $F_2$ (for relative residuals)."""

    @abc.abstractmethod
    def m_of(self, tau, z, zeta, y) -> Array:
        r"""$m_\tau(z)$ from the characteristic state."""

    @abc.abstractmethod
    def state_of(self, tau, z, m) -> tuple[Array, Array]:
        r"""The characteristic state $(\zeta, y)$ of $m_\tau(z)$ (inverse of `m_of`)."""

    @abc.abstractmethod
    def edge_x(self, zeta, y, tau) -> Array:
        r"""$X(\zeta, y, \tau)$: the query point $z$ whose state is $(\zeta, y)$ ($F_2 = 0$ solved for $z$)."""

    # ------------------------------------------------------------------ curves, atoms, moments
    @abc.abstractmethod
    def evolve_coeffs(self, c, t) -> Array:
        """Coefficients of the exactly evolved curve $P_t$ (max-normalised)."""

    @abc.abstractmethod
    def frame(self, center, width) -> tuple[Array, Array]:
        """Centre and width of the scaled coordinates in which the system is solved."""

    @abc.abstractmethod
    def atom_slots(self, positions, scaled, residues) -> tuple[Array, Array, Array]:
        """Atom candidates `(positions, scaled positions, residues at n0)`, slots added if the kind has its own."""

    @abc.abstractmethod
    def atom_weights(self, positions, residues, measured0, measured, taus) -> tuple[Array, Array]:
        r"""Atoms `(positions, weights)` at every size, `(S, A)`: the kind's rule, kept only where
        the physical branch at that size really has the pole (`measured` $= \eta\operatorname{Im}m(a + i\eta)$;
        `measured0` the same at $n_0$, `None` unless `needs_initial_weights`)."""

    @abc.abstractmethod
    def without_rows(self, kept: Real[ArrayLike, ""]) -> "AbstractDecompression":
        """The kind for the block that keeps a fraction `kept` of the rows (zero rows set aside)."""

    needs_initial_weights: eqx.AbstractClassVar[bool]
    gaps_open: eqx.AbstractClassVar[bool]  # True: bulks split as the matrix grows; False: they merge

    @abc.abstractmethod
    def singular(self, scaled_x) -> Array:
        """Grid points where the kind's relations are singular (reported as on an atom)."""

    @abc.abstractmethod
    def curve_moments(self, c, t, order: int, central_moments) -> tuple[Array, Array]:
        r"""Exact mean and central moments $\mu_0..\mu_{order}$ at size $n_0e^t$ of the law of
        curve `c` (`central_moments(c, order)` gives the mean and unit-mass central moments of a curve's law)."""


class Free(AbstractDecompression):
    r"""Free decompression: a random principal submatrix of a matrix in general position.

    $R_\tau(w) = R(\tau w)$ (free cumulants $\kappa_j \to \tau^{j-1}\kappa_j$); atoms keep their
    position and their weight follows $w(\tau) = 1 - (1 - w_0)/\tau$.
    """

    needs_initial_weights: ClassVar[bool] = False
    gaps_open: ClassVar[bool] = True

    def without_rows(self, kept: Real[ArrayLike, ""]) -> "Free":
        return self

    def f2(self, tau, z, zeta, y) -> Array:
        return y * (zeta - z) - (tau - 1)

    def f2_jac(self, tau, z, zeta, y) -> tuple[Array, Array]:
        return y, zeta - z

    def f2_dtau(self, tau, z, zeta, y) -> Array:
        return -tau * jnp.ones_like(zeta)

    def f2_scale(self, tau, z, zeta, y) -> Array:
        # term by term: at tau = 1 the solution has zeta = z, so |y (zeta - z)| would vanish too
        return jnp.abs(y) * (jnp.abs(zeta) + jnp.abs(z)) + jnp.abs(tau - 1)

    def m_of(self, tau, z, zeta, y) -> Array:
        return y / tau

    def state_of(self, tau, z, m) -> tuple[Array, Array]:
        y = tau * m
        return z + (tau - 1) / y, y

    def edge_x(self, zeta, y, tau) -> Array:
        return zeta - (tau - 1) / y

    def evolve_coeffs(self, c, t) -> Array:
        return evolve_free(c, t)

    def frame(self, center, width) -> tuple[Array, Array]:
        return center, width

    def atom_slots(self, positions, scaled, residues) -> tuple[Array, Array, Array]:
        return positions, scaled, residues

    def atom_weights(self, positions, residues, measured0, measured, taus) -> tuple[Array, Array]:
        # w(t) = 1 - (1 - w0)/tau at fixed a (w0 <= 0: an atom born during the growth)
        w_t = 1.0 - (1.0 - residues[None, :]) / taus[:, None]
        w_t = jnp.where(jnp.abs(measured - w_t) <= 1e-3 * jnp.abs(w_t) + 1e-6, w_t, 0.0)
        return jnp.broadcast_to(positions[None, :], w_t.shape), w_t

    def singular(self, scaled_x) -> Array:
        return jnp.zeros(scaled_x.shape, dtype=bool)

    def curve_moments(self, c, t, order, central_moments) -> tuple[Array, Array]:
        mean, exact = central_moments(c, order)
        return mean, evolve_moments(exact, t)  # free decompression keeps the mean


class Deformed(AbstractDecompression):
    r"""Deformed decompression of a Gram matrix $A = XX^\top$, $X$ of shape $n \times q$ with $q$ fixed.

    `ratio` is $c_0 = n_0/q$ at the observed size; at size $n$ the aspect ratio is $c = \tau c_0$.
    The companion law of $X^\top X$ is freely decompressed, so an atom at 0 of weight
    $\max(w_0, 1 - 1/c)$ is born once $c > 1$, and an atom at $a \ne 0$ moves to $\tau a$.
    [`predict`][] also tries the [`LevyKhintchine`][] law of rank $q$ (`fit_levy(..., rank=q)`), whose
    free decompression is exactly the Gram matrix's, for spectra no curve fits.
    """

    ratio: Real[Array, ""]
    needs_initial_weights: ClassVar[bool] = True
    gaps_open: ClassVar[bool] = False

    def __init__(self, ratio: Real[ArrayLike, "..."]):
        if is_concrete(ratio):
            r = np.asarray(ratio, dtype=float)
            if r.shape != () or not np.isfinite(r) or r <= 0:
                raise ValueError(f"Deformed(ratio) needs a positive finite scalar ratio = n0/q (X of shape n0 x q); got {ratio!r}.")
        self.ratio = jnp.asarray(ratio, dtype=jnp.float64)

    def without_rows(self, kept: Real[ArrayLike, ""]) -> "Deformed":
        return Deformed(self.ratio * kept)  # X without its zero rows: fewer rows, same q

    def _A(self, zeta, y):
        return self.ratio * y * zeta + self.ratio - 1

    def f2(self, tau, z, zeta, y) -> Array:
        return (tau * zeta - z) * self._A(zeta, y) + (tau - 1) * zeta

    def f2_jac(self, tau, z, zeta, y) -> tuple[Array, Array]:
        c0, B = self.ratio, tau * zeta - z
        return tau * self._A(zeta, y) + c0 * y * B + (tau - 1), c0 * zeta * B

    def f2_dtau(self, tau, z, zeta, y) -> Array:
        return tau * zeta * (self._A(zeta, y) + 1)

    def f2_scale(self, tau, z, zeta, y) -> Array:
        sA = self.ratio * jnp.abs(y * zeta) + jnp.abs(self.ratio - 1)
        return (tau * jnp.abs(zeta) + jnp.abs(z)) * sA + jnp.abs((tau - 1) * zeta)

    def m_of(self, tau, z, zeta, y) -> Array:
        cc = tau * self.ratio
        return (self._A(zeta, y) / zeta - (cc - 1) / z) / cc

    def state_of(self, tau, z, m) -> tuple[Array, Array]:
        cc = tau * self.ratio
        u = cc * m + (cc - 1) / z
        zeta = (z - (tau - 1) / u) / tau
        return zeta, (u - (self.ratio - 1) / zeta) / self.ratio

    def edge_x(self, zeta, y, tau) -> Array:
        return tau * zeta + (tau - 1) * zeta / self._A(zeta, y)

    def evolve_coeffs(self, c, t) -> Array:
        return evolve_deformed(c, t, self.ratio)

    def frame(self, center, width) -> tuple[Array, Array]:
        # the deformed relations are scale but not shift invariant
        return jnp.zeros_like(center), jnp.sqrt(width**2 + center**2)

    def atom_slots(self, positions, scaled, residues) -> tuple[Array, Array, Array]:
        # slot 0: the rank-deficiency atom at 0
        residues = jnp.concatenate([jnp.zeros((1,)), jnp.where(jnp.abs(scaled) > 1e-8, residues, -jnp.inf)])
        return jnp.concatenate([jnp.zeros((1,)), positions]), jnp.concatenate([jnp.zeros((1,)), scaled]), residues

    def atom_weights(self, positions, residues, measured0, measured, taus) -> tuple[Array, Array]:
        c0 = self.ratio
        physical0 = (jnp.abs(measured0 - residues) <= 1e-3 * jnp.abs(residues) + 1e-6) & (residues > 0)
        w00 = jnp.where(measured0[0] > 1e-6, measured0[0], 0.0)
        cc = taus * c0
        w_zero = jnp.maximum(w00, 1.0 - 1.0 / cc)  # born when c = tau c0 crosses 1
        w_nz = jnp.where(physical0[1:], residues[1:], 0.0)
        w_nz_t = jnp.maximum(0.0, 1.0 - taus[:, None] * (1.0 - c0 * w_nz[None, :])) / cc[:, None]
        w_t = jnp.concatenate([w_zero[:, None], jnp.where(w_nz[None, :] > 0, w_nz_t, 0.0)], axis=1)
        return taus[:, None] * positions[None, :], w_t

    def singular(self, scaled_x) -> Array:
        return jnp.abs(scaled_x) <= 1e-12  # z = 0 is a removable singularity of the deformed map

    def curve_moments(self, c, t, order, central_moments) -> tuple[Array, Array]:
        return central_moments(self.evolve_coeffs(c, t), order)
