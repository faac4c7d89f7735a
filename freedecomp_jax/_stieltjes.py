r"""Empirical Stieltjes transform and the points where a curve is fitted to it.

The data of a fit is $m_{\rm emp}(z) = \sum_k w_k/(\lambda_k - z) / \sum_k w_k$ sampled off
the real axis. Sampling at a distance comparable to the spectrum's own scale is a Poisson
smoothing of the empirical spectral distribution, so no histogram or kernel density is
needed. Every function here has static output shapes, so a batch of spectra (padded and
masked by `weights`) goes through `jax.vmap`.

Two point sets, both with `n_radii * n_angles` points in the upper half plane (the lower
half is redundant: real coefficients give $m(\bar z) = \overline{m(z)}$):

- *linear*: Bernstein ellipses $z = c + \tfrac d2 (r e^{i\theta} + r^{-1} e^{-i\theta})$
  around the data interval $[c - d, c + d]$;
- *log* (positive spectra spanning decades): the same ellipses drawn around
  $[\ln a, \ln b]$ in the variable $u = \ln z$, with the height mapped to an angle,
  $z = e^{\operatorname{Re} u} e^{i\varphi}$, $\varphi \propto \operatorname{Im} u$. A
  point above $x$ then sits at height $x \sin\varphi$: every decade is sampled at heights
  comparable to its own scale.

Points closer to the data interval than `cut_eps` times its width (in log mode: in the
metric of $\ln z$) get weight zero rather than being dropped, which keeps shapes static.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._custom_types import Array, ArrayLike, Bool, Complex, Float


class PointGeometry(eqx.Module):
    """Where the empirical Stieltjes transform is sampled (all relative to the data).

    - `r_min`, `r_max`, `n_radii`: Bernstein-ellipse radii, `linspace(r_min, r_max, n_radii)`;
      a radius $r$ passes at height $\\tfrac d2 (r - 1/r)$ above the centre of an interval of
      half-width $d$.
    - `n_angles`: points per ellipse in the upper half plane.
    - `log_angle`: in log mode, the largest angle $\\arg z$ (reached at the centre of the
      outermost ellipse).
    - `cut_eps`: points within `cut_eps` times the interval width of the interval are
      masked out.
    """

    r_min: float = eqx.field(static=True, default=1.2)
    r_max: float = eqx.field(static=True, default=2.5)
    n_radii: int = eqx.field(static=True, default=6)
    n_angles: int = eqx.field(static=True, default=96)
    log_angle: float = eqx.field(static=True, default=float(np.pi / 2))
    cut_eps: float = eqx.field(static=True, default=0.01)

    def __check_init__(self):
        if not (1.0 < self.r_min <= self.r_max):
            raise ValueError(f"PointGeometry needs 1 < r_min <= r_max; got r_min={self.r_min}, r_max={self.r_max}.")
        if self.n_radii < 1 or self.n_angles < 2:
            raise ValueError(f"PointGeometry needs n_radii >= 1 and n_angles >= 2; got {self.n_radii}, {self.n_angles}.")
        if not (0.0 < self.log_angle < np.pi):
            raise ValueError(f"PointGeometry.log_angle must lie in (0, pi); got {self.log_angle}.")

    @property
    def n_points(self) -> int:
        return self.n_radii * self.n_angles


def empirical_stieltjes(
    eigs: Float[ArrayLike, " m"],
    z: Complex[ArrayLike, "..."],
    weights: Float[ArrayLike, " m"] | None = None,
) -> Complex[Array, "..."]:
    r"""$m_{\rm emp}(z) = \sum_k w_k / (\lambda_k - z) \,/\, \sum_k w_k$.

    **Arguments:**

    - `eigs`: eigenvalues `(m,)`.
    - `z`: complex points, any shape (off the real axis, or away from every eigenvalue).
    - `weights`: non-negative weights `(m,)` (default all ones); zero entries are padding.

    **Returns:** the transform at `z`, same shape as `z`. Differentiable in `eigs`, `z`
    and `weights`; `vmap` over stacked `(B, m)` spectra with their masks.
    """
    eigs = jnp.asarray(eigs, dtype=jnp.float64)
    z = jnp.asarray(z, dtype=jnp.complex128)
    w = jnp.ones_like(eigs) if weights is None else jnp.asarray(weights, dtype=jnp.float64)
    x, y = jnp.real(z).reshape(-1), jnp.imag(z).reshape(-1)

    # 1/(lambda - z) = (dx + i y)/(dx^2 + y^2), dx = lambda - x: one pass over the eigenvalues,
    # vectorised over the points (on the CPU an order of magnitude faster than a sum over an (N, m)
    # array of complex quotients, whose reduction runs along the short axis under vmap)
    def add(acc, term):
        lam, wk = term
        dx = lam - x
        r = wk / (dx * dx + y * y)
        return (acc[0] + r * dx, acc[1] + r), None

    (re, im), _ = jax.lax.scan(add, (jnp.zeros_like(x), jnp.zeros_like(x)), (eigs, w), unroll=8)
    return ((re + 1j * y * im) / jnp.sum(w)).reshape(z.shape)


def spectrum_interval(
    eigs: Float[ArrayLike, " m"], weights: Float[ArrayLike, " m"], log: Bool[ArrayLike, ""] | bool
) -> tuple[Float[Array, ""], Float[Array, ""]]:
    r"""The interval $[a, b]$ the fit points surround, taken from the data.

    Linear: the extreme eigenvalues widened on each side by one mean spacing,
    $(\lambda_{\max} - \lambda_{\min}) / m$. Log: the same in $\ln\lambda$ over the
    positive eigenvalues (exact zeros, an atom, are left out). Entries with zero weight
    are ignored. Returns `(a, b)` in the variable of the mode ($\lambda$ or $\ln\lambda$).
    """
    eigs = jnp.asarray(eigs, dtype=jnp.float64)
    active = jnp.asarray(weights) > 0
    count = jnp.maximum(jnp.sum(active), 1)
    pos = active & (eigs > 0)
    v = jnp.where(log, jnp.log(jnp.where(pos, eigs, 1.0)), eigs)
    keep = jnp.where(log, pos, active)
    lo = jnp.min(jnp.where(keep, v, jnp.inf))
    hi = jnp.max(jnp.where(keep, v, -jnp.inf))
    pad = (hi - lo) / count
    return lo - pad, hi + pad


def fit_points(
    eigs: Float[ArrayLike, " m"],
    weights: Float[ArrayLike, " m"],
    log: Bool[ArrayLike, ""] | bool,
    geometry: PointGeometry = PointGeometry(),
) -> tuple[Complex[Array, " N"], Float[Array, " N"]]:
    r"""Fit points `z` (upper half plane) and their 0/1 weights (0 = too close to the cut).

    `log` may be a traced boolean: both point sets are built and one is selected, so the
    mode can be chosen per spectrum inside `vmap`. See the module docstring for the
    geometry.
    """
    g = geometry
    a, b = spectrum_interval(eigs, weights, log)
    c, d = (a + b) / 2, (b - a) / 2
    r = jnp.asarray(np.linspace(g.r_min, g.r_max, g.n_radii))[:, None]
    theta = jnp.asarray(np.pi * (np.arange(g.n_angles) + 0.5) / g.n_angles)[None, :]
    re = (d / 2) * (r + 1 / r) * jnp.cos(theta)
    im = (d / 2) * (r - 1 / r) * jnp.sin(theta)
    # Linear mode: the ellipse itself.
    z_lin = c + re + 1j * im
    # Log mode: ellipse in u = ln z, height turned into an angle (x sin(phi) above x).
    phi = g.log_angle * (r - 1 / r) * jnp.sin(theta) / (g.r_max - 1 / g.r_max)
    x_log = jnp.exp(c + re)
    z_log = x_log * jnp.exp(1j * phi)
    # Distance to the interval [a, b] in the mode's metric, relative to its width.
    dx = jnp.maximum(jnp.abs(re) - d, 0.0)
    dist = jnp.where(log, jnp.hypot(dx, phi), jnp.hypot(dx, im))
    keep = dist > g.cut_eps * (b - a)
    z = jnp.where(log, z_log, z_lin).reshape(-1)
    return z, keep.reshape(-1).astype(jnp.float64)
