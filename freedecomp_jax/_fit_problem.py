r"""The data and constraints of a curve fit, and its closed-form start (docs/method.md, "Fitting a curve").

The empirical transform at fit points, exact zeros as an atom, the moment and atom constraint
rows and the constrained smallest singular vector (see the docstring of `_fit.py`).
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._custom_types import Array, ArrayLike, Bool, Complex, Float
from ._fit_config import FitConfig
from ._poly import polymul
from ._stieltjes import empirical_stieltjes, fit_points, spectrum_interval

# ---------------------------------------------------------------------------- exact zeros


def zero_tolerance(
    eigs: Float[ArrayLike, " m"], weights: Float[ArrayLike, " m"] | None = None, eps: float = float(np.finfo(np.float64).eps)
) -> Float[Array, ""]:
    r"""Threshold below which an eigenvalue is an exact zero: $\tau_0 = m\,\varepsilon\,\max_k|\lambda_k|$.

    A symmetric eigensolver returns each eigenvalue to within a few $m\varepsilon\|A\|_2$
    (backward stability), so a structural zero (rank deficiency, dead parameters) comes
    back as $|\lambda| \lesssim m\varepsilon\|A\|_2$ — the same threshold as
    `numpy.linalg.matrix_rank`. Anything above is resolved by the arithmetic and is a
    tiny-but-real eigenvalue: it belongs to a bulk, which spreads under decompression,
    whereas the zeros form an atom whose weight grows as $1 - (1 - w_0)e^{-t}$. The test is
    relative to the spectrum's own scale and the input's precision (`eps` of the dtype the
    eigenvalues were computed in), and consistent across nested submatrices: a rank-$r$
    matrix gives zeros at $\lesssim m'\varepsilon\|A\|$ at every size $m'$.

    `m` counts the entries with positive weight.
    """
    eigs = jnp.asarray(eigs, dtype=jnp.float64)
    w = jnp.ones_like(eigs) if weights is None else jnp.asarray(weights, dtype=jnp.float64)
    active = w > 0
    scale = jnp.max(jnp.where(active, jnp.abs(eigs), 0.0))
    return jnp.sum(active) * eps * scale


# ---------------------------------------------------------------------------- linear algebra


@jax.custom_jvp
def _min_singular_vector(a):
    """Right singular vector of the smallest singular value (sign as returned by the SVD)."""
    _, _, vt = jnp.linalg.svd(a, full_matrices=False)
    return vt[-1]


@_min_singular_vector.defjvp
def _min_singular_vector_jvp(primals, tangents):
    # v is the bottom eigenvector of G = A^T A: dv = -sum_{k != min} v_k v_k^T dG v / (s_k^2 - s_min^2)
    (a,), (da,) = primals, tangents
    _, s, vt = jnp.linalg.svd(a, full_matrices=False)
    v = vt[-1]
    dg_v = a.T @ (da @ v) + da.T @ (a @ v)
    rest = vt[:-1]
    dv = -rest.T @ ((rest @ dg_v) / (s[:-1] ** 2 - s[-1] ** 2))
    return v, dv


def _shift_matrix(n: int, c, s):
    """S (n, n) with S[i, k] = [z^i] ((z - c)/s)^k."""
    i = np.arange(n)[:, None]
    k = np.arange(n)[None, :]
    binom = np.array([[math.comb(kk, ii) if kk >= ii else 0 for kk in range(n)] for ii in range(n)], dtype=float)
    power = np.maximum(k - i, 0)
    return jnp.where(k >= i, binom * (-c) ** power * s ** (-k.astype(float)), 0.0)


def _series_power_table(mu, K: int, n_q: int):
    """Coefficients of m(w)^j, j = 0..K, up to w^(n_q-1), for m(w) = -sum_p mu_p w^(p+1)."""
    mser = jnp.zeros(n_q, dtype=mu.dtype)
    n_mu = min(mu.shape[0], n_q - 1)
    mser = mser.at[1 : n_mu + 1].set(-mu[:n_mu])
    pows = [jnp.zeros(n_q, dtype=mu.dtype).at[0].set(1.0)]
    for _ in range(K):
        pows.append(polymul(pows[-1], mser)[:n_q])
    return jnp.stack(pows)  # (K+1, n_q)


def _moment_rows(mu, L: int, K: int, n_q: int):
    """Rows over c (L+1, K+1): [w^q] of w^L P(1/w, m(w)) for q = 0..n_q-1."""
    table = _series_power_table(mu, K, n_q)  # (K+1, n_q)
    q = np.arange(n_q)[:, None, None]
    i = np.arange(L + 1)[None, :, None]
    j = np.arange(K + 1)[None, None, :]
    qq, jj = np.broadcast_arrays(q - (L - i), j)
    valid = (qq >= 0) & (qq < n_q)
    vals = table[jj, np.clip(qq, 0, n_q - 1)]
    return jnp.where(valid, vals, 0.0).reshape(n_q, -1)


def _atom_rows(z0, w0, L: int, K: int):
    """a_K(z0) = 0 and a_{K-1}(z0) - w0 a_K'(z0) = 0 (pole of m at z0 with residue -w0)."""
    i = np.arange(L + 1)
    pw = z0 ** i
    dpw = jnp.where(i > 0, i * z0 ** np.maximum(i - 1, 0), 0.0)
    r1 = jnp.zeros((L + 1, K + 1)).at[:, K].set(pw)
    r2 = jnp.zeros((L + 1, K + 1)).at[:, K - 1].set(pw).at[:, K].add(-w0 * dpw)
    return jnp.stack([r1.reshape(-1), r2.reshape(-1)])


# ---------------------------------------------------------------------------- the problem


class _Data(eqx.Module):
    """What a fit needs from one spectrum, in arrays whose shapes do not depend on its size
    (so the per-degree compiled code is shared by spectra of every size)."""

    z: Complex[Array, " N"]  # fit points
    m: Complex[Array, " N"]  # m_emp there
    pw: Float[Array, " N"]  # 0/1 point weights (0: too close to the cut)
    log: Bool[Array, ""]
    lo: Float[Array, ""]  # data interval, in the mode's variable (x or ln x)
    hi: Float[Array, ""]
    cz: Float[Array, ""]  # scaled variable zh = (z - cz)/sz
    sz: Float[Array, ""]
    w0: Float[Array, ""]  # atom weight at 0 (fraction of exact zeros)
    tol0: Float[Array, ""]  # zero tolerance
    mu: Float[Array, " r"]  # moments of the scaled spectrum (lambda - cz)/sz, mu_0 = 1
    smooth: Float[Array, " G"]  # uniform grid (in x or ln x), Poisson heights, weights
    eta: Float[Array, " G"]
    smooth_dx: Float[Array, " G"]
    mass_emp: Float[Array, ""]  # mass of the data seen at those heights
    near: Float[Array, " G2"]  # grid resolving near-zero structure, trapezoid weights
    near_dx: Float[Array, " G2"]
    check: Float[Array, " C2"]  # finer such grid for the diagnostics
    check_dx: Float[Array, " C2"]


def _widen(lo, hi):
    width = hi - lo
    return lo - 0.1 * width, hi + 0.1 * width


def _smoothing_grid(lo, hi, log, n: int):
    """n midpoints uniform in the mode's variable over [lo, hi] widened by 10%, heights 2h (x 2h in log mode), weights."""
    a, b = _widen(lo, hi)
    h = (b - a) / n
    u = a + (jnp.arange(n) + 0.5) * h
    x = jnp.where(log, jnp.exp(u), u)
    dx = jnp.where(log, x * h, h)
    return x, 2.0 * dx, dx


def _resolving_grid(lo, hi, log, s0, n: int):
    """Sorted grid over [lo, hi] widened by 10%, with trapezoid weights.

    Linear mode: n points uniform in x and n uniform in arcsinh(x/s0), resolving structure
    down to |x| ~ s0 near 0 (a narrow bulk of tiny eigenvalues) and nearly log-spaced
    elsewhere. Log mode: 2n points uniform in ln x.
    """
    a, b = _widen(lo, hi)
    k = (jnp.arange(n) + 0.5) / n
    va, vb = jnp.arcsinh(a / s0), jnp.arcsinh(b / s0)
    x_lin = jnp.sort(jnp.concatenate([a + (b - a) * k, s0 * jnp.sinh(va + (vb - va) * k)]))
    x_log = jnp.exp(a + (b - a) * (jnp.arange(2 * n) + 0.5) / (2 * n))
    x = jnp.where(log, x_log, x_lin)
    gaps = jnp.diff(x)
    dx = 0.5 * (jnp.concatenate([gaps[:1], gaps]) + jnp.concatenate([gaps, gaps[-1:]]))
    return x, dx


def _auto_log(lam, active, zero, decades: float):
    """Log mode for a positive spectrum (exact zeros aside) spanning more than `decades` decades."""
    nonzero = active & ~zero
    positive = jnp.all(jnp.where(nonzero, lam > 0, True)) & jnp.any(nonzero)
    lo = jnp.min(jnp.where(nonzero, jnp.abs(lam), jnp.inf))
    hi = jnp.max(jnp.where(nonzero, jnp.abs(lam), 0.0))
    return positive & (hi > lo * 10.0**decades)


def _spectrum_data(eigs, weights, log, eps: float, config: FitConfig) -> _Data:
    """The fit data of one spectrum. `log`: the sampling mode, None (or -1) automatic (`_auto_log`), False (0)
    linear, True (1) logarithmic; passed as an integer array, one compiled program serves every mode."""
    log = jnp.asarray(-1 if log is None else log, dtype=jnp.int32)
    eigs = jnp.asarray(eigs, dtype=jnp.float64)
    w = jnp.asarray(weights, dtype=jnp.float64)
    active = w > 0
    tol0 = zero_tolerance(eigs, w, eps)
    zero = active & (jnp.abs(eigs) <= tol0)
    lam = jnp.where(zero, 0.0, eigs)
    wsum = jnp.sum(w)
    w0 = jnp.sum(jnp.where(zero, w, 0.0)) / wsum
    use_log = jnp.where(log < 0, _auto_log(lam, active, zero, config.log_decades), log > 0)
    z, pw = fit_points(lam, w, use_log, config.points)
    m = empirical_stieltjes(lam, z, w)
    lo, hi = spectrum_interval(lam, w, use_log)
    cz = jnp.where(use_log, 0.0, (lo + hi) / 2)
    sz = jnp.where(use_log, jnp.exp((lo + hi) / 2), (hi - lo) / 2)
    lamh = (lam - cz) / sz
    mu = jnp.stack([jnp.sum(w * lamh**k) / wsum for k in range(config.moments + 1)])
    smooth, eta, smooth_dx = _smoothing_grid(lo, hi, use_log, config.n_grid)
    mass_emp = jnp.sum(jnp.imag(empirical_stieltjes(lam, smooth + 1j * eta, w)) * smooth_dx) / jnp.pi
    s0 = jnp.maximum(tol0, jnp.finfo(jnp.float64).tiny)
    near, near_dx = _resolving_grid(lo, hi, use_log, s0, config.n_grid)
    check, check_dx = _resolving_grid(lo, hi, use_log, s0, config.n_check)
    return _Data(z, m, pw, use_log, lo, hi, cz, sz, w0, tol0, mu, smooth, eta, smooth_dx, mass_emp, near, near_dx, check, check_dx)


def _transformed(data: _Data, t):
    """Data of a spectrum at size n0 e^t moved onto the base curve: (zeta, y) = (z + (1 - e^-t)/m, e^t m)."""
    zeta = data.z + (-jnp.expm1(-t)) / data.m
    return zeta, jnp.exp(t) * data.m, data.pw


class _Problem(eqx.Module):
    """The conditioned least-squares problem and the loss data of one fit."""

    z: Complex[Array, " N"]
    m: Complex[Array, " N"]
    pw: Float[Array, " N"]
    omega: Float[Array, " N"]
    design: Float[Array, "twoN p"]
    proj: Float[Array, "p p"]
    to_raw: Float[Array, "p p"]
    to_scaled: Float[Array, " p"]  # scaled-monomial coefficients = to_scaled * b
    smooth: Float[Array, " G"]
    eta: Float[Array, " G"]
    smooth_dx: Float[Array, " G"]
    mass_emp: Float[Array, ""]
    near: Float[Array, " G2"]
    near_dx: Float[Array, " G2"]
    check: Float[Array, " C2"]
    check_dx: Float[Array, " C2"]
    w0: Float[Array, ""]
    tol0: Float[Array, ""]  # the data's zero tolerance: |x| <= tol0 is the atom at 0 when w0 > 0
    shape: tuple[int, int] = eqx.field(static=True)

    def scaled(self, b: Float[Array, " p"]) -> Float[Array, "Lp1 Kp1"]:
        r"""Coefficients of $P$ in the scaled variables $\hat z = (z - c)/s$, $\hat m = s\,m$."""
        return (self.to_scaled * (self.proj @ b)).reshape(self.shape)


class _Coefficients(eqx.Module):
    """The trainable curve: coefficients `b` in the conditioned coordinates of the problem."""

    b: Float[Array, " p"]

    def raw(self, problem: _Problem) -> Float[Array, "Lp1 Kp1"]:
        """Raw coefficients c = T Pi b (not normalised: the branch does not see the scale)."""
        return (problem.to_raw @ (problem.proj @ self.b)).reshape(problem.shape)


def _null_space_projector(rows, active, max_rank, rtol: float = 1e-8, keep=None):
    r"""$\Pi = I - QQ^\top$, $Q$ an orthonormal basis of the active constraint rows taken in order by
    Gram–Schmidt: a row within `rtol` (relative) of the span of the rows before it adds nothing,
    and rows past rank `max_rank` are left out, so that a curve of low degree keeps a non-trivial
    null space and meets the constraints of highest priority exactly. With `keep` (0/1 per
    coordinate, the rows 0 where it is 0): $\Pi = \operatorname{diag}(\text{keep}) - QQ^\top$, so
    the coordinates it drops are held at 0."""
    p = rows.shape[1]

    def add(k, carry):
        basis, rank = carry
        r = rows[k] / jnp.linalg.norm(rows[k])
        r = r - basis @ (basis.T @ r)
        r = r - basis @ (basis.T @ r)  # twice is enough (Kahan, Parlett)
        size = jnp.linalg.norm(r)
        take = active[k] & (size > rtol) & (rank < max_rank)
        return basis.at[:, k].set(jnp.where(take, r / jnp.where(take, size, 1.0), 0.0)), rank + take

    basis, _ = jax.lax.fori_loop(0, rows.shape[0], add, (jnp.zeros((p, rows.shape[0])), jnp.asarray(0)))
    return (jnp.eye(p) if keep is None else jnp.diag(keep)) - basis @ basis.T


def _embedding(deg: tuple[int, int], frame: tuple[int, int]) -> np.ndarray:
    r"""Positions of the coefficients $c_{ij}$ ($i \le$ deg_z, $j \le$ deg_m, row-major) in the
    flattened coefficients of the larger degrees `frame`."""
    L, K = deg
    return (np.arange(L + 1)[:, None] * (frame[1] + 1) + np.arange(K + 1)[None, :]).reshape(-1)


def _constraint_rows(base: _Data, deg: tuple[int, int], frame: tuple[int, int], config: FitConfig):
    r"""The constraint rows of a curve of degrees `deg` over the coefficients of degrees `frame`
    (zero outside `deg`), in priority order: $c_{L0} = 0$ and unit mass, the atom, then the moments
    $\mu_1, \mu_2, \dots$ (as scaled monomials); and which are active."""
    L, K = deg
    moments = _moment_rows(base.mu, L, K, config.moments + 2)
    rows = jnp.concatenate([moments[:2], _atom_rows(-base.cz / base.sz, base.w0, L, K), moments[2:]])
    full = jnp.zeros((rows.shape[0], (frame[0] + 1) * (frame[1] + 1)), rows.dtype).at[:, _embedding(deg, frame)].set(rows)
    return full, jnp.ones(rows.shape[0], dtype=bool).at[2:4].set(base.w0 > 0)


def _closed_form(prod, rw, rows, active, mask, rank):
    r"""The conditioned problem and its closed-form solution for the coefficients that `mask` keeps
    (the others are held at 0). Each row of the monomials `prod` is divided by the size of its kept
    terms (balances decades in log mode), each column by its largest entry (`colscale`); the
    constraints, as many as `rank` allows, are met exactly through the projector $\Pi$; the start is
    the smallest right singular vector of $[A\Pi;\ \rho(I - \Pi)]$, $\rho > \|A\|$. A masked
    coefficient is a zero column of $A$ outside the range of $\Pi$: the padded problem is the small
    one beside $\rho I$, whose singular values lie above the small one's smallest, so padding every
    candidate to the largest degrees changes no solution (`_closed_forms`)."""
    prod = prod * mask
    rownorm = jnp.sqrt(jnp.sum(jnp.abs(prod) ** 2, axis=1))
    prod = prod * (rw / rownorm)[:, None]
    stacked = jnp.concatenate([prod.real, prod.imag], axis=0)
    colscale = jnp.where(mask > 0, jnp.max(jnp.abs(stacked), axis=0), 1.0)
    design = stacked / colscale
    proj = _null_space_projector(rows * (1.0 / colscale), active, rank, keep=mask)
    rho = 2.0 * jnp.linalg.norm(design) + 1.0
    v = _min_singular_vector(jnp.concatenate([design @ proj, rho * (jnp.eye(mask.shape[0]) - proj)], axis=0))
    v = proj @ v
    return design, proj, colscale, v / jnp.linalg.norm(v)


def _monomials(base: _Data, extra: tuple, frame: tuple[int, int]):
    r"""Fit points, $m$ there and point weights (the base spectrum's and those of `extra`), and the
    scaled monomials $\hat z^i \hat m^j$, $i \le$ frame[0], $j \le$ frame[1]."""
    z = jnp.concatenate([base.z] + [e[0] for e in extra])
    m = jnp.concatenate([base.m] + [e[1] for e in extra])
    pw = jnp.concatenate([base.pw] + [e[2] for e in extra])
    # scaled variables: zh = (z - cz)/sz, mh = sz m (the transform of the rescaled spectrum)
    zh = (z - base.cz) / base.sz
    mh = base.sz * m
    L, K = frame
    prod = (zh[:, None, None] ** np.arange(L + 1)[:, None] * mh[:, None, None] ** np.arange(K + 1)).reshape(z.shape[0], -1)
    return z, m, pw, prod


def _build_problem(base: _Data, extra: tuple, deg: tuple[int, int], config: FitConfig):
    """The problem and closed-form start of a curve of degrees `deg` (`_padded_problem` in its own frame)."""
    p = (deg[0] + 1) * (deg[1] + 1)
    rows, active = _constraint_rows(base, deg, deg, config)
    return _padded_problem(base, extra, deg, rows, active, jnp.ones(p), p - 1, config)


def _padded_problem(base: _Data, extra: tuple, frame: tuple[int, int], rows, active, mask, rank, config: FitConfig):
    r"""The conditioned problem, closed-form start and its relative residual of one candidate over the
    coefficients of degrees `frame`: its constraint `rows` and their `active` flags (`_constraint_rows`),
    the coefficients it keeps (`mask`, the others held at 0 by the projector) and the constraints' rank
    (`_closed_form`). All four are arrays, so one compiled program fits every candidate of a frame
    (`_candidate_tables`): a padded coefficient has a zero column, lies outside the projector's range and
    gets the gauge term alone in the refinement's Hessian, so it stays 0 and the padded fit is the
    candidate's own to rounding."""
    z, m, pw, prod = _monomials(base, extra, frame)
    design, proj, colscale, v = _closed_form(prod, jnp.sqrt(pw), rows, active, mask, rank)
    tmap = jnp.diag(1.0 / colscale)  # scaled-monomial coefficients = tmap @ b
    to_raw = jnp.kron(_shift_matrix(frame[0] + 1, base.cz, base.sz), jnp.diag(base.sz ** np.arange(frame[1] + 1))) @ tmap
    # loss weights: inverse of the sampling variance of m_emp, Var ~ Im m / (n Im z), normalised
    inv_var = pw * jnp.imag(z) / jnp.imag(m)
    omega = inv_var / jnp.sum(inv_var * jnp.abs(m) ** 2)
    problem = _Problem(
        z, m, pw, omega, design, proj, to_raw, 1.0 / colscale, base.smooth, base.eta, base.smooth_dx, base.mass_emp,
        base.near, base.near_dx, base.check, base.check_dx, base.w0, base.tol0, (frame[0] + 1, frame[1] + 1),
    )
    residual = jnp.linalg.norm(design @ v) / jnp.linalg.norm(design) * jnp.sqrt(rank + 1.0)
    return problem, v, residual


def _candidate_tables(base: _Data, degrees: tuple[tuple[int, int], ...], frame: tuple[int, int], config: FitConfig):
    """Per degree pair of `degrees`, stacked: its constraint rows over the coefficients of `frame` and
    their active flags, the 0/1 mask of its coefficients there and its constraints' rank."""
    masks = np.zeros((len(degrees), (frame[0] + 1) * (frame[1] + 1)))
    for k, deg in enumerate(degrees):
        masks[k, _embedding(deg, frame)] = 1.0
    rows, active = zip(*(_constraint_rows(base, deg, frame, config) for deg in degrees))
    ranks = jnp.asarray([(L + 1) * (K + 1) - 1 for L, K in degrees])
    return jnp.stack(rows), jnp.stack(active), jnp.asarray(masks), ranks


def _closed_forms(base: _Data, degrees: tuple[tuple[int, int], ...], config: FitConfig) -> Float[Array, "D Lp1 Kp1"]:
    r"""The closed-form curves of every degree pair in `degrees`, in the scaled variables
    $\hat z = (z - c)/s$, $\hat m = s\,m$: each is `_build_problem`'s start padded with zeros to the
    largest degrees, all solved as one batch (one compiled program for every candidate)."""
    frame = (max(L for L, _ in degrees), max(K for _, K in degrees))
    _, _, pw, prod = _monomials(base, (), frame)
    solve = lambda r, a, mask, rank: _closed_form(prod, jnp.sqrt(pw), r, a, mask, rank)  # noqa: E731
    _, proj, colscale, v = jax.vmap(solve)(*_candidate_tables(base, degrees, frame, config))
    return (jnp.einsum("dpq,dq->dp", proj, v) * (1.0 / colscale)).reshape(len(degrees), frame[0] + 1, frame[1] + 1)


# ---------------------------------------------------------------------------- loss and refinement
