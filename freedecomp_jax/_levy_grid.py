r"""The grid of a free Lévy–Khintchine law at size $n$: static in size, pure JAX, so that it runs inside `jit` and `vmap`.

A law spanning decades has bulks whose positions and widths only a solve reveals. The grid is built in
two passes of fixed sizes:

1. **The wide log grid** (`levy_grid`, $4N$ points for a grid of `size` $N$): log-spaced in $|x|$ from
   $10^{-4}$ x the smallest non-zero jump to 100 x the largest, times $\tau = n/n_0$ (and the diagonal profile's
   smallest and largest scale), on both signs for a law with a negative jump or a semicircular part. It
   is solved at size $n$ (its density $\rho_i$ at every point).
2. **$N$ points where the law needs them**, placed by inverse transform sampling of a weight over the
   wide grid's cells (a cell: two neighbouring points; its mass $c_i$ by the trapezoid rule):
   $$W_i = \frac{u_i}{\sum u} + \frac{v_i}{\sum v},\qquad u_i = \frac{[\text{cell } i \text{ in a bulk}]}{\#\text{cells of that bulk}},
   \qquad v_i = \max_{j \le 4} \frac{c_i |\bar x_i - \mu|^j}{\sum_k c_k |\bar x_k - \mu|^j},$$
   a bulk being a run of cells with positive density at an end (above $10^{-12}$ of the largest $|x|\rho$, as for
   [`Spectrum.support`][]: not the solve's rounding), $\bar x_i$ the cell's midpoint and $\mu$
   the mean. Half the points are shared equally among the bulks (so a narrow isolated bulk gets as many
   as a wide one) and spread evenly over each bulk's cells (log-evenly: the cells are); the other half
   follow the largest share of any quantity the check integrates (the mass, the central moments to the
   fourth): a far bulk of little mass holding most of the variance is resolved as well as the one
   holding the mass. The $k$-th point lies in the cell where $\sum_{i' \le i} W_{i'}$ first reaches
   $(k + \frac12)/N$, at the matching fraction of the cell (geometric between two points of one sign,
   linear across 0).

The grid is the union, $5N$ points; [`Spectrum.on_grid`][] solves only the second pass, the first being
solved already. Both passes have static sizes, so the concrete prediction and a traced one (`jit`,
`vmap`) build the same grid with the same program.
"""

import equinox as eqx
import jax
import jax.numpy as jnp

from ._custom_types import Array, Bool, Float
from ._kinds import AbstractDecompression
from ._results import RESULTS
from ._spectrum import Spectrum

WIDE = 4  # points of the wide log grid per point of the grid's second pass


def levy_grid(law, tau, size: int) -> Float[Array, " size"]:
    """The wide log grid of `size` (even) points covering the law decompressed by `tau` (module docstring, 1)."""
    j = jnp.abs(law.jumps)
    d = jnp.ones(1) if law.scales is None else law.scales
    tau = jnp.asarray(tau, dtype=jnp.float64)
    smallest = jnp.min(jnp.where(j > 0, j, jnp.inf))  # a jump of size 0 moves nothing
    lo = jnp.where(jnp.isfinite(smallest), smallest, 1.0) * 1e-4 * tau * jnp.min(d)
    hi = (jnp.max(j) * tau + 10 * jnp.sqrt(law.variance * tau) + jnp.abs(law.drift)) * 100 * jnp.max(d)
    signed = jnp.any(law.jumps < 0) | (law.variance > 0)
    half = jnp.geomspace(lo, hi, size // 2)
    return jnp.where(signed, jnp.concatenate([-half[::-1], half]), jnp.geomspace(lo, hi, size))


def grid_and_solved(law, kind: AbstractDecompression, n, size: int) -> tuple[Float[Array, " size"], Spectrum]:
    """`(points, wide)`: the `size` points of the second pass and the wide log grid solved at size `n` (module docstring)."""
    wide = Spectrum.solve(law, kind, levy_grid(law, n / law.n0, WIDE * size), n)
    return _placed(wide.x, wide.density, wide.result == RESULTS.successful, size), wide


@eqx.filter_jit
def _placed(x: Float[Array, " P"], rho: Float[Array, " P"], ok: Bool[Array, " P"], size: int) -> Float[Array, " size"]:
    """The second pass: `size` points by inverse transform sampling of the cell weights $W$ (module docstring, 2)."""
    rho = jnp.where(ok & jnp.isfinite(rho), jnp.maximum(rho, 0.0), 0.0)
    per_log = jnp.abs(x) * rho
    positive = per_log > 1e-12 * jnp.max(per_log)  # as `_support.bulk_runs`: not the solve's rounding far outside the bulks
    a, b = x[:-1], x[1:]
    cells = 0.5 * (rho[1:] + rho[:-1]) * (b - a)
    inside = positive[1:] | positive[:-1]
    bulk = jnp.cumsum(inside & ~jnp.concatenate([jnp.zeros(1, bool), inside[:-1]]))  # the run each cell belongs to
    per_bulk = jax.ops.segment_sum(inside.astype(jnp.float64), bulk, num_segments=cells.shape[0] + 1)
    u = jnp.where(inside, 1.0 / jnp.maximum(per_bulk[bulk], 1.0), 0.0)
    mid = 0.5 * (a + b)
    total = jnp.sum(cells)
    dev = jnp.abs(mid - jnp.sum(cells * mid) / jnp.where(total > 0, total, 1.0))
    parts = cells[None, :] * dev[None, :] ** jnp.arange(5)[:, None]
    v = jnp.max(parts / jnp.maximum(jnp.sum(parts, axis=1, keepdims=True), jnp.finfo(jnp.float64).tiny), axis=0)
    weight = _share(u) + _share(v)
    weight = jnp.where(jnp.sum(weight) > 0, weight, 1.0)  # no density seen at all: the wide grid's cells evenly
    cum = jnp.cumsum(weight) / jnp.sum(weight)
    target = (jnp.arange(size) + 0.5) / size
    i = jnp.clip(jnp.searchsorted(cum, target, side="left"), 0, cells.shape[0] - 1)
    below = jnp.where(i > 0, cum[jnp.maximum(i - 1, 0)], 0.0)
    f = jnp.clip((target - below) / jnp.where(weight[i] > 0, weight[i] / jnp.sum(weight), 1.0), 1e-6, 1 - 1e-6)  # inside the cell: no point twice
    lo, hi = a[i], b[i]
    same = lo * hi > 0
    geometric = jnp.sign(lo) * jnp.exp(jnp.log(jnp.where(same, jnp.abs(lo), 1.0)) * (1 - f) + jnp.log(jnp.where(same, jnp.abs(hi), 1.0)) * f)
    return jnp.where(same, geometric, lo + f * (hi - lo))


def _share(w):
    total = jnp.sum(w)
    return jnp.where(total > 0, w / jnp.where(total > 0, total, 1.0), 0.0)
