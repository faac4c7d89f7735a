r"""`Spectrum`: the predicted spectral law at size $n$, and what users read off it.

The law is $\mu = \alpha\,\rho(x)\,dx + \sum_a w_a\delta_a$: the absolutely continuous density
$\rho$ known exactly at the grid points and taken piecewise linear between them (zero outside
the grid, so the grid must cover the support), plus the atoms. The factor
$\alpha = (1 - \sum_a w_a)/\int\rho$ renormalises the grid's quadrature of $\rho$ so that
$\mu$ has unit mass (`Spectrum.mass()` reports the unnormalised total as a diagnostic).
Every integral against $\mu$ is exact for the piecewise-linear density (closed-form
antiderivatives cell by cell), so quantiles, moments and log-determinants carry only the
interpolation error of $\rho$ on the grid.
"""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._curve import SpectralCurve
from ._levy import LevyKhintchine
from ._custom_types import Array, ArrayLike, Complex, Float, Int, Real
from ._x64 import is_concrete


# ---------------------------------------------------------------------------- exact moments
def evolve_moments(moments: Float[ArrayLike, " K"], t: Real[ArrayLike, ""]) -> Float[Array, " K"]:
    r"""Moments $\mu_0..\mu_K$ at time $t$ from those at $t = 0$ (unit mass; METHOD §1.6).

    $\mu_n(t) = \sum_{k=0}^{n-1} a_{n,k}e^{kt}$ with $a_1 = (\mu_1)$,
    $R_{n,k} = \sum_{i=1}^{n-1}(a_i * a_{n-i})_k$, $a_{n,k} = \frac{1 + k/2}{n - 1 - k}R_{n,k}$
    for $k \le n - 2$ and $a_{n,n-1} = \mu_n(0) - \sum_{k<n-1}a_{n,k}$ (free cumulants scale like
    $\kappa_j(t) = e^{(j-1)t}\kappa_j(0)$).
    """
    mu = jnp.asarray(moments, dtype=jnp.float64)
    mu = mu / mu[0]
    K = mu.shape[0] - 1
    t = jnp.asarray(t, dtype=jnp.float64)
    if K == 0:
        return jnp.ones((1,))
    a = {1: mu[1:2]}
    out = [jnp.ones(()), mu[1]]
    for n in range(2, K + 1):
        R = jnp.zeros((n,))
        for i in range(1, n):
            conv = jnp.convolve(a[i], a[n - i])
            R = R.at[: conv.shape[0]].add(conv)
        k = np.arange(n - 1)
        head = (1 + k / 2) / (n - 1 - k) * R[: n - 1]
        a[n] = jnp.concatenate([head, (mu[n] - jnp.sum(head))[None]])
        out.append(jnp.sum(a[n] * jnp.exp(np.arange(n) * t)))
    return jnp.stack(out)


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
    - `status`: per-grid-point status (0 ok; codes in `freedecomp_jax._decompress.STATUS_MESSAGES`).
    - `m`: the Stieltjes transform $m_n(x + i0)$ at the grid ($\rho = \operatorname{Im} m/\pi$).
    - `curve`, `t`, `kind`, `ratio`: where it came from ($n = n_0 e^t$); `curve` is a
      [`SpectralCurve`][] or, for spectra spanning decades, a [`LevyKhintchine`][] law.
    """

    x: Float[Array, " P"]
    density: Float[Array, "*S P"]
    atoms: tuple[Float[Array, "*S A"], Float[Array, "*S A"]]
    size: Float[Array, "*S"]
    status: Int[Array, "*S P"]
    m: Complex[Array, "*S P"]
    curve: SpectralCurve | LevyKhintchine
    t: Float[Array, "*S"]
    ratio: Float[Array, ""] | None
    kind: str = eqx.field(static=True, default="free")

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
            status=self.status[k],
            m=self.m[k],
            curve=self.curve,
            t=self.t[k],
            ratio=self.ratio,
            kind=self.kind,
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
        raw = _integrate(self.x, self.density, lambda x: x, lambda x: x**2 / 2)
        return (1.0 - jnp.sum(w)) / jnp.where(raw > 0, raw, 1.0)

    # ------------------------------------------------------------------ the law
    @_compiled
    def mass(self) -> Float[Array, ""]:
        r"""Unnormalised total mass $\int\rho + \sum_a w_a$ on the grid (1 when the grid covers the support)."""
        self._single("mass()")
        return _integrate(self.x, self.density, lambda x: x, lambda x: x**2 / 2) + jnp.sum(self._atoms()[1])

    @_compiled
    def cdf(self, x: Real[ArrayLike, "*shape"]) -> Float[Array, "*shape"]:
        r"""$F(x) = \mu((-\infty, x])$ of the (normalised) law, atoms included."""
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

    @_compiled
    def quantile(self, q: Real[ArrayLike, "*shape"]) -> Float[Array, "*shape"]:
        r"""$Q(q) = \inf\{x : F(x) \ge q\}$ (exact inverse of the piecewise-quadratic CDF; atoms are jumps)."""
        self._single("quantile(q)")
        q = jnp.asarray(q, dtype=jnp.float64)
        g, rho, alpha, Fn, (pos, w) = self._law()
        # CDF just below / at each atom
        Fa = self.cdf(pos) - w  # includes the other atoms at or below, minus itself
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
        disc = jnp.sqrt(jnp.maximum(a1**2 + 2 * a2 * d, 0.0))
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
        return self.quantile((jnp.arange(n) + 0.5) / n)

    def _static_size(self, num):
        if num is not None:
            return int(num)
        if not is_concrete(self.size):
            raise ValueError("the spectrum's size is traced (inside jit/vmap); pass the number of eigenvalues, eigvalsh(num=n).")
        return int(round(float(self.size)))

    # ------------------------------------------------------------------ integrals
    @_compiled
    def moment(self, k: int) -> Float[Array, ""]:
        r"""$\int x^k d\mu$ (atoms included)."""
        self._single("moment(k)")
        k = int(k)
        pos, w = self._atoms()
        ac = _integrate(self.x, self.density, lambda x: x ** (k + 1) / (k + 1), lambda x: x ** (k + 2) / (k + 2))
        return self._alpha() * ac + jnp.sum(w * pos**k)

    def _central(self, k: int, c):
        r"""$\int (x - c)^k d\mu$ (atoms included)."""
        pos, w = self._atoms()
        ac = _integrate(
            self.x,
            self.density,
            lambda x: (x - c) ** (k + 1) / (k + 1),
            lambda x: (x - c) ** (k + 2) / (k + 2) + c * (x - c) ** (k + 1) / (k + 1),
        )
        return self._alpha() * ac + jnp.sum(w * (pos - c) ** k)

    @_compiled
    def moment_errors(self, kmax: int = 4) -> Float[Array, " kmax"]:
        r"""Check against the exact moments: $e_k = (\hat m_k - m_k)/s_k$, $k = 1..$`kmax`.

        $m_k$ are the exact central moments of the law at size $n$ (about its exact mean):
        free, the recursion [`evolve_moments`][] from the curve's central moments at $n_0$
        (METHOD §1.6; free decompression keeps the mean); deformed, the Laurent series of
        `curve.evolve(t)`; a [`LevyKhintchine`][] law, its exact moments at size $n$. $\hat m_k$ integrates the predicted law about the same point, and
        $s_k = m_{2j}^{k/2j}$, $2j$ the even order $\ge k$ (so heavy tails do not inflate
        $e_3, e_4$). On a grid that covers the support, a decompression on the physical branch
        gives errors at the level of the grid's quadrature error (about 1e-4 at 1024 points);
        1e-2 and more means the flow left the physical branch somewhere (or the grid misses
        part of the support).
        """
        self._single("moment_errors()")
        kmax = int(kmax)
        if kmax < 2:
            raise ValueError(f"moment_errors needs kmax >= 2; got {kmax}.")
        order = 2 * ((kmax + 1) // 2)
        if isinstance(self.curve, LevyKhintchine):  # exact moments from the free cumulants at size n
            law = self.curve.evolve(self.t)
            mean = law.moments(1)[1]
            exact = law.moments(order, central=True)
        else:
            mean, exact = self._curve_moments(order)
        got = jnp.stack([self._central(k, mean) for k in range(1, kmax + 1)])
        k = np.arange(1, kmax + 1)
        even = 2 * ((k + 1) // 2)
        scale = jnp.abs(exact[even]) ** (k / even)
        return (got - exact[1 : kmax + 1]) / scale

    def _curve_moments(self, order: int):
        """Exact mean and central moments at size n of a `SpectralCurve` prediction."""
        from ._decompress import _rescale
        from ._evolve import evolve_coeffs

        if self.kind == "free":
            law = self.curve
        else:  # the evolved curve directly (t >= 0 holds by construction; no run-time check to compile)
            law = SpectralCurve(evolve_coeffs(self.curve.coeffs, self.t, "deformed", self.ratio))
        raw = law.moments(1)
        mean = raw[1] / raw[0]
        exact = SpectralCurve(_rescale(law.coeffs, mean, 1.0)).moments(order)
        exact = exact / exact[0]
        if self.kind == "free":
            exact = evolve_moments(exact, self.t)
        return mean, exact

    def trace(self, p: int = 1) -> Float[Array, ""]:
        r"""$\operatorname{tr} A_n^p \approx n\int x^p d\mu$."""
        return self.size * self.moment(p)

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
        n_neg = jnp.floor(self.size * self.cdf(-jnp.finfo(jnp.float64).tiny) + 0.5)
        sign = jnp.where(jnp.mod(n_neg, 2) == 0, 1.0, -1.0)
        return jnp.where(zero_atom, 0.0, sign), jnp.where(zero_atom, -jnp.inf, logabs)

    @_compiled
    def norm(self, p: float | int = 2) -> Float[Array, ""]:
        r"""Schatten norm $(\sum_k|\lambda_k|^p)^{1/p} \approx (n\int|x|^pd\mu)^{1/p}$; `p = inf`: $\max_k|\lambda_k|$."""
        self._single("norm(p)")
        if p == np.inf:
            ends = self.quantile(jnp.array([0.5, self.size - 0.5]) / self.size)
            return jnp.max(jnp.abs(ends))
        if not p > 0:
            raise ValueError(f"norm(p) needs p > 0 or p = inf; got {p!r}.")
        return (self.size * self._abs_power(float(p))) ** (1.0 / p)

    @_compiled
    def cond(self) -> Float[Array, ""]:
        r"""2-norm condition number $\max_k|\lambda_k| / \min_k|\lambda_k|$ of the predicted eigenvalues."""
        self._single("cond()")
        n = self.size
        n_neg = jnp.floor(n * self.cdf(-jnp.finfo(jnp.float64).tiny) + 0.5)
        k = jnp.stack([n_neg - 0.5, n_neg + 0.5, 0.5, n - 0.5])
        k = jnp.clip(k, 0.5, n - 0.5)
        qv = jnp.abs(self.quantile(k / n))
        return jnp.max(qv[2:]) / jnp.min(qv[:2])

    # ------------------------------------------------------------------ edges (plain Python)
    def support(self) -> np.ndarray:
        r"""Bulks of the density at this size as an `(n_bulks, 2)` NumPy array of edges.

        Runs of positive density on the grid; each edge is refined by Newton on the exact edge
        equations $P(\zeta, y) = 0$, $dx/dy = 0$ at this size (METHOD §1.8; deformed §1.9),
        started from the state of the last grid point inside the bulk (a Lévy–Khintchine law:
        Newton on $z'(m) = 0$; with a diagonal profile, which has no explicit $z(m)$, the grid's
        edges, to within one grid step). Plain Python.
        """
        self._single("support()")
        return _support(self)

    def edges(self, sizes) -> list[np.ndarray]:
        """Bulk edges at every size in `sizes` (one `(n_bulks, 2)` array per size), on this grid."""
        return _edges(self, sizes)

    def cusps(self, num: int = 32) -> np.ndarray:
        r"""Where bulks split (free) or merge (deformed) between $n_0$ and this size: `(k, 2)` rows `[x*, n*]`.

        Bulks are counted at `num` log-spaced sizes; each change seeds Newton on the cusp system
        $P = 0$, $dx/dy = 0$, $d^2x/dy^2 = 0$ in $(\zeta, y, \tau)$ (METHOD §1.8, §5.4); for a Lévy–Khintchine
        law with a diagonal profile, the gap's grid point and size are returned as they are. Plain Python.
        """
        self._single("cusps()")
        return _cusps(self, num)


# ---------------------------------------------------------------------------- edges and cusps
def _edge_map(kind: str):
    r"""$X(\zeta, y, \tau)$: the query point whose characteristic state is $(\zeta, y)$ (F_2 = 0 solved for z)."""

    def X(zeta, y, tau, c0):
        if kind == "free":
            return zeta - (tau - 1) / y
        A = c0 * y * zeta + c0 - 1
        return tau * zeta + (tau - 1) * zeta / A

    return X


def _edge_residuals(ct, kind, c0):
    r"""$E(\zeta, y; \tau) = (P, D_1)$ and $C(\zeta, y, \tau) = (P, D_1, D_2)$ (METHOD §1.8, §1.9):
    $D_1 = X_\zeta P_y - X_y P_\zeta$ (dx/dy = 0 along the curve: an edge), $D_2 = \nabla D_1\cdot(P_y, -P_\zeta)$
    (d²x/dy² = 0 as well: a cusp)."""
    from ._poly import polyval2

    X = _edge_map(kind)

    def P(v):
        return polyval2(ct, v[0], v[1])

    def D1(v, tau):
        gP = jax.grad(P)(v)
        gX = jax.grad(lambda w: X(w[0], w[1], tau, c0))(v)
        return gX[0] * gP[1] - gX[1] * gP[0]

    def D2(v, tau):
        gP = jax.grad(P)(v)
        gD = jax.grad(lambda w: D1(w, tau))(v)
        return gD[0] * gP[1] - gD[1] * gP[0]

    def edge(v, tau):
        return jnp.stack([P(v), D1(v, tau)])

    def cusp(u):
        v, tau = u[:2], u[2]
        return jnp.stack([P(v), D1(v, tau), D2(v, tau)])

    return edge, cusp, X


def _real_newton(f, u, steps: int = 40):
    """Newton on a square real system, keeping the iterate with the smallest residual."""
    jac = jax.jacfwd(f)

    def body(_, carry):
        u, best, rbest = carry
        du = jnp.linalg.solve(jac(u), f(u))
        u_new = u - du
        u_new = jnp.where(jnp.all(jnp.isfinite(u_new)), u_new, u)
        r = jnp.max(jnp.abs(f(u_new)))
        better = r < rbest
        return u_new, jnp.where(better, u_new, best), jnp.where(better, r, rbest)

    r0 = jnp.max(jnp.abs(f(u)))
    _, best, r = jax.lax.fori_loop(0, steps, body, (u, u, r0))
    return best, r


def _scaled_system(c, kind, c0):
    """Centre, width, scaled coefficients and the 2x2 decompression system (as in `decompress`)."""
    from ._decompress import _rescale, _spectral_frame, _System

    center, width, _ = _spectral_frame(c)
    if kind == "deformed":  # the deformed relations are scale but not shift invariant
        width = jnp.sqrt(width**2 + center**2)
        center = jnp.zeros_like(center)
    ct = _rescale(c, center, width)
    return center, width, ct, _System(ct, c0, kind)


@eqx.filter_jit
def _refine_edges(c, kind, c0, tau, x_seed, m_seed):
    """Newton on the edge system from grid seeds (original units in and out); returns (x_edge, ok)."""
    center, width, ct, sys = _scaled_system(c, kind, c0)
    edge, _, X = _edge_residuals(ct, kind, c0)
    zt = ((x_seed - center) / width).astype(jnp.complex128)
    zeta, y = sys.state_of(tau, zt, m_seed * width)
    u0 = jnp.stack([jnp.real(zeta), jnp.real(y)], axis=-1)

    def one(u0):
        u, r = _real_newton(lambda u: edge(u, tau), u0)
        return center + width * X(u[0], u[1], tau, c0), r

    xe, r = jax.vmap(one)(u0)
    return xe, r <= 1e-9


@eqx.filter_jit
def _refine_cusps(c, kind, c0, x_seed, m_seed, tau_seed):
    """Newton on the cusp system (zeta, y, tau) from seeds; returns (x*, tau*, ok)."""
    center, width, ct, sys = _scaled_system(c, kind, c0)
    _, cusp, X = _edge_residuals(ct, kind, c0)
    zt = ((x_seed - center) / width).astype(jnp.complex128)
    zeta, y = sys.state_of(tau_seed, zt, m_seed * width)
    u0 = jnp.stack([jnp.real(zeta), jnp.real(y), tau_seed], axis=-1)

    def one(u0):
        u, r = _real_newton(cusp, u0)
        return center + width * X(u[0], u[1], u[2], c0), u[2], r

    xs, ts, r = jax.vmap(one)(u0)
    return xs, ts, r <= 1e-9


def _levy_z(law, tau, m):
    r"""$z_\tau(m) = a - \tau s m - 1/m + \sum_k r_k x_k/(1 + \tau x_k m)$ at real $m$ (the law at size $n_0\tau$)."""
    return law.drift - tau * law.variance * m - 1 / m + jnp.sum(law.rates * law.jumps / (1 + tau * law.jumps * m))


def _levy_edge_system(law, scale):
    r"""Edges are the real critical points of $z_\tau(m)$; cusps where $z_\tau'' = 0$ too. Unknowns
    $u = m\,$`scale` and $\log\tau$; residuals $m^2z'$ and $m^3z''$ (dimensionless)."""

    def derivs(u, v):
        m = u / scale
        z = lambda m: _levy_z(law, jnp.exp(v), m)
        d1 = jax.grad(z)
        return m, d1(m), jax.grad(d1)(m)

    def edge(u, v):
        m, d1, _ = derivs(u[0], v)
        return jnp.stack([m**2 * d1])

    def cusp(u):
        m, d1, d2 = derivs(u[0], u[1])
        return jnp.stack([m**2 * d1, m**3 * d2])

    return edge, cusp


@eqx.filter_jit
def _refine_levy_edges(law, tau, x_seed, m_seed):
    """Newton for the real critical point of z_tau(m) next to each seed; returns (x_edge, ok)."""

    def one(x0, m0):
        scale = jnp.abs(x0)
        edge, _ = _levy_edge_system(law, scale)
        u, r = _real_newton(lambda u: edge(u, jnp.log(tau)), jnp.real(m0)[None] * scale)
        return _levy_z(law, tau, u[0] / scale), r

    xe, r = jax.vmap(one)(x_seed, m_seed)
    return xe, r <= 1e-9


@eqx.filter_jit
def _refine_levy_cusps(law, x_seed, m_seed, tau_seed):
    """Newton for (m, log tau) with z_tau' = z_tau'' = 0 from seeds; returns (x*, tau*, ok)."""

    def one(x0, m0, t0):
        scale = jnp.abs(x0)
        _, cusp = _levy_edge_system(law, scale)
        u, r = _real_newton(cusp, jnp.stack([jnp.real(m0) * scale, jnp.log(t0)]))
        tau = jnp.exp(u[1])
        return _levy_z(law, tau, u[0] / scale), tau, r

    xs, ts, r = jax.vmap(one)(x_seed, m_seed, tau_seed)
    return xs, ts, r <= 1e-9


def _bulk_runs(rho, status, x=None):
    """Index pairs (first, last) of the runs of grid points with positive density (with `x`, of
    positive mass per log-unit $|x|\rho$: for log-spaced grids over decades)."""
    from ._decompress import OK, SWITCHED

    if x is not None:
        rho = rho * np.abs(x)
    inside = (rho > 1e-12 * max(float(np.nanmax(rho, initial=0.0)), 1e-300)) & ((status == OK) | (status == SWITCHED))
    idx = np.flatnonzero(np.diff(np.concatenate([[0], inside.astype(int), [0]])))
    return idx.reshape(-1, 2) - np.array([0, 1])


def _padded(idx):
    """`idx` padded (with its first entry) to a multiple of 8."""
    return np.concatenate([idx, np.full((-idx.size) % 8, idx[0])])


def _support(spec: "Spectrum") -> np.ndarray:
    x = np.asarray(spec.x)
    P = x.size
    levy = isinstance(spec.curve, LevyKhintchine)
    runs = _bulk_runs(np.asarray(spec.density), np.asarray(spec.status), x if levy else None)
    if runs.size == 0:
        return np.zeros((0, 2))
    inner = runs.reshape(-1)  # left, right, left, right, ...
    left = np.arange(inner.size) % 2 == 0
    outer = np.where(left, inner - 1, inner + 1)
    has_outer = (outer >= 0) & (outer < P)
    x_out = x[np.clip(outer, 0, P - 1)]
    c0 = jnp.asarray(1.0) if spec.ratio is None else spec.ratio
    seeds = _padded(inner)  # few distinct shapes, few compilations
    if levy and spec.curve.scales is not None:  # no explicit z(m): the grid's edges
        xe, ok = np.zeros(seeds.size), np.zeros(seeds.size, dtype=bool)
    elif levy:
        xe, ok = _refine_levy_edges(spec.curve, jnp.exp(spec.t), jnp.asarray(x[seeds]), jnp.asarray(np.asarray(spec.m)[seeds]))
    else:
        xe, ok = _refine_edges(
            spec.curve.coeffs, spec.kind, c0, jnp.exp(spec.t), jnp.asarray(x[seeds]), jnp.asarray(np.asarray(spec.m)[seeds])
        )
    xe, ok = np.asarray(xe)[: inner.size], np.asarray(ok)[: inner.size]
    lo = np.where(left, x_out, x[inner])
    hi = np.where(left, x[inner], x_out)
    slack = 1e-9 * (np.abs(lo) + np.abs(hi))
    refined = ok & has_outer & (xe >= lo - slack) & (xe <= hi + slack)
    # an edge beyond the grid, or one Newton could not pin down: the grid's best guess
    fallback = np.where(has_outer, 0.5 * (x[inner] + x_out), x[inner])
    return np.where(refined, xe, fallback).reshape(-1, 2)


def _edges(spec: "Spectrum", sizes) -> list:
    from ._decompress import DecompressConfig, decompress

    many = decompress(
        spec.curve, spec.x, np.atleast_1d(np.asarray(sizes, dtype=float)), kind=spec.kind, ratio=spec.ratio,
        config=DecompressConfig(throw=False),
    )
    return [many[k].support() for k in range(many.density.shape[0])]


def _cusps(spec: "Spectrum", num: int) -> np.ndarray:
    from ._decompress import DecompressConfig, decompress

    n0 = float(spec.curve.n0)
    sizes = n0 * np.geomspace(1.0, float(spec.size) / n0, num)
    many = decompress(spec.curve, spec.x, sizes, kind=spec.kind, ratio=spec.ratio, config=DecompressConfig(throw=False))
    x = np.asarray(spec.x)
    m = np.asarray(many.m)
    seeds = []
    for k in range(num - 1):
        a, b = many[k].support(), many[k + 1].support()
        # free: a gap opens inside a bulk (split); deformed: a gap closes (merge)
        new, old, kk = (b, a, k + 1) if spec.kind == "free" else (a, b, k)
        if new.shape[0] <= old.shape[0]:
            continue
        for g in range(new.shape[0] - 1):
            lo, hi = new[g, 1], new[g + 1, 0]
            if np.any((old[:, 0] < lo) & (old[:, 1] > hi)):
                j = int(np.argmin(np.abs(x - 0.5 * (lo + hi))))
                seeds.append((x[j], m[kk, j], sizes[kk] / n0))
    if not seeds:
        return np.zeros((0, 2))
    k = _padded(np.arange(len(seeds)))
    xs, ms, taus = (jnp.asarray(np.array(v)[k]) for v in zip(*seeds))
    c0 = jnp.asarray(1.0) if spec.ratio is None else spec.ratio
    if isinstance(spec.curve, LevyKhintchine) and spec.curve.scales is not None:  # the grid's gap and size
        xc, tc, ok = xs, taus, np.ones(xs.shape, dtype=bool)
    elif isinstance(spec.curve, LevyKhintchine):
        xc, tc, ok = _refine_levy_cusps(spec.curve, xs, ms, taus)
    else:
        xc, tc, ok = _refine_cusps(spec.curve.coeffs, spec.kind, c0, xs, ms, taus)
    out = np.stack([np.asarray(xc), n0 * np.asarray(tc)], axis=1)[: len(seeds)][np.asarray(ok)[: len(seeds)]]
    out = out[(out[:, 1] >= n0 * (1 - 1e-9)) & (out[:, 1] <= float(spec.size) * (1 + 1e-9))]
    if out.size == 0:
        return np.zeros((0, 2))
    _, keep = np.unique(np.round(out / (1e-8 * (1 + np.abs(out)))), axis=0, return_index=True)
    return out[np.sort(keep)]
