r"""`Spikes`: isolated outliers set aside from a curve's bulk (the spiked model).

An eigenvalue that lies farther from the rest of the spectrum than the rest is wide is the
trace of a finite-rank part of the matrix (a mean, a few dominant directions), not a sample of
a bulk. A curve of low degree would spend its sheets on it, and its moment constraints, which
such an eigenvalue dominates, would bend the bulk to match it. So the curves are fitted to the
bulk alone and the outliers are kept as the finite-rank part they are: $k$ outliers at size
$n_0$ stay $k$ eigenvalues at every size, and a delocalised spike grows with the size,
$c \to c\,n/n_0$ (a rank-one term $\theta vv^\top$ with $v$ spread over all rows puts
$\theta|v_S|^2 \approx \theta\,n/N$ into a principal submatrix of size $n$). This is what the
free Lévy–Khintchine law does natively with an isolated jump: rate $1/n_0$ at $c$ becomes rate
$1/n$ at $c\,n/n_0$. At size $n = n_0e^t$, with the bulk $B$ at size $n - k$
($t_B = \ln\frac{n - k}{n_0 - k}$):

$$\mu_n = \Big(1 - \frac kn\Big)\mu_{B,\,n-k} + \frac1n\sum_{i=1}^k\delta_{c_ie^t},\qquad
m_n(z) = \Big(1 - \frac kn\Big)m_{B}(z) + \frac1n\sum_i\frac1{c_ie^t - z}.$$
"""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from ._custom_types import Array, ArrayLike, Bool, Complex, Float, Real
from ._edge_flow import AbstractEdgeSystem
from ._fit_problem import zero_tolerance
from ._inputs import _Inputs, _Spectrum
from ._kinds import AbstractDecompression, Free
from ._law import AbstractSpectralLaw, central_from_raw, raw_from_central
from ._results import RESULTS, where


def isolated(eigs: Float[ArrayLike, " m"], tol: Real[ArrayLike, ""] = 0.0, present: Bool[ArrayLike, " m"] | None = None) -> Bool[Array, " m"]:
    r"""Mask of the outliers of a spectrum: at each end of its non-zero eigenvalues ($|\lambda| >$ `tol`:
    exact zeros are an atom, not part of the bulk), the largest group of at most $\sqrt m$
    eigenvalues separated from the rest by a gap wider than the rest's whole span (which must be
    positive: the rest is a bulk); the top group first, then the bottom one beside it, then the top one
    again beside that. At most $\sqrt m$: a group that small moves the empirical distribution by less
    than its sampling error ($1/\sqrt m$), so the data cannot tell it from a finite-rank part. `present`
    (default: all) marks the entries that are eigenvalues ($m$ counts them); the others are never
    outliers. Pure JAX: the same mask traced or not."""
    e = jnp.asarray(eigs, dtype=jnp.float64)
    present = jnp.ones(e.shape, dtype=bool) if present is None else jnp.asarray(present, dtype=bool)
    ks = jnp.arange(1, math.isqrt(e.shape[0]) + 1)
    keep = present & (jnp.abs(e) > tol)
    order = jnp.argsort(jnp.where(keep, e, jnp.inf))
    s = e[order]  # the kept eigenvalues sorted, in the first `m` slots
    m = jnp.sum(keep)
    eligible = ks * ks <= jnp.sum(present)
    at = lambda i: s[jnp.clip(i, 0, e.shape[0] - 1)]  # noqa: E731

    def top(lo):  # the outliers above s[lo:]
        gap, rest = at(m - ks) - at(m - ks - 1), at(m - ks - 1) - at(lo)
        return jnp.max(jnp.where(eligible & (m - ks - lo >= 2) & (gap > rest) & (rest > 0), ks, 0))

    def bottom(hi):  # the outliers below s[:m - hi]
        gap, rest = at(ks) - at(ks - 1), at(m - hi - 1) - at(ks)
        return jnp.max(jnp.where(eligible & (m - hi - ks >= 2) & (gap > rest) & (rest > 0), ks, 0))

    kt = top(0)
    kb = bottom(kt)
    kt = top(kb)
    rank = jnp.zeros(e.shape, dtype=int).at[order].set(jnp.arange(e.shape[0]))
    return keep & ((rank < kb) | (rank >= m - kt))


class Spikes(AbstractSpectralLaw):
    r"""$(1 - k/n)\mu_B + \frac1n\sum_i\delta_{c_ie^t}$: the bulk law `law` (at size $n_0 - k$) and $k$
    outliers at `positions` $c_i$ (module docstring), those of the slots marked `present` (default: all; a
    traced [`predict`][] keeps $2\sqrt m$ slots, the outliers in the first $k$). Decompresses under [`Free`][] only."""

    law: AbstractSpectralLaw
    positions: Float[Array, " slots"]
    n0: Float[Array, ""]
    present: Bool[Array, " slots"]

    def __init__(self, law: AbstractSpectralLaw, positions: Real[ArrayLike, " slots"], n0: Real[ArrayLike, ""], present: Bool[ArrayLike, " slots"] | None = None):
        self.law = law
        self.positions = jnp.asarray(positions, dtype=jnp.float64).reshape(-1)
        self.n0 = jnp.asarray(n0, dtype=jnp.float64)
        self.present = jnp.ones(self.positions.shape, dtype=bool) if present is None else jnp.asarray(present, dtype=bool).reshape(-1)

    @property
    def count(self) -> Float[Array, ""]:
        """$k$, the number of outliers."""
        return jnp.sum(self.present).astype(jnp.float64)

    def _inverses(self, c, z):
        r"""$\sum_i 1/(c_i - z)$ over the present slots, `c` the positions (last axis) and `z` broadcast against
        them; a slot not present, or where $z = c_i$ (an atom: the caller reports it), adds nothing."""
        use = self.present & (c != z)
        return jnp.sum(jnp.where(use, 1 / jnp.where(use, c - z, 1.0), 0.0), axis=-1)

    def _bulk_t(self, t):
        """$t_B$ of the bulk at size $n_0e^t - k$."""
        k = self.count
        return jnp.log((self.n0 * jnp.exp(t) - k) / (self.n0 - k))

    @staticmethod
    def _free(kind: AbstractDecompression) -> None:
        if not isinstance(kind, Free):
            raise ValueError(f"outliers set aside decompress only under Free() (got {kind!r}): their growth c n/n0 is the free one.")

    # ------------------------------------------------------------------ the law at n0
    @property
    def log_grid(self) -> bool:
        return self.law.log_grid

    def stieltjes(self, z: Complex[ArrayLike, "*shape"]) -> Complex[Array, "*shape"]:
        z = jnp.asarray(z, dtype=jnp.complex128)
        k = self.count
        return (1 - k / self.n0) * self.law.stieltjes(z) + self._inverses(self.positions, z[..., None]) / self.n0

    def density(self, x: Real[ArrayLike, "*shape"]) -> Float[Array, "*shape"]:
        return (1 - self.count / self.n0) * self.law.density(x)

    def atoms(self):
        pos, w = self.law.atoms()
        empty = jnp.where(self.present, self.positions, jnp.nan)  # an empty atom slot: position NaN, weight 0
        return jnp.concatenate([pos, empty]), jnp.concatenate([(1 - self.count / self.n0) * w, jnp.where(self.present, 1 / self.n0, 0.0)])

    def moments(self, k: int) -> Float[Array, " k_plus_1"]:
        powers = jnp.where(self.present, self.positions, 0.0)[None, :] ** jnp.arange(k + 1)[:, None]
        return (1 - self.count / self.n0) * self.law.moments(k) + jnp.sum(jnp.where(self.present, powers, 0.0), axis=1) / self.n0

    def support(self) -> np.ndarray:
        return self.law.support()

    # ------------------------------------------------------------------ sizes
    def evolve(self, t: Real[ArrayLike, ""], kind: AbstractDecompression = Free()) -> "Spikes":
        self._free(kind)
        return Spikes(self.law.evolve(self._bulk_t(t), kind), self.positions * jnp.exp(t), self.n0 * jnp.exp(t), self.present)

    def _mixed(self, x, ts, m, density, pos, w, result):
        """The bulk's solution on the grid `x` at times `ts` (rows) made the law's."""
        n = self.n0 * jnp.exp(ts)[:, None]
        c = self.positions * jnp.exp(ts)[:, None]  # (S, slots)
        terms = self._inverses(c[:, None, :], x[None, :, None]) / n
        on_spike = jnp.any(self.present & (x[None, :, None] == c[:, None, :]), axis=-1)
        m = jnp.where(on_spike, jnp.nan + 0j, (1 - self.count / n) * m + terms)
        result = where(on_spike, RESULTS.on_atom, result)
        pos = jnp.concatenate([pos, jnp.where(self.present, c, jnp.nan)], axis=-1)
        w = jnp.concatenate([(1 - self.count / n) * w, jnp.where(self.present, 1 / n, 0.0) * jnp.ones(c.shape)], axis=-1)
        return m, jnp.where(on_spike, 0.0, (1 - self.count / n) * density), pos, w, result

    def solve_grid(self, kind: AbstractDecompression, x, ts, solver=None):
        self._free(kind)
        return self._mixed(x, ts, *self.law.solve_grid(kind, x, self._bulk_t(ts), solver))

    def around(self, bulk):
        """The [`Spectrum`][] of this law from its bulk's, solved at size $n - k$ (one size): the same
        grid, the outliers added (how `predict` checks the bulk without their moments, then adds them)."""
        n = bulk.size + self.count
        t = jnp.log(n / self.n0)
        first, row = (lambda v: v[None]), (lambda v: v[0])
        solved = jax.tree.map(first, (bulk.m, bulk.density, bulk.atoms[0], bulk.atoms[1], bulk.result))
        m, density, pos, w, result = jax.tree.map(row, self._mixed(bulk.x, t[None], *solved))
        return dataclasses.replace(bulk, m=m, density=density, atoms=(pos, w), result=result, law=self, size=n, t=t)

    def grid(self, kind: AbstractDecompression, n: Real[ArrayLike, ""], size: int, solver=None) -> Float[ArrayLike, " size"]:
        self._free(kind)
        return self.law.grid(kind, jnp.asarray(n, dtype=jnp.float64) - self.count, size, solver)

    def exact_moments(self, kind: AbstractDecompression, t, order: int):
        self._free(kind)
        n = self.n0 * jnp.exp(t)
        mean_b, central_b = self.law.exact_moments(kind, self._bulk_t(t), order)
        c = jnp.where(self.present, self.positions, 0.0) * jnp.exp(t)
        spikes = jnp.sum(jnp.where(self.present, c[None, :] ** jnp.arange(order + 1)[:, None], 0.0), axis=1) / n
        raw = (1 - self.count / n) * raw_from_central(mean_b, central_b) + spikes
        return raw[1], central_from_raw(raw)

    def edge_system(self, kind: AbstractDecompression) -> "_SpikesEdges | None":
        self._free(kind)
        inner = self.law.edge_system(kind)
        return None if inner is None else _SpikesEdges(inner, self)

    def _bulk_m(self, t, x, m):
        """The bulk's transform from the law's, at the real point `x` and size $n_0e^t$."""
        n = self.n0 * jnp.exp(t)
        terms = self._inverses(self.positions * jnp.exp(t), x[..., None]) / n
        return (m - terms) / (1 - self.count / n)

    def refine_cusps(self, kind: AbstractDecompression, x_seed, m_seed, tau_seed):
        self._free(kind)
        k = self.count
        t = jnp.log(tau_seed)
        x, tau_b, ok = self.law.refine_cusps(kind, x_seed, self._bulk_m(t, x_seed, m_seed), jnp.exp(self._bulk_t(t)))
        return x, (tau_b * (self.n0 - k) + k) / self.n0, ok


class _SpikesEdges(AbstractEdgeSystem):
    """The bulk's edges at size $n - k$: seeds convert the law's $m$ to the bulk's."""

    inner: AbstractEdgeSystem
    spikes: Spikes

    def seed(self, t, x_seed, m_seed):
        return self.inner.seed(self.spikes._bulk_t(t), x_seed, self.spikes._bulk_m(t, x_seed, m_seed))

    def residual(self, u, t, s):
        return self.inner.residual(u, self.spikes._bulk_t(t), s)

    def x(self, u, t, s):
        return self.inner.x(u, self.spikes._bulk_t(t), s)


def without_outliers(inputs: _Inputs) -> tuple[_Inputs, np.ndarray]:
    """The input with each spectrum's outliers (`isolated`) removed, its sizes reduced by their
    count, and the base spectrum's outliers; unchanged (and no outliers) for weighted eigenvalues or
    an `n0` other than their number, whose entries are not one eigenvalue each. Plain Python."""
    base = inputs.base
    if not np.all(np.asarray(base.weights) == 1.0) or float(inputs.n0) != np.size(base.eigs):
        return inputs, np.zeros(0)
    n0 = float(inputs.n0)

    def outliers(s: _Spectrum) -> np.ndarray:
        return np.asarray(isolated(s.eigs, float(zero_tolerance(s.eigs, s.weights, s.eps))))

    positions = np.sort(np.asarray(base.eigs)[outliers(base)])
    if positions.size == 0:
        return inputs, positions

    def bulk(s: _Spectrum) -> _Spectrum:
        out = outliers(s)
        size = n0 * math.exp(float(s.t))
        eigs = np.asarray(s.eigs)[~out]
        return _Spectrum(eigs, np.ones(eigs.size), s.eps, math.log((size - out.sum()) / (n0 - positions.size)))

    return _Inputs(bulk(base), n0 - positions.size, tuple(map(bulk, inputs.joint)), tuple(map(bulk, inputs.nested))), positions
