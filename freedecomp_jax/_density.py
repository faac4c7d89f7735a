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


def _atom_candidates(c, R):
    """Real roots x0 of a_K with residue w = a_{K-1}(x0)/a_K'(x0) in (0, 1] (no branch check)."""
    L, K = c.shape[0] - 1, c.shape[1] - 1
    aK, aK1 = c[:, K], c[:, K - 1]
    roots = polyroots(aK.astype(jnp.complex128)).roots
    x0 = jnp.real(roots)
    real = (jnp.abs(jnp.imag(roots)) <= 1e-8 * (jnp.abs(roots) + R)) & (jnp.abs(roots) <= 1e3 * R)
    i = jnp.arange(1, L + 1)
    dak = jnp.polyval((aK[1:] * i)[::-1], x0)
    w = jnp.polyval(aK1[::-1], x0) / jnp.where(dak == 0, jnp.inf, dak)
    ok = real & (w > 1e-10) & (w <= 1 + 1e-6) & jnp.isfinite(w)
    return x0, jnp.where(ok, w, 0.0)


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
    pos, w = _atom_candidates(c, R)
    gap = 1e-7 * (jnp.abs(pos) + R)
    near = (jnp.abs(x[..., None] - pos) <= gap) & (w > 0)
    shift = jax.lax.stop_gradient(jnp.sum(jnp.where(near, pos + gap - x[..., None], 0.0), axis=-1))
    m, status = stieltjes_branch(c, (x + shift).astype(jnp.complex128), tracker)
    return jnp.maximum(jnp.imag(m), 0.0) / jnp.pi, status


@eqx.filter_jit
def atoms(c, tracker: BranchTracker = BranchTracker()):
    """(positions (L,), weights (L,)); weight 0 in slots that are not atoms of the physical branch."""
    R = _radius(c, tracker)
    x0, w_res = _atom_candidates(c, R)
    eta = 1e-7 * (jnp.abs(x0) + 1e-3 * R)
    m, _ = stieltjes_branch(c, x0 + 1j * eta, tracker)
    w_phys = eta * jnp.imag(m)
    keep = (w_res > 0) & (jnp.abs(w_phys - w_res) <= 1e-3 * w_res)
    return jnp.where(keep, x0, 0.0), jnp.where(keep, w_res, 0.0)
