r"""`LevyKhintchine`: a free infinitely divisible law, the model for spectra that span decades.

Its Stieltjes transform $m(z) = \int d\mu(\lambda)/(\lambda - z)$ has the explicit inverse

$$z(m) = a - s\,m - \frac1m + \sum_k \frac{r_k x_k}{1 + x_k m},$$

i.e. the R-transform $R(w) = a + s\,w + \sum_k r_k x_k/(1 - x_k w)$: a drift $a$, a
semicircular part of variance $s \ge 0$ and compound free Poisson jumps of sizes $x_k$ at
rates $r_k \ge 0$ (the free Lévy–Khintchine formula with a discrete Lévy measure). It is an
algebraic curve of degree 1 in $z$, but with as many sheets as jumps, so it is kept in this
explicit form instead of as a `SpectralCurve`.

**Free decompression is exact**: free cumulants scale as $\kappa_j(\tau) = \tau^{j-1}\kappa_j$,
i.e. $R_\tau(w) = R(\tau w)$, which maps $(a, s, r_k, x_k) \mapsto (a, \tau s, r_k/\tau, \tau x_k)$
(docs/method.md, "The free Levy-Khintchine law"). With $s = 0$ the law has an atom at $a$ of weight $\max(0, 1 - \sum_k r_k)$:
a total rate below $\tau$ at $n_0$ means an atom is born before size $n_0\tau$.

It is fitted by [`fit_levy`][] (one non-negative least-squares problem, `_levy_fit.py`).

**Solving for $m$** (`_levy_solve.py`): a ladder of heights per point, Newton or a fixed-point step
at each level; gradients by the implicit function theorem.

**A diagonal profile** (`scales` $d_i > 0$): the law of $A = D^{1/2}CD^{1/2}$ with $C$ of the
law above, free from the diagonal $D$. A random principal submatrix keeps the diagonal entries
as they are, so the law of $D$ stays fixed while $C$ is freely decompressed: the right model
for matrices whose rows live on different scales (Hessians and Gauss–Newton matrices of
networks: their small eigenvalues belong to small-scale coordinates and do *not* follow free
compression). With $\Phi(e) = a - s\,e + \sum_k r_kx_k/(1 + x_ke)$ (so $z(m) = \Phi(m) - 1/m$
without scales), the resolvent is $\operatorname{diag}(1/(d_i\Phi(e) - z))$ where
$e = \langle d/(d\Phi(e) - z)\rangle$ (a scalar fixed point; $\langle\cdot\rangle$ the mean over the
$d_i$) and $m = \langle 1/(d\Phi(e) - z)\rangle$; solved by the same ladder in $e$.
"""

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from . import _arguments as arguments
from ._custom_types import Array, ArrayLike, Complex, Float, Real, RealScalarLike
from ._edge_flow import AbstractEdgeSystem
from ._kinds import AbstractDecompression, Free
from ._law import AbstractSpectralLaw
from ._levy_grid import grid_and_solved, levy_grid
from ._levy_solve import _CHUNK, _scale, _solve
from ._newton import real_newton
from ._poly import polymul
from ._results import RESULTS, full, where
from ._spectrum import Spectrum
from ._x64 import check_x64, is_concrete


class LevyKhintchine(AbstractSpectralLaw):
    r"""Free Lévy–Khintchine law $z(m) = a - s m - 1/m + \sum_k r_k x_k/(1 + x_k m)$ at size `n0`.

    Fields: `drift` $a$, `variance` $s \ge 0$, `rates` $r_k \ge 0$ `(K,)`, `jumps` $x_k$ `(K,)`,
    `n0`, and optionally `scales` $d_i > 0$ `(D,)`, a diagonal profile: then the law is that of
    $D^{1/2}CD^{1/2}$, $C$ of the Lévy–Khintchine law, $D$ fixed as the size grows. See the module
    docstring; fitted by [`fit_levy`][], decompressed by [`decompress`][].
    """

    drift: Float[Array, ""]
    variance: Float[Array, ""]
    rates: Float[Array, " K"]
    jumps: Float[Array, " K"]
    n0: Float[Array, ""]
    scales: Float[Array, " D"] | None

    def __init__(self, drift, variance, rates, jumps, n0: RealScalarLike = 1.0, scales=None):
        arguments.real_scalar("drift", drift)
        arguments.real_scalar("variance", variance, lower=0.0, strict=False, fix="pass the variance of the semicircular part, >= 0")
        arguments.real_scalar("n0", n0, lower=1.0, strict=False, fix="pass the matrix size the law describes")
        if is_concrete(rates, jumps):
            r, j = arguments.eigenvalues("rates", rates), arguments.eigenvalues("jumps", jumps)
            if r.ndim != 1 or r.shape != j.shape or r.size == 0:
                arguments.fail("rates, jumps", (r.shape, j.shape), "must be 1-D arrays of one length >= 1", "pass one rate per jump")
            if np.any(r < 0):
                arguments.fail("rates", rates, "must be >= 0 (a Levy measure is non-negative)", "pass non-negative rates")
        if scales is not None and is_concrete(scales):
            d = arguments.eigenvalues("scales", scales)
            if d.ndim != 1 or d.size == 0 or np.any(d <= 0):
                arguments.fail("scales", scales, "must be a non-empty 1-D array of finite positive values (a positive diagonal)", "pass the positive diagonal entries")
        self.drift = jnp.asarray(drift, dtype=jnp.float64)
        self.variance = jnp.asarray(variance, dtype=jnp.float64)
        self.rates = jnp.asarray(rates, dtype=jnp.float64)
        self.jumps = jnp.asarray(jumps, dtype=jnp.float64)
        self.n0 = jnp.asarray(n0, dtype=jnp.float64)
        self.scales = None if scales is None else jnp.asarray(scales, dtype=jnp.float64)

    def evolve(self, t: RealScalarLike, kind: AbstractDecompression = Free()) -> "LevyKhintchine":
        r"""The law at size $n_0e^t$: $(a, \tau s, r/\tau, \tau x)$, $\tau = e^t$ (exact free decompression;
        the diagonal profile, if any, is kept). Free only: a Gram matrix of $q$ features is this law fitted
        with `fit_levy(..., rank=q)`, whose free decompression is the Gram matrix's (`_levy_fit.py`)."""
        if not isinstance(kind, Free):
            raise ValueError(
                f"a LevyKhintchine law is decompressed freely only (kind=fdj.Free()); got {type(kind).__name__}. "
                "For a Gram matrix X X^T of q features, fit it with fdj.fit_levy(..., rank=q) and decompress it with kind=fdj.Free() "
                "(exact for that law), or call fdj.predict(x, n, fdj.Deformed(ratio)), which does so."
            )
        tau = jnp.exp(jnp.asarray(t, dtype=jnp.float64))
        return LevyKhintchine(self.drift, tau * self.variance, self.rates / tau, tau * self.jumps, self.n0 * tau, self.scales)

    def inverse(self, m: Complex[ArrayLike, "*shape"]) -> Complex[Array, "*shape"]:
        r"""$z(m)$, the inverse of the Stieltjes transform (of the law without its diagonal profile)."""
        m = jnp.asarray(m, dtype=jnp.complex128)
        return self.drift - self.variance * m - 1 / m + jnp.sum(self.rates * self.jumps / (1 + self.jumps * m[..., None]), axis=-1)

    def atoms(self) -> tuple[Float[Array, " 1"], Float[Array, " 1"]]:
        r"""`(positions, weights)`, one slot: $a$ and $\max(0, 1 - \sum_k r_k)$ when $s = 0$ (weight 0 otherwise).
        With a diagonal profile only an atom at $a = 0$ stays one (the kernel of $C$ is that of $A$)."""
        w = jnp.where(self.variance > 0, 0.0, jnp.maximum(0.0, 1.0 - jnp.sum(self.rates)))
        if self.scales is not None:
            w = jnp.where(self.drift == 0, w, 0.0)
        return self.drift[None], w[None]

    def cumulants(self, order: int) -> Float[Array, " _"]:
        r"""Free cumulants $\kappa_1..\kappa_{order}$: $\kappa_1 = a + \sum r x$, $\kappa_2 = s + \sum r x^2$, $\kappa_j = \sum r x^j$
        (of $C$, the law without its diagonal profile)."""
        j = np.arange(1, int(order) + 1)
        k = jnp.sum(self.rates * self.jumps ** j[:, None], axis=1)
        return k.at[0].add(self.drift).at[1].add(self.variance) if order >= 2 else k.at[0].add(self.drift)

    def moments(self, k: int, central: bool = False) -> Float[Array, " _"]:
        r"""Moments $\mu_0..\mu_{order}$ (about the mean if `central`), from the free cumulants by
        the moment–cumulant relation $M(z) = C(zM(z))$ for $M = \sum_j\mu_jz^j$, $C = 1 + \sum_j\kappa_jz^j$
        (with a diagonal profile, from the fixed point for $e$ and $m$ as power series in $1/z$)."""
        order = int(k)
        if self.scales is not None:
            return _scaled_moments(self, order, central)
        kappa = self.cumulants(max(order, 1))
        if central:
            kappa = kappa.at[0].set(0.0)
        M = jnp.zeros(order + 1).at[0].set(1.0)
        for _ in range(order):  # each pass fixes one more coefficient
            zM = jnp.concatenate([jnp.zeros(1), M[:-1]])
            power = jnp.zeros(order + 1).at[0].set(1.0)
            new = jnp.zeros(order + 1).at[0].set(1.0)
            for j in range(order):
                power = polymul(power, zM)[: order + 1]
                new = new + kappa[j] * power
            M = new
        return M

    def stieltjes(self, z: Complex[ArrayLike, "*shape"]) -> Complex[Array, "*shape"]:
        r"""$m(z)$ for $\operatorname{Im} z > 0$ (physical branch; see the module docstring)."""
        check_x64()
        z = jnp.asarray(z, dtype=jnp.complex128)
        m, _ = _solve(self, z.real.reshape(-1), z.imag.reshape(-1))
        return m.reshape(z.shape)

    def density(self, x: Real[ArrayLike, "*shape"]) -> Float[Array, "*shape"]:
        r"""Absolutely continuous density $\operatorname{Im} m(x + i0)/\pi$."""
        return jnp.imag(self.boundary(x)) / jnp.pi

    def boundary(self, x: Real[ArrayLike, "*shape"]) -> Complex[Array, "*shape"]:
        r"""$m(x + i0)$ on the real axis."""
        check_x64()
        x = jnp.asarray(x, dtype=jnp.float64)
        flat = x.reshape(-1)
        return _solve(self, flat, jnp.zeros_like(flat))[0].reshape(x.shape)

    def residual(self, x: Real[ArrayLike, " P"], m: Complex[ArrayLike, " P"]) -> Float[Array, " P"]:
        r"""$|z(m) - x| / (|x| + |z|_{\rm scale})$: how well `m` solves the law's equation at the real points `x`
        (a law with a diagonal profile has no such check in $m$ alone: `boundary` reports it instead)."""
        if self.scales is not None:
            raise ValueError("residual(x, m) needs a law without scales; with a diagonal profile the equation is in e, not m.")
        x = jnp.asarray(x, dtype=jnp.float64)
        return jnp.abs(self.inverse(m) - x) / (jnp.abs(x) + _scale(self) * 1e-12)


    @property
    def log_grid(self) -> bool:
        return True

    def support(self) -> np.ndarray:
        """Bulks of the density at $n_0$ as an `(n_bulks, 2)` array: the runs of positive density on a
        log grid spanning the law, edges refined by Newton where the law has an explicit $z(m)$. Plain Python."""
        return Spectrum.solve(self, Free(), jnp.asarray(levy_grid(self, 1.0, 4096)), self.n0).support()

    # ------------------------------------------------------------------ AbstractSpectralLaw hooks
    def solve_grid(self, kind: AbstractDecompression, x, ts, solver=None):
        """The law at every size in `ts` (exact evolution), solved point by point on the grid. The grid is
        padded to whole chunks of the solve with copies of its last point (which the solve pads with
        anyway), so grids of every length within a chunk share one compiled program."""
        del solver
        size = x.shape[0]
        x = jnp.concatenate([x, jnp.broadcast_to(x[-1:], ((-size) % _CHUNK,))])
        m, density, pos, w, result = _solve_grid(self, kind, x, ts)
        m, density, result = _first_points((m, density, result), size)
        return m, density, pos, w, result

    def grid(self, kind: AbstractDecompression, n: Real[ArrayLike, ""], size: int, solver=None) -> Float[Array, " grid"]:
        """A grid of `5 size` points for the law at size `n`: the wide log grid, solved to find the bulks, and `size`
        points placed where the bulks, the mass and the moments need them (`_levy_grid.py`). Pure JAX: `n` may be traced."""
        points, wide = self.grid_and_solved(kind, n, size, solver)
        return jnp.sort(jnp.concatenate([points, wide.x]))

    def grid_and_solved(self, kind: AbstractDecompression, n: Real[ArrayLike, ""], size: int, solver=None):
        """`grid` as its second pass, still to solve, and the wide log grid solved at size `n` (`_levy_grid.py`)."""
        del solver
        return grid_and_solved(self, kind, jnp.asarray(n, dtype=jnp.float64), size)

    def edge_system(self, kind: AbstractDecompression) -> "LevyEdges | None":
        """Real critical points of $z_\tau(m)$; none with a diagonal profile (no explicit $z(m)$: the grid's edges)."""
        del kind  # free only: a law that solved on a grid was evolved freely
        return None if self.scales is not None else LevyEdges(self)

    def refine_cusps(self, kind: AbstractDecompression, x_seed, m_seed, tau_seed):
        if self.scales is not None:  # the grid's gap and size
            return super().refine_cusps(kind, x_seed, m_seed, tau_seed)
        return _refine_cusps(self, x_seed, m_seed, tau_seed)


@functools.partial(jax.jit, static_argnums=1)
def _first_points(arrays, size: int):
    """The first `size` points of each `(sizes, points)` array: one small program per size (sliced one by one outside a
    program, each slice would compile its own)."""
    return jax.tree.map(lambda v: v[:, :size], arrays)


@eqx.filter_jit
def _solve_grid(law: LevyKhintchine, kind, x, ts):
    def one(t):
        lt = law.evolve(t, kind)
        m, residual = _solve(lt, x, jnp.zeros_like(x))
        pos, w = lt.atoms()
        good = jnp.isfinite(m) & (jnp.imag(m) >= 0) & (residual <= 1e-6)
        on_atom = (w[0] > 0) & (x == pos[0])
        result = where(good, full(x.shape, RESULTS.successful), full(x.shape, RESULTS.newton_failed))
        result = where(on_atom, RESULTS.on_atom, result)
        return m, jnp.where(on_atom, 0.0, jnp.imag(m) / jnp.pi), pos, w, result

    return jax.vmap(one)(ts)


def _scaled_moments(law, order: int, central: bool):
    r"""Moments of $D^{1/2}CD^{1/2}$: with $w = 1/z$, $e = -\sum_j w^{j+1}\langle d^{j+1}\rangle\Phi(e)^j$ and
    $m = -\sum_j w^{j+1}\langle d^j\rangle\Phi(e)^j = -\sum_k \mu_kw^{k+1}$, $\Phi(e) = \sum_l\kappa_{l+1}(-e)^l$,
    as truncated power series in $w$ (each pass fixes one more coefficient)."""
    L = order + 2
    kappa = LevyKhintchine(law.drift, law.variance, law.rates, law.jumps).cumulants(L)
    H = jnp.mean(law.scales ** np.arange(L + 1)[:, None], axis=1)
    def mul(a, b):
        return polymul(a, b)[:L]

    one = jnp.zeros(L).at[0].set(1.0)

    def series(e, shift):  # -sum_j w^{j+1} H_{j+shift} Phi(e)^j
        phi, power = kappa[0] * one, one
        for j in range(1, L):
            power = mul(power, -e)
            phi = phi + kappa[j] * power
        out, power = jnp.zeros(L), one
        for j in range(L - 1):
            out = out - H[j + shift] * jnp.concatenate([jnp.zeros(j + 1), power[: L - j - 1]])
            power = mul(power, phi)
        return out

    e = jnp.zeros(L)
    for _ in range(L):
        e = series(e, 1)
    M = -series(e, 0)[1 : order + 2]
    if central:
        mean = M[1]
        k = np.arange(order + 1)
        binom = np.array([[math.comb(i, j) for j in range(order + 1)] for i in range(order + 1)], dtype=float)
        M = jnp.stack([jnp.sum(binom[i, : i + 1] * M[: i + 1] * (-mean) ** (i - k[: i + 1])) for i in range(order + 1)])
    return M


# ---------------------------------------------------------------------------- edges and cusps
def _levy_z(law, tau, m):
    r"""$z_\tau(m) = a - \tau s m - 1/m + \sum_k r_k x_k/(1 + \tau x_k m)$ at real $m$ (the law at size $n_0\tau$)."""
    return law.drift - tau * law.variance * m - 1 / m + jnp.sum(law.rates * law.jumps / (1 + tau * law.jumps * m))


def _levy_edge_system(law, scale):
    r"""Edges are the real critical points of $z_\tau(m)$; cusps where $z_\tau'' = 0$ too. Unknowns
    $u = m\,$`scale` and $\log\tau$; residuals $m^2z'$ and $m^3z''$ (dimensionless)."""

    def derivs(u, v):
        m = u / scale
        def z(m):
            return _levy_z(law, jnp.exp(v), m)

        d1 = jax.grad(z)
        return m, d1(m), jax.grad(d1)(m)

    def edge(u, v):
        m, d1, _ = derivs(u[0], v)
        return jnp.stack([m**2 * d1])

    def cusp(u):
        m, d1, d2 = derivs(u[0], u[1])
        return jnp.stack([m**2 * d1, m**3 * d2])

    return edge, cusp


class LevyEdges(AbstractEdgeSystem):
    r"""Edges of a Lévy–Khintchine law: $u = m\,s$ ($s$ the lane's $|x|$), $E = m^2z_\tau'(m)$."""

    law: LevyKhintchine

    def seed(self, t, x_seed, m_seed):
        s = jnp.abs(x_seed)
        return jnp.real(m_seed)[None] * s, s

    def residual(self, u, t, s):
        edge, _ = _levy_edge_system(self.law, s)
        return edge(u, t)

    def x(self, u, t, s):
        return _levy_z(self.law, jnp.exp(t), u[0] / s)


@eqx.filter_jit
def _refine_cusps(law, x_seed, m_seed, tau_seed):
    """Newton for (m, log tau) with z_tau' = z_tau'' = 0 from seeds; returns (x*, tau*, ok)."""

    def one(x0, m0, t0):
        scale = jnp.abs(x0)
        _, cusp = _levy_edge_system(law, scale)
        u, r = real_newton(cusp, jnp.stack([jnp.real(m0) * scale, jnp.log(t0)]))
        tau = jnp.exp(u[1])
        return _levy_z(law, tau, u[0] / scale), tau, r

    xs, ts, r = jax.vmap(one)(x_seed, m_seed, tau_seed)
    return xs, ts, r <= 1e-9
