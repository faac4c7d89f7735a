r"""`Spectrum`: the predicted spectral law at size $n$, and what users read off it.

The law is $\mu = \alpha\,\rho(x)\,dx + \sum_a w_a\delta_a$: the absolutely continuous density
$\rho$ known exactly at the grid points and taken piecewise linear between them (zero outside
the grid, so the grid must cover the support), plus the atoms. The factor
$\alpha = (1 - \sum_a w_a)/\int\rho$ renormalises the grid's quadrature of $\rho$ so that
$\mu$ has unit mass (`Spectrum.mass()` reports the unnormalised total as a diagnostic).
Every integral against $\mu$ is exact for the piecewise-linear density (closed-form
antiderivatives cell by cell; the moments by Gauss–Legendre nodes inside each cell), so quantiles, moments and log-determinants carry only the
interpolation error of $\rho$ on the grid.
"""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from . import _arguments as arguments
from ._custom_types import Array, ArrayLike, Complex, Float, Real
from ._edge_flow import EdgeFlow
from ._kinds import AbstractDecompression, Free
from ._law import AbstractSpectralLaw, raw_from_central
from ._results import RESULTS
from ._support import cusps, edges, support
from ._x64 import is_concrete


# ---------------------------------------------------------------------------- the law on a grid
def _cells(x, rho):
    """Cell starts, widths, left values and slopes of the piecewise-linear density."""
    h = jnp.diff(x)
    return x[:-1], h, rho[:-1], jnp.diff(rho) / h


def _integrate(x, rho, F0, F1):
    r"""$\int \rho f$ exactly for piecewise-linear $\rho$, given antiderivatives
    $F_0' = f$ and $F_1' = x f$ (evaluated at the grid)."""
    x0, h, r0, s = _cells(x, rho)
    f0 = F0(x)
    f1 = F1(x)
    d0 = jnp.diff(f0)
    d1 = jnp.diff(f1)
    return jnp.sum(r0 * d0 + s * (d1 - x0 * d0))


def _mass(x, rho):
    r"""$\int\rho$ for piecewise-linear $\rho$: the trapezoid sum, exact, and cell-local (through
    the antiderivatives of `_integrate`, $x^2/2$ differences lose $\log_{10}(|x|/h)$ digits far from 0)."""
    return jnp.sum(jnp.diff(x) * (rho[:-1] + rho[1:])) / 2


def _xlog(x):
    ax = jnp.where(x == 0, 1.0, jnp.abs(x))
    return jnp.where(x == 0, 0.0, jnp.log(ax))


def _compiled(method):
    """Run a `Spectrum` method as one compiled program: op-by-op dispatch of its few dozen
    small operations would compile each one separately, and that dominates a first call."""
    jitted = eqx.filter_jit(method)

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        return jitted(self, *args, **kwargs)

    return wrapper


class Spectrum(eqx.Module):
    r"""The spectral law predicted at size $n$ (see the module docstring for the representation).

    Fields (for several sizes `S` every array gets a leading axis; index with `spec[k]`):

    - `x`: the grid `(P,)`.
    - `density`: absolutely continuous density $\rho_n(x)$ at the grid, `(P,)` or `(S, P)`.
    - `atoms`: `(positions, weights)` at size $n$, each `(A,)` or `(S, A)`; empty slots have
      weight 0 (position NaN).
    - `size`: the matrix size $n$.
    - `result`: a [`RESULTS`][] per grid point (`RESULTS[spec.result[k]]` is the message).
    - `m`: the Stieltjes transform $m_n(x + i0)$ at the grid ($\rho = \operatorname{Im} m/\pi$).
    - `law`, `t`, `kind`: where it came from ($n = n_0 e^t$): an [`AbstractSpectralLaw`][]
      at $n_0$ and the decompression kind.
    - `check`: the check of the whole prediction by [`predict`][] (no failed point, unit mass,
      exact moments), one [`RESULTS`][] item; `None` for an unchecked [`decompress`][].
    """

    x: Float[Array, " P"]
    density: Float[Array, "*S P"]
    atoms: tuple[Float[Array, "*S A"], Float[Array, "*S A"]]
    size: Float[Array, "*S"]
    result: RESULTS
    m: Complex[Array, "*S P"]
    law: AbstractSpectralLaw
    t: Float[Array, "*S"]
    kind: AbstractDecompression = Free()
    solver: eqx.Module | None = None
    check: RESULTS | None = None

    @staticmethod
    def solve(
        law: AbstractSpectralLaw,
        kind: AbstractDecompression,
        x: Float[Array, " P"],
        sizes: Real[ArrayLike, "*S"],
        solver: eqx.Module | None = None,
    ) -> "Spectrum":
        """The law at `sizes` (a scalar or `(S,)`), solved on the grid `x`, never raising: failures are
        in `result`. The unchecked core of [`decompress`][]."""
        sizes = jnp.asarray(sizes, dtype=jnp.float64)
        scalar = sizes.ndim == 0
        sizes = jnp.atleast_1d(sizes)
        ts = jnp.maximum(jnp.log(sizes / law.n0), 0.0)
        m, density, positions, weights, result = law.solve_grid(kind, x, ts, solver)
        if scalar:
            m, density, positions, weights, sizes, ts = (a[0] for a in (m, density, positions, weights, sizes, ts))
            result = jax.tree.map(lambda v: v[0], result)
        return Spectrum(
            x=x, density=density, atoms=(positions, weights), size=sizes, result=result, m=m, law=law, t=ts, kind=kind, solver=solver
        )

    @staticmethod
    def on_grid(law: AbstractSpectralLaw, kind: AbstractDecompression, n: Real[ArrayLike, ""], size: int, solver: eqx.Module | None = None) -> "Spectrum":
        """The law at size `n` solved on its own grid of about `size` points (`law.grid`); the part of
        the grid the law solved to build it is not solved again (`law.grid_and_solved`). Pure JAX where the
        law's grid is (a [`SpectralCurve`][], a [`LevyKhintchine`][] law: `n` may be traced), unchecked
        (read `mass()` and `moment_errors()`); plain Python for the others."""
        points, solved = law.grid_and_solved(kind, n, size, solver)
        spec = Spectrum.solve(law, kind, jnp.asarray(points, dtype=jnp.float64), jnp.asarray(n, dtype=jnp.float64), solver)
        if solved is None:
            return spec
        x = jnp.concatenate([spec.x, solved.x])
        order = jnp.argsort(x)

        def join(a, b):
            return jnp.concatenate([a, b], axis=-1)[..., order]

        return Spectrum(
            x=x[order],
            density=join(spec.density, solved.density),
            atoms=spec.atoms,
            size=spec.size,
            result=jax.tree.map(join, spec.result, solved.result),
            m=join(spec.m, solved.m),
            law=law,
            t=spec.t,
            kind=kind,
            solver=solver,
        )

    def at_sizes(self, sizes) -> "Spectrum":
        """The same law on the same grid at other sizes (one multi-size `Spectrum`)."""
        return Spectrum.solve(self.law, self.kind, self.x, jnp.atleast_1d(jnp.asarray(sizes, dtype=jnp.float64)), self.solver)

    # ------------------------------------------------------------------ selection
    def __getitem__(self, k) -> "Spectrum":
        """The spectrum at the `k`-th requested size."""
        if self.density.ndim != 2:
            raise ValueError("this Spectrum holds a single size; index only a multi-size Spectrum (decompress(..., n=[n1, n2, ...])).")
        return Spectrum(
            x=self.x,
            density=self.density[k],
            atoms=(self.atoms[0][k], self.atoms[1][k]),
            size=self.size[k],
            result=jax.tree.map(lambda v: v[k], self.result),
            m=self.m[k],
            law=self.law,
            t=self.t[k],
            kind=self.kind,
            solver=self.solver,
        )

    def _single(self, what: str):
        if self.density.ndim != 1:
            raise ValueError(
                f"Spectrum.{what} needs a single size; this one holds {self.density.shape[0]} sizes: use spec[k].{what}."
            )

    def _atoms(self):
        pos, w = self.atoms
        w = jnp.where(jnp.isfinite(pos), w, 0.0)
        return jnp.where(w > 0, pos, 0.0), w

    def _alpha(self):
        _, w = self._atoms()
        raw = _mass(self.x, self.density)
        return (1.0 - jnp.sum(w)) / jnp.where(raw > 0, raw, 1.0)

    # ------------------------------------------------------------------ the law
    @_compiled
    def mass(self) -> Float[Array, ""]:
        r"""Unnormalised total mass $\int\rho + \sum_a w_a$ on the grid (1 when the grid covers the support)."""
        self._single("mass()")
        return _mass(self.x, self.density) + jnp.sum(self._atoms()[1])

    def cdf(self, x: Real[ArrayLike, "*shape"]) -> Float[Array, "*shape"]:
        r"""$F(x) = \mu((-\infty, x])$ of the (normalised) law, atoms included (`x`: real points)."""
        arguments.real_points("x", x)
        return self._cdf(x)

    @_compiled
    def _cdf(self, x):
        self._single("cdf(x)")
        xq = jnp.asarray(x, dtype=jnp.float64)
        g, rho, alpha, Fn, (pos, w) = self._law()
        j = jnp.clip(jnp.searchsorted(g, xq, side="right") - 1, 0, g.shape[0] - 2)
        h = g[j + 1] - g[j]
        s = jnp.clip((xq - g[j]) / h, 0.0, 1.0)
        Fac = Fn[j] + h * (rho[j] * s + (rho[j + 1] - rho[j]) * s**2 / 2)
        Fac = jnp.where(xq < g[0], 0.0, Fac)
        Fat = jnp.sum(jnp.where(pos <= xq[..., None], w, 0.0), axis=-1)
        return alpha * Fac + Fat

    def _law(self):
        """Grid, density, normalisation alpha, unnormalised CDF of the density at the grid nodes, atoms."""
        x0, h, r0, s = _cells(self.x, self.density)
        nodes = jnp.concatenate([jnp.zeros((1,)), jnp.cumsum(h * (r0 + s * h / 2))])
        return self.x, self.density, self._alpha(), nodes, self._atoms()

    def quantile(self, q: Real[ArrayLike, "*shape"]) -> Float[Array, "*shape"]:
        r"""$Q(q) = \inf\{x : F(x) \ge q\}$ (exact inverse of the piecewise-quadratic CDF; atoms are
        jumps); `q`: probabilities in $[0, 1]$."""
        arguments.probabilities("q", q)
        return self._quantile(q)

    @_compiled
    def _quantile(self, q):
        self._single("quantile(q)")
        q = jnp.asarray(q, dtype=jnp.float64)
        g, rho, alpha, Fn, (pos, w) = self._law()
        # CDF just below each atom: atoms at one position (e.g. a law's atom at 0 and zero rows) are
        # stacked in slot order, so their intervals of q tile [F(x-), F(x)] without overlapping
        k = jnp.arange(pos.shape[-1])
        same_or_later = (pos[None, :] == pos[:, None]) & (k[None, :] >= k[:, None])
        # (empty slots, position NaN, are read at a grid node: a NaN there would turn grad's zero cotangents into NaN)
        Fa = self._cdf(jnp.where(w > 0, pos, g[0])) - jnp.sum(jnp.where(same_or_later, w[None, :], 0.0), axis=-1)
        below = jnp.where(w > 0, Fa, jnp.inf)
        upper = below + w
        qe = q[..., None]
        in_atom = (qe > below) & (qe <= upper) & (w > 0)
        atom_x = jnp.sum(jnp.where(in_atom, pos, 0.0), axis=-1)
        hit = jnp.any(in_atom, axis=-1)
        w_below = jnp.sum(jnp.where(upper <= qe, w, 0.0), axis=-1)
        r = jnp.clip((q - w_below) / jnp.where(alpha > 0, alpha, 1.0), 0.0, Fn[-1])
        j = jnp.clip(jnp.searchsorted(Fn, r, side="left") - 1, 0, g.shape[0] - 2)
        h = g[j + 1] - g[j]
        d = jnp.maximum(r - Fn[j], 0.0)
        a1 = h * rho[j]
        a2 = h * (rho[j + 1] - rho[j])
        square = a1**2 + 2 * a2 * d
        disc = jnp.where(square > 0, jnp.sqrt(jnp.where(square > 0, square, 1.0)), 0.0)  # sqrt's derivative at 0 is inf
        s = jnp.clip(2 * d / jnp.where(a1 + disc > 0, a1 + disc, 1.0), 0.0, 1.0)
        return jnp.where(hit, atom_x, g[j] + h * s)

    def eigvalsh(self, num: int | None = None) -> Float[Array, " n"]:
        r"""The $n$ predicted eigenvalues: quantiles $Q((k - \frac12)/n)$, $k = 1..n$, sorted.

        `num` defaults to the spectrum's size (which must then be concrete, i.e. outside `jit`).
        """
        self._single("eigvalsh()")
        return self._quantiles(self._static_size(num))

    @_compiled
    def _quantiles(self, n: int):
        return self._quantile((jnp.arange(n) + 0.5) / n)

    def _static_size(self, num):
        if num is not None:
            return arguments.integer("num", num, lower=1, fix="pass the number of eigenvalues wanted, e.g. num=spec.size")
        if not is_concrete(self.size):
            raise ValueError("the spectrum's size is traced (inside jit/vmap); pass the number of eigenvalues, eigvalsh(num=n).")
        return int(round(float(self.size)))

    # ------------------------------------------------------------------ integrals
    @_compiled
    def moment(self, k: int) -> Float[Array, ""]:
        r"""$\int x^k d\mu_n$, exact: the law's own moments at size $n$ (`law.exact_moments`; for a curve
        the recursion [`evolve_moments`][]), not the grid's quadrature, so `trace(p)` and its
        derivatives carry no grid error (`moment_errors` checks the quadrature against them)."""
        self._single("moment(k)")
        k = arguments.integer("k", k, lower=0, fix="pass a moment order k >= 0")
        return raw_from_central(*self.law.exact_moments(self.kind, self.t, max(k, 1)))[k]

    def _central(self, k: int, c):
        r"""$\int (x - c)^k d\mu$ (atoms included), cell by cell: on a cell $[a, a + h]$ the integrand
        $\rho(x)(x - c)^k$ is a polynomial of degree $k + 1$, which Gauss–Legendre with
        $\lceil (k + 2)/2\rceil$ nodes integrates exactly. The integrand is evaluated inside each cell,
        not as a difference of antiderivatives at its ends: that difference cancels catastrophically
        in a cell much narrower than its distance to $c$ (a bulk of tiny eigenvalues on a log grid,
        cells of $10^{-13}$ where the density is $10^{10}$: a first central moment off by $10^5$)."""
        pos, w = self._atoms()
        u, wu = np.polynomial.legendre.leggauss((k + 3) // 2)
        u, wu = (u + 1) / 2, wu / 2
        x0, h, r0 = self.x[:-1, None], jnp.diff(self.x)[:, None], self.density[:-1, None]
        r1 = self.density[1:, None]
        ac = jnp.sum(h * wu * (r0 + (r1 - r0) * u) * (x0 + h * u - c) ** k)
        return self._alpha() * ac + jnp.sum(w * (pos - c) ** k)

    @_compiled
    def moment_errors(self, kmax: int = 4) -> Float[Array, " kmax"]:
        r"""Check against the exact moments: $e_k = (\hat m_k - m_k)/s_k$, $k = 1..$`kmax`.

        $m_k$ are the exact central moments of the law at size $n$ about its exact mean
        (`law.exact_moments(kind, t, k)`: for a curve under [`Free`][], the recursion
        [`evolve_moments`][] from its central moments at $n_0$, docs/method.md, "Moments under
        free decompression"; under [`Deformed`][], the Laurent series of the evolved curve; a
        [`LevyKhintchine`][] law, its exact moments at size $n$). $\hat m_k$ integrates the predicted law about the same point, and
        $s_k = m_{2j}^{k/2j}$, $2j$ the even order $\ge k$ (so heavy tails do not inflate
        $e_3, e_4$). On a grid that covers the support, a decompression on the physical branch
        gives errors at the level of the grid's quadrature error (about 1e-4 at 1024 points);
        1e-2 and more means the flow left the physical branch somewhere (or the grid misses
        part of the support).
        """
        self._single("moment_errors()")
        kmax = arguments.integer("kmax", kmax, lower=2)
        order = 2 * ((kmax + 1) // 2)
        mean, exact = self.law.exact_moments(self.kind, self.t, order)
        got = jnp.stack([self._central(k, mean) for k in range(1, kmax + 1)])
        k = np.arange(1, kmax + 1)
        even = 2 * ((k + 1) // 2)
        scale = jnp.abs(exact[even]) ** (k / even)
        return (got - exact[1 : kmax + 1]) / scale

    def trace(self, p: int = 1) -> Float[Array, ""]:
        r"""$\operatorname{tr} A_n^p = n\int x^p d\mu_n$ (`p`: an integer $\ge 0$), from the exact moments ([`moment`][Spectrum.moment])."""
        return self.size * self.moment(arguments.integer("p", p, lower=0, fix="pass a power p >= 0"))

    def _abs_power(self, p):
        pos, w = self._atoms()
        ac = _integrate(
            self.x,
            self.density,
            lambda x: jnp.sign(x) * jnp.abs(x) ** (p + 1) / (p + 1),
            lambda x: jnp.abs(x) ** (p + 2) / (p + 2),
        )
        return self._alpha() * ac + jnp.sum(w * jnp.abs(pos) ** p)

    @_compiled
    def slogdet(self) -> tuple[Float[Array, ""], Float[Array, ""]]:
        r"""`(sign, log|det|)`: $\log|\det A_n| \approx n\int\log|x|\,d\mu$; the sign is
        $(-1)^{\#\{\lambda_k < 0\}}$ with the count read off the quantiles ($0$ when an atom sits at 0)."""
        self._single("slogdet()")
        pos, w = self._atoms()
        ac = _integrate(
            self.x,
            self.density,
            lambda x: x * _xlog(x) - x,
            lambda x: x**2 * _xlog(x) / 2 - x**2 / 4,
        )
        zero_atom = jnp.any((w > 0) & (pos == 0))
        logabs = self.size * (self._alpha() * ac + jnp.sum(jnp.where((w > 0) & (pos != 0), w * _xlog(pos), 0.0)))
        n_neg = jnp.floor(self.size * self._cdf(-jnp.finfo(jnp.float64).tiny) + 0.5)
        sign = jnp.where(jnp.mod(n_neg, 2) == 0, 1.0, -1.0)
        return jnp.where(zero_atom, 0.0, sign), jnp.where(zero_atom, -jnp.inf, logabs)

    @_compiled
    def norm(self, p: float | int = 2) -> Float[Array, ""]:
        r"""Schatten norm $(\sum_k|\lambda_k|^p)^{1/p} \approx (n\int|x|^pd\mu)^{1/p}$; `p = inf`: $\max_k|\lambda_k|$."""
        self._single("norm(p)")
        if isinstance(p, (int, float)) and not isinstance(p, bool) and p == np.inf:
            ends = self._quantile(jnp.array([0.5, self.size - 0.5]) / self.size)
            return jnp.max(jnp.abs(ends))
        arguments.real_scalar("p", p, lower=0.0, fix="pass p > 0 (p = 2: Frobenius, p = 1: nuclear) or p = inf (spectral norm)")
        return (self.size * self._abs_power(float(p))) ** (1.0 / p)

    @_compiled
    def cond(self) -> Float[Array, ""]:
        r"""2-norm condition number $\max_k|\lambda_k| / \min_k|\lambda_k|$ of the predicted eigenvalues."""
        self._single("cond()")
        n = self.size
        n_neg = jnp.floor(n * self._cdf(-jnp.finfo(jnp.float64).tiny) + 0.5)
        k = jnp.stack([n_neg - 0.5, n_neg + 0.5, 0.5, n - 0.5])
        k = jnp.clip(k, 0.5, n - 0.5)
        qv = jnp.abs(self._quantile(k / n))
        return jnp.max(qv[2:]) / jnp.min(qv[:2])

    # ------------------------------------------------------------------ edges (plain Python)
    def support(self) -> np.ndarray:
        r"""Bulks of the density at this size as an `(n_bulks, 2)` NumPy array of edges.

        Runs of positive density on the grid; each edge is refined by Newton on the exact edge
        equations $P(\zeta, y) = 0$, $dx/dy = 0$ at this size (docs/method.md, "Edges and cusps"),
        started from the state of the last grid point inside the bulk (a Lévy–Khintchine law:
        Newton on $z'(m) = 0$; with a diagonal profile, which has no explicit $z(m)$, the grid's
        edges, to within one grid step). Plain Python.
        """
        self._single("support()")
        return support(self)

    def edges(self, sizes, flow: EdgeFlow = EdgeFlow()) -> list[np.ndarray]:
        r"""Bulk edges at every size in `sizes` (one `(n_bulks, 2)` array per size): each edge's
        trajectory in size, $\dot u = -E_u^{-1}(\partial_tE + kE)$ on the law's exact edge equations,
        integrated by diffrax (`flow`, an [`EdgeFlow`][]) from the size where most edges exist; an
        edge ends at its cusp. Sizes past a cusp or an atom's birth (where an edge meets the atom), and
        every size of a law without edge equations: runs of the density on that size's own grid (as
        many points as this one's). Plain Python."""
        return edges(self, sizes, flow)

    def plot(self, **kwargs):
        """Density, atoms and (optionally) observed and true spectra: see [`plot_spectrum`][] (needs matplotlib)."""
        from ._plot import plot_spectrum  # matplotlib is optional: imported on use

        return plot_spectrum(self, **kwargs)

    def cusps(self, num: int = 32) -> np.ndarray:
        r"""Where gaps open (free) or close (deformed) between $n_0$ and this size: `(k, 2)` rows `[x*, n*]`.

        Bulks are counted at `num` log-spaced sizes; each change seeds Newton on the cusp system
        $P = 0$, $dx/dy = 0$, $d^2x/dy^2 = 0$ in $(\zeta, y, \tau)$ (docs/method.md, "Edges and cusps"); for a Lévy–Khintchine
        law with a diagonal profile, the gap's grid point and size are returned as they are. Plain Python.
        """
        self._single("cusps()")
        return cusps(self, num)


