r"""Goodness of fit: how far a law, at its own size $n_0$, is from the eigenvalues it was fitted to.

The Kolmogorov–Smirnov distance at $n_0$,

$$D = \sup_x \lvert F_{n_0}(x) - \hat F(x)\rvert,$$

$F_{n_0}$ the law's distribution function, $\hat F$ the (weighted) empirical one of the
eigenvalues, both with everything within the zero tolerance of 0 set to 0 (an atom computed at
$\pm 10^{-16}$ is the atom at 0). The supremum is attained at a sample point or an atom of the
law, from the left or the right, so both one-sided limits are compared there.

For scale, `kolmogorov_bound`: $m$ independent samples of the true law stay within
$D_\alpha = \sqrt{\ln(2/\alpha)/(2m)}$ ($\approx 1.95/\sqrt m$ at $\alpha = 10^{-3}$; $m$ the
effective count $(\sum w)^2/\sum w^2$) but for a fraction $\alpha$ of draws (Dvoretzky–Kiefer–Wolfowitz);
eigenvalues, which repel, stay far closer. [`predict`][] reports both for the law it chose. They are
figures, not a gate: on real matrices a law can miss its own data at $n_0$ by about $D_\alpha$ and
still beat every baseline at $n$ (the Gauss–Newton case of `tests/realcases.py`: $D = 0.097$ at
$m = 223$, and KS 0.100 against a best baseline of 0.372 at $n$), while other draws of the same
Hessian sit on either side of $D_\alpha$; a rule on this figure would sit on a knife edge.
"""

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from ._custom_types import Array, ArrayLike, Float, Real
from ._spectrum import Spectrum

LEVEL = 1e-3  # Kolmogorov level of the reference bound


def kolmogorov_bound(weights, level: float = LEVEL) -> float:
    r"""$\sqrt{\ln(2/\alpha)/(2m)}$, $m = (\sum w)^2/\sum w^2$: the KS distance that $m$ independent samples
    of the true law exceed with probability about $\alpha$ (the two-sided Dvoretzky–Kiefer–Wolfowitz bound)."""
    w = np.asarray(weights, dtype=float)
    count = w.sum() ** 2 / np.sum(w**2)
    return float(np.sqrt(np.log(2.0 / level) / (2.0 * count)))


@eqx.filter_jit
def fit_distance(spec: Spectrum, eigs: Real[ArrayLike, " m"], weights: Real[ArrayLike, " m"], zero_tol: Real[ArrayLike, ""]) -> Float[Array, ""]:
    r"""$\sup_x \lvert F(x) - \hat F(x)\rvert$ between the law of `spec` (one size) and the weighted
    eigenvalues, with $|\lambda| \le$ `zero_tol` set to 0 in both (see the module docstring). Pure JAX
    with static shapes: the supremum is taken over every eigenvalue and atom slot, weight 0 included
    (a point where nothing jumps cannot raise it)."""
    lam = jnp.asarray(eigs, dtype=jnp.float64)
    w = jnp.where(jnp.asarray(weights) > 0, jnp.asarray(weights, dtype=jnp.float64), 0.0)
    lam, w = jnp.where(jnp.abs(lam) <= zero_tol, 0.0, lam), w / jnp.sum(w)
    raw_pos, aw = (jnp.reshape(a, (-1,)) for a in spec.atoms)
    real = jnp.isfinite(raw_pos) & (aw > 0)  # empty atom slots are padded
    raw_pos, aw = jnp.where(real, raw_pos, 0.0), jnp.where(real, aw, 0.0)
    pos = jnp.where(jnp.abs(raw_pos) <= zero_tol, 0.0, raw_pos)
    points = jnp.concatenate([lam, pos])
    # the empirical law: right and left limits at every point
    order = jnp.argsort(lam)
    cum = jnp.concatenate([jnp.zeros(1), jnp.cumsum(w[order])])
    emp_right = cum[jnp.searchsorted(lam[order], points, side="right")]
    emp_left = cum[jnp.searchsorted(lam[order], points, side="left")]
    # the law: its continuous part (its own atoms taken out of the CDF) plus the snapped atoms
    cont = spec.cdf(points) - jnp.sum(jnp.where(raw_pos <= points[:, None], aw, 0.0), axis=1)
    law_right = cont + jnp.sum(jnp.where(pos <= points[:, None], aw, 0.0), axis=1)
    law_left = cont + jnp.sum(jnp.where(pos < points[:, None], aw, 0.0), axis=1)
    return jnp.maximum(jnp.max(jnp.abs(law_right - emp_right)), jnp.max(jnp.abs(law_left - emp_left)))
