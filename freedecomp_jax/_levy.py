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
(METHOD §1.10). With $s = 0$ the law has an atom at $a$ of weight $\max(0, 1 - \sum_k r_k)$:
a total rate below $\tau$ at $n_0$ means an atom is born before size $n_0\tau$.

**Fit** (`fit_levy`): $z + 1/m = a - s\,m + \sum_k r_k x_k/(1 + x_k m)$ is *linear* in
$(a, s, r)$, so with $m$ replaced by the empirical transform at points $z = x(1 + ih)$ (log
grid in $|x|$, heights $h$ relative to $|x|$ so every decade is sampled at its own scale)
the fit is one non-negative least-squares problem (each row divided by $|z|$), plus a heavily
weighted row for the exact mean $a + \sum_k r_k x_k$. Jumps sit on a fixed number of
log-spaced sizes spanning the data a decade beyond each end (both signs for an indefinite
spectrum; a positive semi-definite one has $a = s = 0$).

**The total rate is not identified by the data.** Spectra at size $n_0$ cannot tell a law
whose atom is born at $2n_0$ from one that never has one: the fit's residual stays on a
plateau over a wide range of total rates $R = \sum_k r_k$ (measured on real Gram and
Gauss–Newton matrices, also with nested submatrices held out: benchmarks/RESULTS.md). The
rule is *no atom births unless the data insist*: $R$ is the largest of the ladder
$R^*, 2R^*, 4R^*, \dots$ ($R^*$ the unconstrained fit's) whose residual is within
`rate_tolerance` of the unconstrained one.

**Solving for $m$** at $z = x + i\eta$: per point, a geometric ladder of heights from far
above the spectrum down to $\eta$; at each level Newton on $f(m) = z(m) - z$ when the step
stays in the upper half plane and lowers $|f|$, otherwise the fixed-point step
$m \leftarrow 1/(a - z - s\,m + \sum_k r_k x_k/(1 + x_k m))$, a contraction of the upper
half plane. Gradients use the implicit function theorem (one value-neutral Newton step at
the solution), never the ladder.

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

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.linalg import solve_triangular

from ._custom_types import Array, ArrayLike, Complex, Float, Real, RealScalarLike
from ._x64 import check_x64, is_concrete


class LevyKhintchine(eqx.Module):
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
        values = (drift, variance, rates, jumps, n0)
        if is_concrete(*values):
            arrs = [np.asarray(v, dtype=float) for v in values]
            if any(not np.all(np.isfinite(v)) for v in arrs):
                raise ValueError("LevyKhintchine parameters must be finite.")
            if arrs[2].ndim != 1 or arrs[2].shape != arrs[3].shape or arrs[2].size == 0:
                raise ValueError(f"rates and jumps must be 1-D arrays of one length >= 1; got {arrs[2].shape} and {arrs[3].shape}.")
            if arrs[1] < 0 or np.any(arrs[2] < 0):
                raise ValueError("LevyKhintchine needs variance >= 0 and rates >= 0 (a Levy measure is non-negative).")
            if arrs[4] < 1:
                raise ValueError(f"n0 must be >= 1; got {n0!r}.")
        if scales is not None and is_concrete(scales):
            d = np.asarray(scales, dtype=float)
            if d.ndim != 1 or d.size == 0 or not np.all(np.isfinite(d)) or np.any(d <= 0):
                raise ValueError("scales must be a non-empty 1-D array of finite positive values (a positive diagonal).")
        self.drift = jnp.asarray(drift, dtype=jnp.float64)
        self.variance = jnp.asarray(variance, dtype=jnp.float64)
        self.rates = jnp.asarray(rates, dtype=jnp.float64)
        self.jumps = jnp.asarray(jumps, dtype=jnp.float64)
        self.n0 = jnp.asarray(n0, dtype=jnp.float64)
        self.scales = None if scales is None else jnp.asarray(scales, dtype=jnp.float64)

    def evolve(self, t: RealScalarLike) -> "LevyKhintchine":
        r"""The law at size $n_0e^t$: $(a, \tau s, r/\tau, \tau x)$, $\tau = e^t$ (exact free decompression;
        the diagonal profile, if any, is kept)."""
        tau = jnp.exp(jnp.asarray(t, dtype=jnp.float64))
        return LevyKhintchine(self.drift, tau * self.variance, self.rates / tau, tau * self.jumps, self.n0 * tau, self.scales)

    def inverse(self, m: Complex[ArrayLike, "*shape"]) -> Complex[Array, "*shape"]:
        r"""$z(m)$, the inverse of the Stieltjes transform (of the law without its diagonal profile)."""
        m = jnp.asarray(m, dtype=jnp.complex128)
        return self.drift - self.variance * m - 1 / m + jnp.sum(self.rates * self.jumps / (1 + self.jumps * m[..., None]), axis=-1)

    def atom(self) -> tuple[Float[Array, ""], Float[Array, ""]]:
        r"""`(position, weight)`: $a$ and $\max(0, 1 - \sum_k r_k)$ when $s = 0$ (weight 0 otherwise).
        With a diagonal profile only an atom at $a = 0$ stays one (the kernel of $C$ is that of $A$)."""
        w = jnp.where(self.variance > 0, 0.0, jnp.maximum(0.0, 1.0 - jnp.sum(self.rates)))
        if self.scales is not None:
            w = jnp.where(self.drift == 0, w, 0.0)
        return self.drift, w

    def cumulants(self, order: int) -> Float[Array, " _"]:
        r"""Free cumulants $\kappa_1..\kappa_{order}$: $\kappa_1 = a + \sum r x$, $\kappa_2 = s + \sum r x^2$, $\kappa_j = \sum r x^j$
        (of $C$, the law without its diagonal profile)."""
        j = np.arange(1, int(order) + 1)
        k = jnp.sum(self.rates * self.jumps ** j[:, None], axis=1)
        return k.at[0].add(self.drift).at[1].add(self.variance) if order >= 2 else k.at[0].add(self.drift)

    def moments(self, order: int, central: bool = False) -> Float[Array, " _"]:
        r"""Moments $\mu_0..\mu_{order}$ (about the mean if `central`), from the free cumulants by
        the moment–cumulant relation $M(z) = C(zM(z))$ for $M = \sum_j\mu_jz^j$, $C = 1 + \sum_j\kappa_jz^j$
        (with a diagonal profile, from the fixed point for $e$ and $m$ as power series in $1/z$)."""
        order = int(order)
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
                power = jnp.convolve(power, zM)[: order + 1]
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


_FINAL = 1e-10  # height of the last level of the ladder, relative to |x|
_LEVELS = 80
_ITERS = 12


def _scale(law):
    """A size of the law's support: the largest jump times its weight, the semicircle and the drift."""
    return jnp.max(jnp.abs(law.jumps)) * jnp.maximum(jnp.sum(law.rates), 1.0) + jnp.sqrt(law.variance) + jnp.abs(law.drift)


def _f(law, m, z):
    """$z(m) - z$ and its derivative in m."""
    t = law.jumps / (1 + law.jumps * m[..., None])
    f = law.drift - law.variance * m - 1 / m + jnp.sum(law.rates * t, axis=-1) - z
    fp = -law.variance + 1 / m**2 - jnp.sum(law.rates * t * t, axis=-1)
    return f, fp


def _solve(law, x, eta):
    """(m, relative residual) at z = x + i eta (eta >= 0, elementwise; 0 is the limit from above)."""
    if law.scales is None:
        m = _solve_plain(law, x, eta)
        f, _ = _f(law, m, x + 1j * eta)
        return m, jnp.abs(f) / (jnp.abs(x) + _scale(law) * 1e-12)
    return _solve_scaled(law, x, eta)


def _solve_plain(law, x, eta):
    """m by the height ladder down to max(eta, 1e-10 |x|), then Newton at the exact height;
    differentiable by the IFT."""
    stopped = jax.lax.stop_gradient(law)
    top = 10.0 * (_scale(stopped) + jnp.abs(x))
    lt, lb = jnp.log(top), jnp.log(jnp.maximum(eta, _FINAL * (jnp.abs(x) + 1e-12 * _scale(stopped))))

    def level(k, m):
        z = x + 1j * jnp.exp(lt + (lb - lt) * k / (_LEVELS - 1))

        def step(_, m):
            f, fp = _f(stopped, m, z)
            mn = m - f / fp
            fn, _ = _f(stopped, mn, z)
            fixed = 1 / (f + 1 / m)  # 1/(a - z - s m + sum): the same equation solved for m
            ok = (jnp.imag(mn) > 0) & jnp.isfinite(mn) & (jnp.abs(fn) < jnp.abs(f))
            return jnp.where(ok, mn, fixed)

        return jax.lax.fori_loop(0, _ITERS, step, m)

    m = jax.lax.fori_loop(0, _LEVELS, level, -1 / (x + 1j * top))
    z = x + 1j * eta

    def polish(_, m):  # at the exact height: on the real axis the root is real outside the support
        f, fp = _f(stopped, m, z)
        mn = m - f / fp
        fn, _ = _f(stopped, mn, z)
        ok = jnp.isfinite(mn) & (jnp.abs(fn) < jnp.abs(f)) & (jnp.imag(mn) > -1e-6 * jnp.abs(mn))
        mn = jnp.where(ok, mn, m)
        return jax.lax.complex(jnp.real(mn), jnp.maximum(jnp.imag(mn), 0.0))

    m = jax.lax.stop_gradient(jax.lax.fori_loop(0, _ITERS, polish, m))
    f, fp = _f(law, m, z)
    delta = -f / jnp.where(fp == 0, 1.0, fp)
    return m + delta - jax.lax.stop_gradient(delta)


def _phi(law, e):
    r"""$\Phi(e) = a - s e + \sum_k r_kx_k/(1 + x_ke)$ and $\Phi'(e)$."""
    t = law.jumps / (1 + law.jumps * e[..., None])
    return law.drift - law.variance * e + jnp.sum(law.rates * t, axis=-1), -law.variance - jnp.sum(law.rates * t * t, axis=-1)


def _g(law, e, z):
    r"""$f(e) = e - \langle d/(d\Phi(e) - z)\rangle$, $f'(e)$, the fixed-point image and $m$."""
    d = law.scales
    phi, dphi = _phi(law, e)
    den = d * phi[..., None] - z[..., None]
    image = jnp.mean(d / den, axis=-1)
    fp = 1 + dphi * jnp.mean(d * d / den**2, axis=-1)
    return e - image, fp, image, jnp.mean(1 / den, axis=-1)


def _solve_scaled(law, x, eta):
    """The ladder of `_solve_plain` for e (a Stieltjes transform too: Im e > 0), then m from e."""
    stopped = jax.lax.stop_gradient(law)
    d = stopped.scales
    size = _scale(stopped) * jnp.max(d)
    top = 10.0 * (size + jnp.abs(x))
    lt, lb = jnp.log(top), jnp.log(jnp.maximum(eta, _FINAL * (jnp.abs(x) + 1e-12 * size)))

    def level(k, e):
        z = x + 1j * jnp.exp(lt + (lb - lt) * k / (_LEVELS - 1))

        def step(_, e):
            f, fp, image, _ = _g(stopped, e, z)
            en = e - f / fp
            fn, _, _, _ = _g(stopped, en, z)
            ok = (jnp.imag(en) > 0) & jnp.isfinite(en) & (jnp.abs(fn) < jnp.abs(f))
            return jnp.where(ok, en, image)

        return jax.lax.fori_loop(0, _ITERS, step, e)

    e = jax.lax.fori_loop(0, _LEVELS, level, -jnp.mean(d) / (x + 1j * top))
    z = x + 1j * eta

    def polish(_, e):
        f, fp, _, _ = _g(stopped, e, z)
        en = e - f / fp
        fn, _, _, _ = _g(stopped, en, z)
        ok = jnp.isfinite(en) & (jnp.abs(fn) < jnp.abs(f)) & (jnp.imag(en) > -1e-6 * jnp.abs(en))
        en = jnp.where(ok, en, e)
        return jax.lax.complex(jnp.real(en), jnp.maximum(jnp.imag(en), 0.0))

    e = jax.lax.stop_gradient(jax.lax.fori_loop(0, _ITERS, polish, e))
    f, fp, _, _ = _g(law, e, z)
    delta = -f / jnp.where(fp == 0, 1.0, fp)
    e = e + delta - jax.lax.stop_gradient(delta)
    _, _, _, m = _g(law, e, z)
    return m, jax.lax.stop_gradient(jnp.abs(f) / jnp.maximum(jnp.abs(e), 1e-300))


def _scaled_moments(law, order: int, central: bool):
    r"""Moments of $D^{1/2}CD^{1/2}$: with $w = 1/z$, $e = -\sum_j w^{j+1}\langle d^{j+1}\rangle\Phi(e)^j$ and
    $m = -\sum_j w^{j+1}\langle d^j\rangle\Phi(e)^j = -\sum_k \mu_kw^{k+1}$, $\Phi(e) = \sum_l\kappa_{l+1}(-e)^l$,
    as truncated power series in $w$ (each pass fixes one more coefficient)."""
    L = order + 2
    kappa = LevyKhintchine(law.drift, law.variance, law.rates, law.jumps).cumulants(L)
    H = jnp.mean(law.scales ** np.arange(L + 1)[:, None], axis=1)
    mul = lambda a, b: jnp.convolve(a, b)[:L]
    one = jnp.zeros(L).at[0].set(1.0)

    def series(e, shift):  # -sum_j w^{j+1} H_{j+shift} Phi(e)^j
        phi, power = kappa[0] * one, one
        for l in range(1, L):
            power = mul(power, -e)
            phi = phi + kappa[l] * power
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


# ---------------------------------------------------------------------------- the fit
class LevyConfig(eqx.Module):
    r"""How [`fit_levy`][] fits (every scale relative to the data).

    - `n_jumps`: jump sizes per sign, log-spaced from `pad` decades below the smallest non-zero
      $|\lambda|$ to `pad` decades above the largest.
    - `n_points`: fit points per height (log-spaced in $|x|$ from `pad` decades below the
      smallest non-zero $|\lambda|$ to the largest), at heights `heights` $\times|x|$.
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


def _masked_lstsq(A, b, P):
    """Least squares over the columns in P (others 0), via QR of [A P; diag(1 - P)] (full column rank, differentiable)."""
    K = A.shape[1]
    Pf = P.astype(A.dtype)
    Aa = jnp.concatenate([A * Pf, jnp.diag(1.0 - Pf + 1e-10 * Pf)])
    q, r = jnp.linalg.qr(Aa)
    return solve_triangular(r, q.T @ jnp.concatenate([b, jnp.zeros(K)]))


def _nnls(A, b, iters: int):
    r"""$\min\|Ax - b\|$ over $x \ge 0$: Lawson–Hanson active set, then the passive-set least squares
    (differentiable in A and b at a fixed active set)."""
    As, bs = jax.lax.stop_gradient((A, b))
    K = A.shape[1]
    tol = 10 * jnp.finfo(A.dtype).eps * jnp.max(jnp.sum(jnp.abs(As), axis=0)) * max(A.shape)

    def inner(c):
        x, P, s, k = c
        neg = P & (s <= 0)
        alpha = jnp.min(jnp.where(neg, x / jnp.where(neg, x - s, 1.0), jnp.inf))
        x = x + alpha * (s - x)
        P = P & (x > tol)
        return x, P, _masked_lstsq(As, bs, P), k + 1

    def outer(c):
        x, P, w, it = c
        j = jnp.argmax(jnp.where(P, -jnp.inf, w))
        P = P.at[j].set(True)
        x, P, s, _ = jax.lax.while_loop(
            lambda c: jnp.any(c[1] & (c[2] <= 0)) & (c[3] < K), inner, (x, P, _masked_lstsq(As, bs, P), 0)
        )
        x = jnp.where(P, s, 0.0)
        return x, P, As.T @ (bs - As @ x), it + 1

    x0 = jnp.zeros(K)
    _, P, _, _ = jax.lax.while_loop(
        lambda c: jnp.any(~c[1] & (c[2] > tol)) & (c[3] < iters), outer, (x0, jnp.zeros(K, bool), As.T @ bs, 0)
    )
    P = jax.lax.stop_gradient(P)
    return jnp.where(P, jnp.maximum(_masked_lstsq(A, b, P), 0.0), 0.0)  # (max: iteration cap reached mid-step)


def _zero_snap(lam, weights):
    tol = jnp.sum(weights > 0) * jnp.finfo(jnp.float64).eps * jnp.max(jnp.abs(jnp.where(weights > 0, lam, 0.0)))
    return jnp.where(jnp.abs(lam) <= tol, 0.0, lam)


def _design(lam, weights, jumps, signed: bool, config: LevyConfig):
    """Rows of the linear fit (real and imaginary parts), their right-hand side, and the mean row."""
    w = weights / jnp.sum(weights)
    nz = (lam != 0) & (weights > 0)
    lo = jnp.min(jnp.where(nz, jnp.abs(lam), jnp.inf))
    hi = jnp.max(jnp.where(weights > 0, jnp.abs(lam), 0.0))
    u = jnp.linspace(0.0, 1.0, config.n_points)
    xs = jnp.exp(jnp.log(lo) - config.pad * jnp.log(10.0) + (jnp.log(hi) - jnp.log(lo) + config.pad * jnp.log(10.0)) * u)
    if signed:
        xs = jnp.concatenate([-xs[::-1], xs])
    Z = jnp.concatenate([xs + 1j * h * jnp.abs(xs) for h in config.heights])
    M = jnp.sum(w / (lam - Z[:, None]), axis=1)
    A = jumps / (1 + jumps * M[:, None])
    if signed:  # drift and semicircle columns
        A = jnp.concatenate([jnp.ones_like(M)[:, None], -M[:, None], A], axis=1)
    A = A / jnp.abs(Z)[:, None]
    b = (Z + 1 / M) / jnp.abs(Z)
    A = jnp.concatenate([A.real, A.imag])
    b = jnp.concatenate([b.real, b.imag])
    norm = jnp.sqrt(b.shape[0])
    mean = jnp.sum(w * lam)
    scale = jnp.sum(w * jnp.abs(lam))
    mrow = jnp.concatenate([jnp.array([1.0, 0.0]), jumps]) if signed else jumps
    return A / norm, b / norm, mrow / scale, mean / scale


def _jump_grid(lam, weights, n_jumps: int, pad: float, signed: bool):
    nz = (lam != 0) & (weights > 0)
    lo = jnp.min(jnp.where(nz, jnp.abs(lam), jnp.inf)) * 10.0**-pad
    hi = jnp.max(jnp.where(weights > 0, jnp.abs(lam), 0.0)) * 10.0**pad
    pos = jnp.exp(jnp.linspace(jnp.log(lo), jnp.log(hi), n_jumps))
    return jnp.concatenate([-pos[::-1], pos]) if signed else pos


@eqx.filter_jit
def _fit_levy(lam, weights, n0, signed: bool, config: LevyConfig):
    lam = _zero_snap(lam, weights)
    jumps = _jump_grid(lam, weights, config.n_jumps, config.pad, signed)
    A, b, mrow, mval = _design(lam, weights, jumps, signed, config)
    big = 1e2  # weight of the exact mean (and of the imposed total rate)
    K = jumps.shape[0]
    head = 2 if signed else 0
    if signed:  # drift a = a+ - a-, both >= 0
        A = jnp.concatenate([A[:, :1], -A[:, :1], A[:, 1:]], axis=1)
        mrow = jnp.concatenate([mrow[:1], -mrow[:1], mrow[1:]])
        head = 3
    A_all = jnp.concatenate([A, big * mrow[None, :]])
    b_all = jnp.concatenate([b, big * mval[None]])
    # column scaling keeps the active-set least squares well conditioned
    cs = jnp.linalg.norm(A_all, axis=0)
    cs = jnp.where(cs > 0, cs, 1.0)

    def solve(rate, impose):
        rrow = jnp.concatenate([jnp.zeros(head), jnp.ones(K)]) * impose
        As = jnp.concatenate([A_all, big * rrow[None, :]]) / cs
        bs = jnp.concatenate([b_all, big * rate * impose[None]])
        p = _nnls(As, bs, config.nnls_iters) / cs
        return p, jnp.linalg.norm(A_all @ p - b_all)

    p0, res0 = solve(jnp.asarray(1.0), jnp.asarray(0.0))
    R0 = jax.lax.stop_gradient(jnp.sum(p0[head:]))
    rates = R0 * 2.0 ** jnp.arange(1, config.rate_steps + 1)
    ps, res = jax.vmap(lambda r: solve(r, jnp.asarray(1.0)))(rates)
    ps = jnp.concatenate([p0[None], ps])
    res = jnp.concatenate([res0[None], res])
    ok = jax.lax.stop_gradient(res <= config.rate_tolerance * res0)
    k = jnp.max(jnp.where(ok, jnp.arange(ok.shape[0]), 0))
    p = ps[k]
    if signed:
        drift, variance, r = p[0] - p[1], p[2], p[3:]
    else:
        drift, variance, r = jnp.zeros(()), jnp.zeros(()), p
    return LevyKhintchine(drift, variance, r, jumps, n0)


def fit_levy(
    eigs: Real[ArrayLike, " m"] | Real[ArrayLike, "m k"],
    n0: RealScalarLike | None = None,
    *,
    weights: Float[ArrayLike, " m"] | None = None,
    signed: bool | None = None,
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
    """
    check_x64()
    lam = jnp.asarray(eigs)
    scales = None
    if lam.ndim == 2:
        lam, scales = _matrix_input(lam, weights)
    if is_concrete(lam):
        arr = np.asarray(lam)
        if arr.ndim != 1 or arr.size < 8:
            raise ValueError(f"fit_levy needs a 1-D array of at least 8 eigenvalues; got shape {arr.shape}.")
        if np.iscomplexobj(arr) or not np.issubdtype(arr.dtype, np.number):
            raise ValueError(f"eigs must be real; got dtype {arr.dtype}.")
        if not np.all(np.isfinite(arr)):
            raise ValueError("eigs contains NaN or inf; remove them (or recompute the eigenvalues) before fitting.")
    lam = lam.astype(jnp.float64)
    w = jnp.ones_like(lam) if weights is None else jnp.asarray(weights, dtype=jnp.float64)
    if is_concrete(lam, w):
        la, wa = np.asarray(lam), np.asarray(w)
        if wa.shape != la.shape or np.any(wa < 0) or not np.all(np.isfinite(wa)):
            raise ValueError(f"weights must be finite, non-negative and of shape {la.shape}.")
        act = wa > 0
        tol = act.sum() * np.finfo(float).eps * np.max(np.abs(la[act]), initial=0.0)
        if np.unique(la[act & (np.abs(la) > tol)]).size < 2:
            raise ValueError("the spectrum has fewer than two distinct non-zero eigenvalues: there is no bulk to fit.")
        if signed is None:
            signed = bool(np.any(la[act] < -tol))
    elif signed is None:
        raise ValueError("fit_levy under jit/vmap cannot look at the eigenvalues' signs; pass signed=True or False.")
    size = jnp.sum(w > 0) if n0 is None else n0
    if is_concrete(size):
        if not float(size) >= 1:
            raise ValueError(f"n0 must be >= 1; got {n0!r}.")
    law = _fit_levy(lam, w, jnp.asarray(size, dtype=jnp.float64), bool(signed), config)
    if scales is None:
        return law
    return LevyKhintchine(law.drift, law.variance, law.rates, law.jumps, law.n0, scales)


def _matrix_input(A, weights):
    """(eigenvalues to fit, scales): those of $D^{-1/2}AD^{-1/2}$ and $d$, or of $A$ and None."""
    if weights is not None:
        raise ValueError("weights apply to eigenvalues; pass the eigenvalues (or the matrix without weights).")
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"a matrix input must be square; got shape {A.shape}.")
    if jnp.iscomplexobj(A):
        raise ValueError(f"a matrix input must be real symmetric; got dtype {A.dtype}.")
    A = A.astype(jnp.float64)
    d = jnp.diagonal(A)
    if is_concrete(A):
        arr = np.asarray(A)
        if not np.all(np.isfinite(arr)):
            raise ValueError("the matrix contains NaN or inf; fix its entries before fitting.")
        if not np.allclose(arr, arr.T, rtol=1e-10, atol=1e-12 * np.max(np.abs(arr), initial=0.0)):
            raise ValueError("the matrix is not symmetric; pass (A + A.T) / 2 or its eigenvalues.")
        if not np.all(np.diagonal(arr) > 0):
            return jnp.linalg.eigvalsh(A), None
    else:
        d = eqx.error_if(d, ~jnp.all(d > 0), "fit_levy under jit needs a positive diagonal (or pass the eigenvalues).")
    r = 1 / jnp.sqrt(d)
    C = A * r[:, None] * r[None, :]
    return jnp.linalg.eigvalsh(0.5 * (C + C.T)), d


def levy_grid(law: LevyKhintchine, tau: float, size: int) -> np.ndarray:
    """A grid covering the support of the law decompressed by `tau`: log-spaced in |x| (both
    signs for a signed law) from 1e-4 x the smallest jump to 100 x the largest, times tau (and
    times the smallest and largest diagonal scale)."""
    j = np.abs(np.asarray(law.jumps))
    d = np.ones(1) if law.scales is None else np.asarray(law.scales)
    lo = j.min() * 1e-4 * tau * d.min()
    hi = (j.max() * tau + 10 * np.sqrt(float(law.variance) * tau) + abs(float(law.drift))) * 100 * d.max()
    signed = bool(np.any(np.asarray(law.jumps) < 0)) or float(law.variance) > 0
    g = np.geomspace(lo, hi, size // 2 if signed else size)
    return np.concatenate([-g[::-1], g]) if signed else g


