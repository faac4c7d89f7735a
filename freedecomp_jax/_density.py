r"""Density (Plemelj) and atoms of a curve's physical branch.

$\rho(x) = \frac1\pi \operatorname{Im} m(x + i0)$: the limit is a root of $P(x, \cdot)$,
reached by continuing the branch down to a tiny height and finishing with Newton *at*
$\delta = 0$, so square-root edges are resolved without a $\delta$-ladder.

Atoms sit at real roots $x_0$ of the leading coefficient $a_K(z)$ (a pole of some branch);
the dominant balance $a_K m^K + a_{K-1}m^{K-1} \approx 0$ gives the residue
$w = a_{K-1}(x_0)/a_K'(x_0)$, kept only if the physical branch really has that pole
($\eta \operatorname{Im} m(x_0 + i\eta) \to w$).
"""

import equinox as eqx
import jax
import jax.numpy as jnp

from ._branch import BranchTracker, stieltjes_branch
from ._roots import polyroots
from ._series import laurent_series, spectral_radius


def pole_candidates(c, center, width):
    r"""Real roots $a$ of $a_K$ (as `(positions, scaled positions)`) and the residue
    $w_0 = a_{K-1}(a)/a_K'(a)$ of the branch with a pole there ("virtual" when $w_0 \le 0$);
    $w_0 = -\infty$ marks empty slots. $K$ is the highest power of $m$ with a non-zero coefficient
    (a curve padded with zero columns, as automatic degrees under `jit` return it, has the same poles).

    Computed on the unscaled coefficients (so an atom at 0 stays exactly at 0); the roots are
    differentiable through one value-neutral Newton step (implicit function theorem).
    """
    L, K = c.shape[0] - 1, c.shape[1] - 1
    top = jnp.max(jnp.where(jnp.any(c != 0, axis=0), jnp.arange(K + 1), 1))  # the highest non-zero column
    aK = jnp.take(c, top, axis=1)
    daK = aK[1:] * jnp.arange(1, L + 1)
    roots = polyroots(jax.lax.stop_gradient(aK).astype(jnp.complex128)).roots
    a_s = jax.lax.stop_gradient(jnp.real(roots))
    real = (jnp.abs(jnp.imag(roots)) <= 1e-8 * (jnp.abs(roots) + width)) & (jnp.abs(roots - center) <= 1e4 * width)
    # a slot that is not a real root (a root at infinity of a padded a_K comes back inf or NaN) is evaluated at the
    # centre: finite values and derivatives where `where` drops them (0 times an infinite derivative is NaN)
    a_s = jnp.where(real, a_s, center)
    dak_s = jax.lax.stop_gradient(jnp.polyval(daK[::-1], a_s))
    safe = jnp.where(dak_s == 0, 1.0, dak_s)
    p = jnp.polyval(aK[::-1], a_s)
    a = a_s - (p - jax.lax.stop_gradient(p)) / safe
    w0 = jnp.polyval(jnp.take(c, top - 1, axis=1)[::-1], a) / jnp.where(dak_s == 0, 1.0, jnp.polyval(daK[::-1], a))
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


def _in_unit(w):
    """Residues that can be atom weights, (0, 1]; 0 elsewhere."""
    return jnp.where((w > 1e-10) & (w <= 1 + 1e-6) & jnp.isfinite(w), w, 0.0)


def _radius(c, tracker):
    R = spectral_radius(laurent_series(c, tracker.series_terms))
    return jnp.where(R > 0, R, 1.0)


@eqx.filter_jit
def density(c, x, tracker: BranchTracker = BranchTracker()):
    r"""Absolutely continuous density at real points x (atoms excluded).

    A query that falls on an atom candidate (a pole of some branch) is moved off it by
    $10^{-7}(|x_0| + R)$, where the atom's contribution to $\operatorname{Im} m$ vanishes.
    """
    x = jnp.asarray(x, dtype=jnp.float64)
    R = _radius(c, tracker)
    pos, _, w = pole_candidates(c, jnp.zeros(()), R)
    w = _in_unit(w)
    gap = 1e-7 * (jnp.abs(pos) + R)
    near = (jnp.abs(x[..., None] - pos) <= gap) & (w > 0)
    shift = jax.lax.stop_gradient(jnp.sum(jnp.where(near, pos + gap - x[..., None], 0.0), axis=-1))
    m, status = stieltjes_branch(c, (x + shift).astype(jnp.complex128), tracker)
    return jnp.maximum(jnp.imag(m), 0.0) / jnp.pi, status


@eqx.filter_jit
def atoms(c, tracker: BranchTracker = BranchTracker()):
    """(positions (L,), weights (L,)); weight 0 in slots that are not atoms of the physical branch."""
    R = _radius(c, tracker)
    x0, _, w_res = pole_candidates(c, jnp.zeros(()), R)
    w_res = _in_unit(w_res)
    eta = 1e-7 * (jnp.abs(x0) + 1e-3 * R)
    m, _ = stieltjes_branch(c, x0 + 1j * eta, tracker)
    w_phys = eta * jnp.imag(m)
    keep = (w_res > 0) & (jnp.abs(w_phys - w_res) <= 1e-3 * w_res)
    return jnp.where(keep, x0, 0.0), jnp.where(keep, w_res, 0.0)
