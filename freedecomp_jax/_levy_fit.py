r"""Fitting a [`LevyKhintchine`][] law: one non-negative least-squares problem (docs/method.md,
"The free Levy-Khintchine law").

$z + 1/m = a - s\,m + \sum_k r_k x_k/(1 + x_k m)$ is *linear* in $(a, s, r)$, so with $m$ replaced by
the empirical transform at points $z = x(1 + ih)$ (log grid in $|x|$, heights $h$ relative to $|x|$
so every decade is sampled at its own scale) the fit is one NNLS problem (each row divided by
$|z|$), plus heavily weighted rows for the exact mean $\kappa_1 = a + \sum_k r_k x_k$ and variance
$\kappa_2 = s + \sum_k r_k x_k^2$ of the eigenvalues. Jumps sit on a fixed number of log-spaced sizes
from a decade below the smallest non-zero eigenvalue to the largest (both signs for an indefinite
spectrum; a positive semi-definite one has $a = s = 0$, and its smallest jump is also below
$\kappa_2/\kappa_1$, since $\kappa_2 = \sum_kr_kx_k^2 \ge \kappa_1\min_kx_k$).

**Why, for an indefinite spectrum, the third and fourth free cumulants too**: its law has a
semicircular part $s$ and a drift $a$ besides the jumps, and a pair of jumps $\pm x$ small against the
data's scale imitates both: with rates $r_\pm$ it adds $(r_+ - r_-)x$ to $\kappa_1$ and $(r_+ + r_-)x^2$ to
$\kappa_2$, and differs from a drift or a semicircle only from $\kappa_3 = \sum_kr_kx_k^3$ and
$\kappa_4 = \sum_kr_kx_k^4$ on ($s$ has no cumulant beyond the second). The transform at the fit's
points, noisy near 0 where the eigenvalues straddle it, does not tell them apart, so the fit chose by
rounding, and the choice is what decompression amplifies (a semicircle stays one; jumps at a rate
below the size ratio give birth to mass near 0). The data's own $\kappa_3$ and $\kappa_4$ (from their
central moments $c_j$: $\kappa_3 = c_3$, $\kappa_4 = c_4 - 2c_2^2$) are two more exact rows; free
decompression scales them exactly ($\kappa_j \to \tau^{j-1}\kappa_j$). A positive semi-definite law has no
semicircle and no drift to confuse, and keeps only the first two rows.

**Where an indefinite spectrum's fit points start**: at $z = x(1 + ih)$ the empirical transform
averages the eigenvalues within about $h|x|$ of $x$. For a positive spectrum, $x$ below the smallest
eigenvalue lies outside the data, where the transform is smooth, so the points start `pad` decades
below it. An indefinite spectrum's eigenvalues straddle 0: with $N(|x|)$ of them in $[-|x|, |x|]$ the
window holds about $hN(|x|)$, and where that is below one eigenvalue the transform is the pole of the
one that happens to lie nearest 0, not the law. So its points start where $N(|x|) \ge 1/h_{\min}$: at
the $\lceil 1/h_{\min}\rceil$-th smallest non-zero $|\lambda|$ (the 4th at the default heights), with no
padding (`_resolved`; benchmarks/RESULTS.md has what it changed on the Hessians).

**Why the variance row**: the Stieltjes transform on the data's range barely sees a jump far from
it with a small rate, yet that jump carries $r_kx_k^2$ of variance, which free decompression
multiplies by $\tau$ ($\kappa_j \to \tau^{j-1}\kappa_j$). Without the row a fit to two bulks had
100x the data's variance. **Why no jump above the data**: a compound free Poisson part's support
ends above its jump, so a jump above the largest eigenvalue carries mass the data do not show, at
a rate below $1/n_0$ that the fit's points cannot see ($r_kx_k/(1 + x_km) \approx r_k/m$ there);
given the variance row, a fit to an RBF Gram matrix put variance on such a jump, which the grid at
$n$ then missed. **Why no drift for a positive semi-definite law**: what looks like one at $n_0$
is a population of small jumps at a high total rate (eigenvalues below the data), which
decompression spreads out; a fitted drift would not move.

**The total rate is not identified by the data**: the fit's residual stays on a plateau over a
wide range of total rates $R = \sum_k r_k$. The rule is *no atom births unless the data insist*:
$R$ is the largest of the ladder $R^*, 2R^*, 4R^*, \dots$ ($R^*$ the unconstrained fit's) whose
residual is within `rate_tolerance` of the unconstrained one. It is a rule on a residual that varies
smoothly with $R$, so the kept step can flip with the draw: on eleven real spectra and three seeds it
moves with the seed on eight, and one step moves the prediction at $8n_0$ by up to 0.5 in KS, which no
tolerance settles (rank-deficient Gram matrices want the lower rates, full-rank kernels the higher:
`benchmarks/rate_ladder.py`, benchmarks/RESULTS.md). So [`predict`][] says where it matters: the law of
the unconstrained rate is kept beside the returned one (`LevyFit.floor`), and where its atom at 0 at the
target size is larger, a warning gives both. Where the rank is known, pass it (below).

**A known rank** (`rank` $= q$): a Gram matrix $XX^\top$ of $q$ features, its rows i.i.d. with
covariance $\Sigma$ (eigenvalues $\sigma_1 \ge \dots \ge \sigma_q$), has at size $n_0$ the
Marchenko–Pastur law of population $\Sigma$, which is compound free Poisson with Lévy measure
$\frac1{n_0}\sum_{i\le q}\delta_{n_0\sigma_i}$: total rate $q/n_0$. Free decompression maps it
exactly to the law of $n$ rows with $q$ fixed (jumps $\times\tau$, rates $/\tau$), atom
$\max(0, 1 - q/n)$ at 0 included, so this family needs no deformed evolution. The observed
eigenvalues see the population of index $i \lesssim n_0$; the unseen ones ($n_0 < i \le q$) lie
below the data and act at size $n_0$ like a drift, so the fit cannot place them. Two models
([`AbstractUnseen`][]): [`PowerLawTail`][] continues the index curve $\log\lambda_i$ against
$\log i$ of the observed eigenvalues past $i = n_0$ up to $q$, each at rate $1/n_0$, a fixed part
of the measure beside the fitted one; [`ImposedRate`][] imposes only the total rate $q/n_0$ and
lets the fit place the rest. [`predict`][] with [`Deformed`][] tries both and keeps the one that
extrapolates best from the matrix's own sub-submatrices (`_validate.py`). For a known rank the
fitted part's jumps start at the smallest non-zero eigenvalue (no padding below).
"""

import abc
import math
from typing import ClassVar, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from . import _arguments as arguments
from ._custom_types import Array, ArrayLike, Bool, Float, Int, Real, RealScalarLike
from ._levy import LevyKhintchine
from ._nnls import nnls
from ._x64 import check_x64, is_concrete


class LevyConfig(eqx.Module):
    r"""How [`fit_levy`][] fits (every scale relative to the data).

    - `n_jumps`: jump sizes per sign, log-spaced from `pad` decades below the smallest non-zero
      $|\lambda|$ to the largest (none above: `_jump_grid`).
    - `n_points`: fit points per height (log-spaced in $|x|$ from `pad` decades below the
      smallest non-zero $|\lambda|$ to the largest; for an indefinite spectrum from the
      $\lceil 1/\min(\text{heights})\rceil$-th smallest, module docstring), at heights `heights` $\times|x|$.
    - `rate_steps`, `rate_tolerance`: the total-rate ladder $R^*2^j$, $j \le$ `rate_steps`, and
      how much larger than the unconstrained residual an accepted residual may be.
    - `nnls_iters`: cap on the active-set iterations (Lawson–Hanson) of each fit.
    """

    n_jumps: int = eqx.field(static=True, default=64)
    n_points: int = eqx.field(static=True, default=128)
    heights: tuple = eqx.field(static=True, default=(0.25, 1.0, 4.0))
    pad: float = eqx.field(static=True, default=1.0)
    rate_steps: int = eqx.field(static=True, default=6)
    rate_tolerance: float = eqx.field(static=True, default=2.0)
    nnls_iters: int = eqx.field(static=True, default=400)

    def __check_init__(self):
        if self.n_jumps < 2 or self.n_points < 8 or not self.heights or min(self.heights) <= 0:
            raise ValueError("LevyConfig needs n_jumps >= 2, n_points >= 8 and positive heights.")
        if self.rate_steps < 0 or self.rate_tolerance < 1 or self.pad < 0:
            raise ValueError("LevyConfig needs rate_steps >= 0, rate_tolerance >= 1 and pad >= 0.")


def _zero_snap(lam, weights):
    tol = jnp.sum(weights > 0) * jnp.finfo(jnp.float64).eps * jnp.max(jnp.abs(jnp.where(weights > 0, lam, 0.0)))
    return jnp.where(jnp.abs(lam) <= tol, 0.0, lam)


def _design(lam, weights, jumps, signed: bool, drift: bool, config: LevyConfig):
    """Rows of the linear fit (real and imaginary parts) and their right-hand side; the rows of the
    exact mean and variance (and, if `signed`, of the third and fourth free cumulants) and their values.
    Columns: the drift (if `drift`), the semicircle (if `signed`), then the jumps."""
    w = weights / jnp.sum(weights)
    hi = jnp.max(jnp.where(weights > 0, jnp.abs(lam), 0.0))
    if signed:  # from where the heights resolve the law, no padding below (module docstring)
        lo, pad = _resolved(lam, weights, config.heights), 0.0
    else:
        lo, pad = jnp.min(jnp.where((lam != 0) & (weights > 0), jnp.abs(lam), jnp.inf)), config.pad
    u = jnp.linspace(0.0, 1.0, config.n_points)
    xs = jnp.exp(jnp.log(lo) - pad * jnp.log(10.0) + (jnp.log(hi) - jnp.log(lo) + pad * jnp.log(10.0)) * u)
    if signed:
        xs = jnp.concatenate([-xs[::-1], xs])
    Z = jnp.concatenate([xs + 1j * h * jnp.abs(xs) for h in config.heights])
    M = jnp.sum(w / (lam - Z[:, None]), axis=1)
    A = jumps / (1 + jumps * M[:, None])
    head = ([jnp.ones_like(M)] if drift else []) + ([-M] if signed else [])
    A = jnp.concatenate([jnp.stack(head, axis=1), A], axis=1) if head else A
    A = A / jnp.abs(Z)[:, None]
    b = (Z + 1 / M) / jnp.abs(Z)
    A = jnp.concatenate([A.real, A.imag])
    b = jnp.concatenate([b.real, b.imag])
    norm = jnp.sqrt(b.shape[0])
    mean = jnp.sum(w * lam)
    scale = jnp.sum(w * jnp.abs(lam))
    var = jnp.sum(w * (lam - mean) ** 2)
    mrow = jnp.concatenate([jnp.array([1.0] * drift + [0.0] * signed), jumps])
    vrow = jnp.concatenate([jnp.array([0.0] * drift + [1.0] * signed), jumps**2])
    rows, vals = [mrow / scale, vrow / var], [mean / scale, 1.0]
    if signed:  # the third and fourth free cumulants (module docstring)
        sd = jnp.sqrt(var)
        zero = jnp.zeros(int(drift) + 1)
        rows += [jnp.concatenate([zero, jumps**3]) / sd**3, jnp.concatenate([zero, jumps**4]) / sd**4]
        k3 = jnp.sum(w * (lam - mean) ** 3) / sd**3
        vals += [k3, jnp.maximum(jnp.sum(w * (lam - mean) ** 4) / var**2 - 2.0, k3**2)]
    return A / norm, b / norm, jnp.stack(rows), jnp.stack(vals)


def _resolved(lam, weights, heights: tuple) -> Float[Array, ""]:
    r"""The smallest $|x|$ at which the empirical transform of an indefinite spectrum still describes its
    law at every height $h$ of the fit: the $k$-th smallest non-zero $|\lambda|$, $k = \lceil 1/h_{\min}\rceil$
    (module docstring); the smallest where there are fewer than $k$."""
    k = min(math.ceil(1 / min(heights)), lam.shape[0])
    ordered = jnp.sort(jnp.where((lam != 0) & (weights > 0), jnp.abs(lam), jnp.inf))
    return jnp.where(jnp.isfinite(ordered[k - 1]), ordered[k - 1], ordered[0])


def _jump_grid(lam, weights, n_jumps: int, pad: float, signed: bool):
    r"""Jump sizes, log-spaced from `pad` decades below the smallest non-zero |eigenvalue| (for a
    positive semi-definite spectrum, also below its $\kappa_2/\kappa_1$, so that jumps can carry its
    mean and variance) to the largest, none beyond it (module docstring)."""
    nz = (lam != 0) & (weights > 0)
    lo = jnp.min(jnp.where(nz, jnp.abs(lam), jnp.inf))
    if not signed:
        w = weights / jnp.sum(weights)
        mean = jnp.sum(w * lam)
        lo = jnp.minimum(lo, jnp.sum(w * (lam - mean) ** 2) / mean)
    lo = lo * 10.0**-pad
    hi = jnp.max(jnp.where(weights > 0, jnp.abs(lam), 0.0))
    pos = jnp.exp(jnp.linspace(jnp.log(lo), jnp.log(hi), n_jumps))
    return jnp.concatenate([-pos[::-1], pos]) if signed else pos


class AbstractUnseen(eqx.Module):
    r"""How a fit with a known rank $q$ places the $q - n_0$ population eigenvalues that size $n_0$ does not see (module docstring)."""

    imposes_rate: eqx.AbstractClassVar[bool]

    @abc.abstractmethod
    def tail(self, lam: Float[Array, " m"], weights: Float[Array, " m"], n0, rank) -> tuple[Float[Array, " T"], Float[Array, " T"]]:
        """`(jumps, rates)`: the fixed part of the Lévy measure (empty for none)."""


class PowerLawTail(AbstractUnseen):
    r"""The unseen population continues the observed index curve: $\log\lambda_i = c - \alpha\log i$
    fitted by least squares on the eigenvalues of index $i \in$ `fit_range` $\times\,n_0$ (the upper
    part of the spectrum, where sample eigenvalues follow the population; the lowest ones are lifted by
    the unseen tail itself), extended to $n_0 < i \le q$, each eigenvalue a jump at rate $1/n_0$, binned
    into `bins` jumps (log-spaced in $i$)."""

    bins: int = eqx.field(static=True, default=48)
    fit_range: tuple[float, float] = eqx.field(static=True, default=(0.125, 0.5))
    imposes_rate: ClassVar[bool] = False

    def tail(self, lam, weights, n0, rank):
        act = weights > 0
        e = jnp.sort(jnp.where(act, lam, -jnp.inf))[::-1]
        i = jnp.arange(1, e.shape[0] + 1, dtype=jnp.float64)
        count = jnp.sum(act)
        sel = (i >= self.fit_range[0] * count) & (i <= self.fit_range[1] * count) & (e > 0)
        u = jnp.where(sel, jnp.log(i), 0.0)
        v = jnp.where(sel, jnp.log(jnp.where(e > 0, e, 1.0)), 0.0)
        k = jnp.sum(sel)
        ub, vb = jnp.sum(u) / k, jnp.sum(v) / k
        slope = jnp.sum(jnp.where(sel, (u - ub) * (v - vb), 0.0)) / jnp.sum(jnp.where(sel, (u - ub) ** 2, 0.0))
        lo, hi = jnp.log(n0 + 0.5), jnp.log(jnp.maximum(rank, n0) + 0.5)
        edges = jnp.exp(lo + (hi - lo) * jnp.linspace(0.0, 1.0, self.bins + 1))
        mid = 0.5 * (jnp.log(edges[1:]) + jnp.log(edges[:-1]))
        return jnp.exp(vb + slope * (mid - ub)), (edges[1:] - edges[:-1]) / n0


class ImposedRate(AbstractUnseen):
    r"""Only the total rate $q/n_0$ is imposed; the fit places the whole Lévy measure."""

    imposes_rate: ClassVar[bool] = True

    def tail(self, lam, weights, n0, rank):
        return jnp.zeros(0), jnp.zeros(0)


EXACT = 1e3  # weight of the rows of the exact cumulants: their error is O(1/EXACT^2) of the fit's residual (Lawson and Hanson's weighting method)


@eqx.filter_jit
def _fit_levy(lam, weights, n0, signed: bool, config: LevyConfig, rank=None, unseen: AbstractUnseen | None = None):
    lam = _zero_snap(lam, weights)
    if rank is not None:
        assert unseen is not None
        law = _fit_ranked(lam, weights, n0, _jump_grid(lam, weights, config.n_jumps, 0.0, signed), config, rank, unseen)
        return law, law, jnp.asarray(0)
    jumps, drift, variance, rates, res = _rate_ladder(lam, weights, signed, config)
    ok = jax.lax.stop_gradient(res <= config.rate_tolerance * res[0])
    k = jnp.max(jnp.where(ok, jnp.arange(ok.shape[0]), 0))
    return LevyKhintchine(drift[k], variance[k], rates[k], jumps, n0), LevyKhintchine(drift[0], variance[0], rates[0], jumps, n0), k


def _rate_ladder(lam, weights, signed: bool, config: LevyConfig):
    r"""The unconstrained fit and the fits with the total rate imposed at $R^*2^j$, $j = 1, \dots,$
    `rate_steps`: `(jumps, drift, variance, rates, residuals)`, each but the jumps with a leading
    ladder axis of `rate_steps + 1`."""
    jumps = _jump_grid(lam, weights, config.n_jumps, config.pad, signed)
    A, b, mrows, mvals = _design(lam, weights, jumps, signed, signed, config)
    big = 1e2  # weight of the imposed total rate
    K = jumps.shape[0]
    head = 0
    if signed:  # drift a = a+ - a-, both >= 0
        A = jnp.concatenate([A[:, :1], -A[:, :1], A[:, 1:]], axis=1)
        mrows = jnp.concatenate([mrows[:, :1], -mrows[:, :1], mrows[:, 1:]], axis=1)
        head = 3
    A_all = jnp.concatenate([A, EXACT * mrows])
    b_all = jnp.concatenate([b, EXACT * mvals])
    # column scaling keeps the active-set least squares well conditioned
    cs = jnp.linalg.norm(A_all, axis=0)
    cs = jnp.where(cs > 0, cs, 1.0)

    def solve(rate, impose):
        rrow = jnp.concatenate([jnp.zeros(head), jnp.ones(K)]) * impose
        As = jnp.concatenate([A_all, big * rrow[None, :]]) / cs
        bs = jnp.concatenate([b_all, big * rate * impose[None]])
        p = nnls(As, bs, config.nnls_iters) / cs
        return p, jnp.linalg.norm(A_all @ p - b_all)

    p0, res0 = solve(jnp.asarray(1.0), jnp.asarray(0.0))
    R0 = jax.lax.stop_gradient(jnp.sum(p0[head:]))
    rates = R0 * 2.0 ** jnp.arange(1, config.rate_steps + 1)
    ps, res = jax.vmap(lambda r: solve(r, jnp.asarray(1.0)))(rates)
    ps = jnp.concatenate([p0[None], ps])
    res = jnp.concatenate([res0[None], res])
    if signed:
        return jumps, ps[:, 0] - ps[:, 1], ps[:, 2], ps[:, 3:], res
    return jumps, jnp.zeros(ps.shape[0]), jnp.zeros(ps.shape[0]), ps, res


def _fit_ranked(lam, weights, n0, jumps, config: LevyConfig, rank, unseen: AbstractUnseen):
    """The fit with a known rank (module docstring): the unseen part fixed or the total rate imposed."""
    tail_x, tail_r = unseen.tail(lam, weights, n0, rank)
    all_jumps = jnp.concatenate([tail_x, jumps])
    A, b, mrows, mvals = _design(lam, weights, all_jumps, False, False, config)
    big = 1e2
    T, K = tail_x.shape[0], jumps.shape[0]
    A_all = jnp.concatenate([A, EXACT * mrows])
    b_all = jnp.concatenate([b, EXACT * mvals]) - A_all[:, :T] @ tail_r
    G = A_all[:, T:]
    if unseen.imposes_rate:
        G = jnp.concatenate([G, big * jnp.ones((1, K))])
        b_all = jnp.concatenate([b_all, big * (rank / n0)[None]])
    cs = jnp.linalg.norm(G, axis=0)
    cs = jnp.where(cs > 0, cs, 1.0)
    r = nnls(G / cs, b_all, config.nnls_iters) / cs
    return LevyKhintchine(jnp.zeros(()), jnp.zeros(()), jnp.concatenate([tail_r, r]), all_jumps, n0)


def fit_levy(
    eigs: Real[ArrayLike, " m"] | Real[ArrayLike, "m k"],
    n0: RealScalarLike | None = None,
    *,
    weights: Float[ArrayLike, " m"] | None = None,
    signed: bool | None = None,
    rank: RealScalarLike | None = None,
    unseen: AbstractUnseen = PowerLawTail(),
    config: LevyConfig = LevyConfig(),
) -> LevyKhintchine:
    r"""Fit a [`LevyKhintchine`][] law to the eigenvalues of an $n_0\times n_0$ matrix.

    One non-negative least-squares fit of $z + 1/m_{\rm emp}(z)$ (see the module docstring),
    then the largest total rate on the residual's plateau (no atom births unless the data
    insist). `n0` defaults to `len(eigs)`; `weights` (0 marks padding) give a batch static
    shapes. `signed`: jumps of both signs, a drift and a semicircular part; by default,
    whether the spectrum has a negative eigenvalue (beyond rounding), which under `jit`/`vmap`
    must be passed. Differentiable in `eigs` (implicit function theorem through the final
    least squares at its active set).

    Given the $m\times m$ matrix itself (symmetric, positive diagonal $d$), the fit is the
    diagonally scaled law (module docstring): $C = D^{-1/2}AD^{-1/2}$'s eigenvalues are fitted
    and `scales` $= d$ is kept, since a random principal submatrix keeps its diagonal entries as
    they are. A matrix with a non-positive diagonal entry is fitted by its eigenvalues alone.

    `rank`: the number $q$ of features of a Gram matrix $XX^\top$ (the rank of the full matrix when
    it is below its size), if known: the law is then the Marchenko–Pastur law of a $q$-dimensional
    population, total rate $q/n_0$, whose decompression is exact for $X$ with more rows and $q$ fixed;
    `unseen` ([`PowerLawTail`][] or [`ImposedRate`][]) places the population the observed size does not
    see (module docstring). Positive semi-definite spectra only.
    """
    return _fitted(eigs, n0, weights, signed, rank, unseen, config).law


class LevyFit(NamedTuple):
    """What [`fit_levy`][] fitted: the law it returns, the law of the unconstrained total rate $R^*$ (the
    ladder's first step; the law itself for a known rank), and the ladder step kept ($R^*2^{\rm step}$)."""

    law: LevyKhintchine
    floor: LevyKhintchine
    step: Int[Array, ""]


def fit_levy_step(
    eigs: Real[ArrayLike, " m"] | Real[ArrayLike, "m k"],
    n0: RealScalarLike | None = None,
    *,
    weights: Float[ArrayLike, " m"] | None = None,
    config: LevyConfig = LevyConfig(),
) -> LevyFit:
    """[`fit_levy`][] of an unknown rank with the rest of its ladder, which [`predict`][] reports (`LevyFit`)."""
    return _fitted(eigs, n0, weights, None, None, PowerLawTail(), config)


def _fitted(eigs, n0, weights, signed: bool | None, rank, unseen: AbstractUnseen, config: LevyConfig) -> LevyFit:
    check_x64()
    lam = jnp.asarray(arguments.eigenvalues("eigs", eigs) if is_concrete(eigs) else eigs)
    scales = None
    if lam.ndim == 2:
        lam, scales = _matrix_input(lam, weights)
    if is_concrete(lam):
        arr = np.asarray(lam)
        if arr.ndim != 1 or arr.size < 8:
            arguments.fail("eigs", arr, "fit_levy needs a 1-D array of at least 8 eigenvalues", "pass more eigenvalues")
    lam = lam.astype(jnp.float64)
    w = jnp.ones_like(lam) if weights is None else jnp.asarray(weights)
    if is_concrete(lam, w):
        la = np.asarray(lam)
        wa = np.ones(la.shape) if weights is None else arguments.weights("weights", w, la.shape[0])
        w = jnp.asarray(wa)
        act = wa > 0
        tol = act.sum() * np.finfo(float).eps * np.max(np.abs(la[act]), initial=0.0)
        if np.unique(la[act & (np.abs(la) > tol)]).size < 2:
            arguments.fail("eigs", la, "the spectrum has fewer than two distinct non-zero eigenvalues: there is no bulk to fit", "pass the eigenvalues of a matrix with a continuous part")
        if signed is None:
            signed = bool(indefinite(la, wa))
    elif signed is None:
        raise ValueError("fit_levy under jit/vmap cannot look at the eigenvalues' signs; pass signed=True or False.")
    w = w.astype(jnp.float64)
    size = jnp.sum(w > 0) if n0 is None else arguments.real_scalar("n0", n0, lower=1.0, strict=False, fix="pass the size of the matrix the eigenvalues come from")
    if rank is not None:
        if signed:
            arguments.fail("rank", rank, "applies to positive semi-definite (Gram) spectra; this one has negative eigenvalues", "drop rank=, or pass the eigenvalues of a Gram matrix")
        rank = jnp.asarray(arguments.real_scalar("rank", rank, lower=1.0, strict=False, fix="pass the number of features q of the Gram matrix X X^T"), dtype=jnp.float64)
        if not isinstance(unseen, AbstractUnseen):
            arguments.fail("unseen", unseen, "must be an AbstractUnseen (fdj.PowerLawTail() or fdj.ImposedRate())", "pass unseen=fdj.PowerLawTail()")
    laws = _fit_levy(lam, w, jnp.asarray(size, dtype=jnp.float64), bool(signed), config, rank, unseen if rank is not None else None)
    law, floor = (LevyKhintchine(f.drift, f.variance, f.rates, f.jumps, f.n0, scales) for f in laws[:2])
    return LevyFit(law, floor, laws[2])


def indefinite(eigs: Real[ArrayLike, " m"], weights: Real[ArrayLike, " m"]) -> Bool[Array, ""]:
    r"""Whether the eigenvalues of positive weight have one below $-c\,\varepsilon\max|\lambda|$ ($c$ their count):
    a negative eigenvalue beyond rounding, which makes [`fit_levy`][]'s default `signed`. Pure JAX."""
    lam, act = jnp.asarray(eigs, dtype=jnp.float64), jnp.asarray(weights) > 0
    tol = jnp.sum(act) * jnp.finfo(jnp.float64).eps * jnp.max(jnp.where(act, jnp.abs(lam), 0.0))
    return jnp.any(act & (lam < -tol))


def _matrix_input(A, weights):
    """(eigenvalues to fit, scales): those of $D^{-1/2}AD^{-1/2}$ and $d$, or of $A$ and None."""
    if weights is not None:
        arguments.fail("weights", weights, "weights apply to eigenvalues, not to a matrix input", "pass the eigenvalues with their weights instead")
    if A.shape[0] != A.shape[1]:
        arguments.fail("eigs", A, "a 2-D input is read as a symmetric matrix and must be square", "pass a square matrix, or a 1-D array of eigenvalues")
    if is_concrete(A):
        arr = arguments.eigenvalues("eigs", A)
        arguments.symmetric_matrix("eigs", arr)
    elif jnp.iscomplexobj(A):
        arguments.fail("eigs", f"a traced matrix of dtype {A.dtype}", "must be real symmetric", "pass a real matrix")
    A = A.astype(jnp.float64)
    d = jnp.diagonal(A)
    if is_concrete(A):
        arr = np.asarray(A)
        if not np.all(np.diagonal(arr) > 0):
            return jnp.linalg.eigvalsh(A), None
    else:
        d = eqx.error_if(d, ~jnp.all(d > 0), "fit_levy under jit needs a positive diagonal (or pass the eigenvalues).")
    r = 1 / jnp.sqrt(d)
    C = A * r[:, None] * r[None, :]
    return jnp.linalg.eigvalsh(0.5 * (C + C.T)), d
