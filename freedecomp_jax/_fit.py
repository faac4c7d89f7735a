r"""Fit a spectral curve $P(z, m) = 0$ to the eigenvalues of a small matrix.

Three stages, all pure JAX for fixed degrees (`jit`, `vmap`, `grad` compose):

1. **Data.** $m_{\rm emp}$ at fit points off the real axis (`_stieltjes.py`). Exact zeros
   (see [`zero_tolerance`][]) are snapped to 0: they are an atom. Everything that depends
   on the number of eigenvalues is reduced here to fixed-size arrays, so the compiled code
   of each degree pair serves spectra of every size.
2. **Closed-form start.** $P(z_k, m_k) \approx 0$ is linear in the coefficients. In scaled
   variables $\hat z = (z - c)/s$, $\hat m = s\,m$ (the transform of the rescaled spectrum;
   linear mode: $c$, $s$ centre and half-width of the data, log mode: $c = 0$, $s$ the
   geometric centre), each equation divided by the norm of its monomials (so every point
   and every decade counts alike) and each column by its largest entry, the homogeneous
   least-squares problem $\min_{\|b\|=1}\|A b\|$ subject to $B b = 0$ is one SVD, in the
   real stacking $[\operatorname{Re}A; \operatorname{Im}A]$. The unknowns are the
   (column-scaled) coefficients of the scaled monomials themselves: orthonormal bases
   (the reference's choice) improve the SVD but make the map back to monomials so
   ill-conditioned in log mode that the constraints are lost on the way back; in these
   coordinates every constraint holds to rounding. Constraints:
   $[w^q]\, w^L P(1/w, m(w)) = 0$ for $q = 0, \dots, r+1$ with
   $m(w) = -\sum_{p \le r} \mu_p w^{p+1}$: $q=0$ is $c_{L0} = 0$, $q = 1$ unit mass, and
   $q = p+1$ enforces the sample moment $\mu_p$ ($p \le r$ = `config.moments`, every one
   of them). An atom of weight $w_0$ at 0 adds $a_K(0) = 0$ and
   $a_{K-1}(0) = w_0\,a_K'(0)$ ($a_j(z) = \sum_i c_{ij} z^i$): a simple pole of $m$ at 0
   with residue $-w_0$, so the curve itself carries the atom with exactly the observed
   weight (chosen over fitting the rest and adding the atom afterwards, which would raise
   `deg_z` by `deg_m`). Constraints act through the projector $\Pi$ onto their null
   space (inactive rows, e.g. no atom, are masked, so shapes stay static under `vmap`);
   the smallest right singular vector of $[A\Pi;\ \rho(I - \Pi)]$ ($\rho > \|A\|$) is the
   constrained minimiser, and its derivative is the eigenvector perturbation formula (a
   `custom_jvp`), which needs only a simple smallest singular value.
3. **Refinement** of the branch-aware loss
   $$\sum_k \omega_k |m_P(z_k) - m_k|^2 + \alpha\,\Big(\int \rho_P^-\Big)^2 + \beta\,(M_P - M_{\rm emp})^2,$$
   $m_P$ the curve's physical branch, $\omega_k \propto \operatorname{Im} z_k / \operatorname{Im} m_k$
   (the inverse sampling variance of $m_{\rm emp}$, normalised by $\sum\omega|m|^2$),
   $\rho_P^-$ the negative part of the density just above a grid that resolves near-zero
   structure, $M$ the mass seen by a Poisson kernel above a uniform grid (curve vs data).
   optax L-BFGS (`config.steps`, zoom line search) trains the leaf of an Equinox module
   (split off by `eqx.partition`) holding the coefficients in coordinates whitened by the
   exact Hessian at the start; `config.polish` Newton steps with the exact Hessian (in
   closed form: $P$ is linear in the coefficients) then land on the minimiser. The
   branch comes from the tracker (`curve.stieltjes`) at every step, as data; derivatives
   come from two Newton steps on $P(z, \cdot) = 0$ from it, i.e. the implicit function
   theorem. The returned coefficients carry the derivative of the minimiser (one Newton
   step with stopped gradients, of value zero), never that of the optimiser's iterations.
   The refinement is kept only if it lowers the loss without new branch failures.

`deg=None` chooses the degrees by self-validation (see [`fit_with_diagnostics`][]).
"""

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from ._branch import BranchTracker, stieltjes_branch
from ._curve import SpectralCurve
from ._custom_types import Array, ArrayLike, Bool, Complex, Float, Int, Shaped
from ._poly import polyval2
from ._stieltjes import (
    PointGeometry,
    empirical_stieltjes,
    fit_points,
    spectrum_interval,
)
from ._x64 import check_x64, is_concrete

# ---------------------------------------------------------------------------- configuration


class FitConfig(eqx.Module):
    r"""Defaults of [`fit`][] (no per-data-set knobs: every scale is taken from the data).

    - `points`: a [`PointGeometry`][] (where $m_{\rm emp}$ is sampled).
    - `moments`: sample moments $\mu_1..\mu_r$ enforced exactly besides $c_{L0} = 0$ and
      unit mass ($r$ = `moments`).
    - `steps`: optax L-BFGS steps on the branch-aware loss (in coordinates whitened by the
      loss Hessian at the closed-form start).
    - `polish`: Newton steps with the exact Hessian after Adam.
    - `density_penalty`, `mass_penalty`: weights $\alpha$, $\beta$ of the loss.
    - `n_grid`: real grid of the penalties; `n_check`: finer grid of the diagnostics.
    - `log_decades`: with `log=None`, log mode is used for a positive spectrum spanning
      more than this many decades.
    - `max_deg_z`, `max_deg_m`: the largest degrees `deg=None` considers;
      `plateau_factor`: how far above the median candidate score the chosen degrees' score
      may lie; `max_tries`: how many eligible candidates are refined and checked for
      validity before giving up (see [`fit_with_diagnostics`][]).
    - `seed`: seed of the random splits and nested submatrices of `deg=None`.
    - `tracker`: the [`BranchTracker`][] of the physical branch.
    """

    points: PointGeometry = PointGeometry()
    moments: int = eqx.field(static=True, default=2)
    steps: int = eqx.field(static=True, default=8)
    polish: int = eqx.field(static=True, default=2)
    density_penalty: float = eqx.field(static=True, default=10.0)
    mass_penalty: float = eqx.field(static=True, default=10.0)
    n_grid: int = eqx.field(static=True, default=128)
    n_check: int = eqx.field(static=True, default=1024)
    log_decades: float = eqx.field(static=True, default=3.0)
    max_deg_z: int = eqx.field(static=True, default=3)
    max_deg_m: int = eqx.field(static=True, default=6)
    plateau_factor: float = eqx.field(static=True, default=3.0)
    max_tries: int = eqx.field(static=True, default=4)
    seed: int = eqx.field(static=True, default=0)
    tracker: BranchTracker = BranchTracker()

    def __check_init__(self):
        if self.moments < 0 or self.steps < 0 or self.polish < 0:
            raise ValueError("FitConfig: moments, steps and polish must be >= 0.")
        if self.n_grid < 8 or self.n_check < 8:
            raise ValueError("FitConfig: n_grid and n_check must be >= 8.")
        if self.max_deg_z < 1 or self.max_deg_m < 2:
            raise ValueError("FitConfig: max_deg_z must be >= 1 and max_deg_m >= 2.")


class FitDiagnostics(eqx.Module):
    r"""What a fit found, returned next to the curve by [`fit_with_diagnostics`][].

    - `deg`: `(deg_z, deg_m)`; `reason`: why these degrees; `candidates`: for `deg=None`,
      one `(deg, score, valid)` row per degree pair tried (score: relative validation
      error, see [`fit_with_diagnostics`][]).
    - `log`: whether log mode was used.
    - `atom_weight`: fraction of exact zeros (an atom at 0), `zero_tolerance` the threshold.
    - `residual`: relative algebraic residual $\|A b\|$ of the closed-form start.
    - `mismatch_start`, `mismatch`: relative RMS of $m_P - m_{\rm emp}$ at the fit points,
      before and after the refinement; `loss_start`, `loss`: the refinement loss.
    - `refined`: the refinement was kept (it lowered the loss and kept the branch valid).
    - `branch_failures`: points (fit points and check grid) where the physical branch
      could not be tracked (`curve.stieltjes_with_status` != 0).
    - `mass`: $\int \rho\,dx + \sum$ atoms on the check grid; `negative_mass`:
      $\int \max(-\operatorname{Im} m(x+i0)/\pi, 0)\,dx$.
    """

    deg: tuple[int, int] = eqx.field(static=True)
    log: Bool[Array, ""]
    atom_weight: Float[Array, ""]
    zero_tolerance: Float[Array, ""]
    residual: Float[Array, ""]
    mismatch_start: Float[Array, ""]
    mismatch: Float[Array, ""]
    loss_start: Float[Array, ""]
    loss: Float[Array, ""]
    refined: Bool[Array, ""]
    branch_failures: Int[Array, ""]
    mass: Float[Array, ""]
    negative_mass: Float[Array, ""]
    reason: str = eqx.field(static=True, default="degrees given by the caller")
    candidates: tuple = eqx.field(static=True, default=())

    @property
    def valid(self) -> Bool[Array, ""]:
        """Branch tracked everywhere, density non-negative and unit total mass (to 1e-3)."""
        return (self.branch_failures == 0) & (self.negative_mass <= 1e-3) & (jnp.abs(self.mass - 1) <= 1e-3)


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
        pows.append(jnp.convolve(pows[-1], mser)[:n_q])
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


def _spectrum_data(eigs, weights, log: bool | None, eps: float, config: FitConfig) -> _Data:
    eigs = jnp.asarray(eigs, dtype=jnp.float64)
    w = jnp.asarray(weights, dtype=jnp.float64)
    active = w > 0
    tol0 = zero_tolerance(eigs, w, eps)
    zero = active & (jnp.abs(eigs) <= tol0)
    lam = jnp.where(zero, 0.0, eigs)
    wsum = jnp.sum(w)
    w0 = jnp.sum(jnp.where(zero, w, 0.0)) / wsum
    use_log = _auto_log(lam, active, zero, config.log_decades) if log is None else jnp.asarray(bool(log))
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
    smooth: Float[Array, " G"]
    eta: Float[Array, " G"]
    smooth_dx: Float[Array, " G"]
    mass_emp: Float[Array, ""]
    near: Float[Array, " G2"]
    near_dx: Float[Array, " G2"]
    check: Float[Array, " C2"]
    check_dx: Float[Array, " C2"]
    w0: Float[Array, ""]
    shape: tuple[int, int] = eqx.field(static=True)


class _Coefficients(eqx.Module):
    """The trainable curve: coefficients `b` in the conditioned coordinates of the problem."""

    b: Float[Array, " p"]

    def raw(self, problem: _Problem) -> Float[Array, "Lp1 Kp1"]:
        """Raw coefficients c = T Pi b (not normalised: the branch does not see the scale)."""
        return (problem.to_raw @ (problem.proj @ self.b)).reshape(problem.shape)


def _build_problem(base: _Data, extra: tuple, deg: tuple[int, int], config: FitConfig):
    L, K = deg
    p = (L + 1) * (K + 1)
    z = jnp.concatenate([base.z] + [e[0] for e in extra])
    m = jnp.concatenate([base.m] + [e[1] for e in extra])
    pw = jnp.concatenate([base.pw] + [e[2] for e in extra])
    # scaled variables: zh = (z - cz)/sz, mh = sz m (the transform of the rescaled spectrum)
    cz, sz = base.cz, base.sz
    zh = (z - cz) / sz
    mh = sz * m
    rw = jnp.sqrt(pw)
    prod = (zh[:, None, None] ** np.arange(L + 1)[:, None] * mh[:, None, None] ** np.arange(K + 1)).reshape(z.shape[0], p)
    # each equation relative to the size of its terms (balances decades in log mode)
    rownorm = jnp.sqrt(jnp.sum(jnp.abs(prod) ** 2, axis=1))
    prod = prod * (rw / rownorm)[:, None]
    stacked = jnp.concatenate([prod.real, prod.imag], axis=0)
    colscale = jnp.max(jnp.abs(stacked), axis=0)
    design = stacked / colscale
    tmap = jnp.diag(1.0 / colscale)  # scaled-monomial coefficients = tmap @ b
    # constraints in scaled-monomial coordinates
    rows = jnp.concatenate([_moment_rows(base.mu, L, K, config.moments + 2), _atom_rows(-cz / sz, base.w0, L, K)])
    active = jnp.concatenate([jnp.ones(config.moments + 2, dtype=bool), jnp.full((2,), base.w0 > 0)])
    bmat = rows @ tmap
    bmat = bmat / jnp.linalg.norm(bmat, axis=1, keepdims=True)
    bmat = jnp.where(active[:, None], bmat, 0.0)
    gram = bmat @ bmat.T + jnp.diag(jnp.where(active, 0.0, 1.0))
    proj = jnp.eye(p) - bmat.T @ jnp.linalg.solve(gram, bmat)
    to_raw = jnp.kron(_shift_matrix(L + 1, cz, sz), jnp.diag(sz ** np.arange(K + 1))) @ tmap
    # loss weights: inverse of the sampling variance of m_emp, Var ~ Im m / (n Im z), normalised
    inv_var = pw * jnp.imag(z) / jnp.imag(m)
    omega = inv_var / jnp.sum(inv_var * jnp.abs(m) ** 2)
    problem = _Problem(
        z, m, pw, omega, design, proj, to_raw, base.smooth, base.eta, base.smooth_dx, base.mass_emp,
        base.near, base.near_dx, base.check, base.check_dx, base.w0, (L + 1, K + 1),
    )
    # closed form: smallest right singular vector of [A P; rho (I - P)]
    rho = 2.0 * jnp.linalg.norm(design) + 1.0
    v = _min_singular_vector(jnp.concatenate([design @ proj, rho * (jnp.eye(p) - proj)], axis=0))
    v = proj @ v
    v = v / jnp.linalg.norm(v)
    residual = jnp.linalg.norm(design @ v) / jnp.linalg.norm(design) * np.sqrt(p)
    return problem, v, residual


# ---------------------------------------------------------------------------- loss and refinement


def _branch_points(problem: _Problem):
    """All points where the loss reads the branch: fit points, the smoothing grid, just above the resolving grid."""
    return jnp.concatenate([problem.z, problem.smooth + 1j * problem.eta, problem.near + 0.05j * problem.near_dx])


def _tracked(c, problem: _Problem, config: FitConfig):
    """Physical branch at the loss points by the tracker, as data (no derivative through its loop)."""
    m, status = stieltjes_branch(jax.lax.stop_gradient(c), jax.lax.stop_gradient(_branch_points(problem)), config.tracker)
    return jax.lax.stop_gradient(m), status


def _on_curve(c, z, m_star):
    r"""Two Newton steps on $P(z, \cdot\,; c) = 0$ from the tracked root $m^*$.

    At $c$ where $m^*$ is the root they return $m^*$; as functions of $(c, z)$ they agree with
    the branch to fourth order, so their first and second derivatives are the
    implicit-function-theorem derivatives ($dm = -(P_c\,dc + P_z\,dz)/P_m$ and its derivative).
    """
    m = m_star
    for _ in range(2):
        pm = polyval2(c, z, m, 0, 1)
        m = m - polyval2(c, z, m) / jnp.where(pm == 0, 1.0, pm)
    return m


def _loss_terms(b, m_star, problem: _Problem, config: FitConfig):
    c = _Coefficients(b).raw(problem)
    m = _on_curve(c, _branch_points(problem), m_star)
    n, g = problem.z.shape[0], problem.smooth.shape[0]
    mz, ms, m0 = m[:n], m[n : n + g], m[n + g :]
    mismatch = jnp.sum(problem.omega * jnp.abs(mz - problem.m) ** 2)
    mass = jnp.sum(jnp.imag(ms) * problem.smooth_dx) / jnp.pi
    negative = jnp.sum(jnp.maximum(-jnp.imag(m0), 0.0) * problem.near_dx) / jnp.pi
    loss = mismatch + config.density_penalty * negative**2 + config.mass_penalty * (mass - problem.mass_emp) ** 2
    return loss, mismatch


def _hessian(b, m, problem: _Problem, config: FitConfig):
    r"""Exact Hessian of the loss in b, in closed form.

    $P$ is linear in $c = M b$ ($M = T\Pi$), so on the curve $m_a = -P_a/P_m$ and
    $m_{ab} = -(\partial_m P_a\, m_b + \partial_m P_b\, m_a + P_{mm} m_a m_b)/P_m$ with
    $P_a = z^{i_a} m^{j_a}$; each loss term is a smooth function of these.
    """
    c = _Coefficients(b).raw(problem)
    z = _branch_points(problem)
    L1, K1 = problem.shape
    i = np.repeat(np.arange(L1), K1)
    j = np.tile(np.arange(K1), L1)
    mono = z[:, None] ** i * m[:, None] ** j
    dmono = z[:, None] ** i * (j * m[:, None] ** np.maximum(j - 1, 0))
    pm = polyval2(c, z, m, 0, 1)
    pmm = polyval2(c, z, m, 0, 2)
    Mmat = problem.to_raw @ problem.proj
    u = -mono / pm[:, None]  # dm/dc
    jac = u @ Mmat  # dm/db
    du = dmono @ Mmat  # d(P_m)/db contributions
    jm = jac

    def second(weights):
        # sum_k weights_k d2m_k/db2 (weights complex), = M^T S M with S_k = -(d u^T + u d^T + P_mm u u^T)/P_m
        wk = weights / pm
        a = -(du * wk[:, None]).T @ jm
        return a + a.T - (jm * (wk * pmm)[:, None]).T @ jm

    n, g = problem.z.shape[0], problem.smooth.shape[0]
    mz, ms, m0 = m[:n], m[n : n + g], m[n + g :]
    jz, js, j0 = jm[:n], jm[n : n + g], jm[n + g :]
    n_near = problem.near.shape[0]
    omega = problem.omega
    r = mz - problem.m
    h_mis = 2 * jnp.real((jz * omega[:, None]).T @ jnp.conj(jz))
    h_mis = h_mis + 2 * jnp.real(second(jnp.concatenate([omega * jnp.conj(r), jnp.zeros(m.shape[0] - n)])))
    wdx = problem.smooth_dx / jnp.pi
    mass = jnp.sum(jnp.imag(ms) * wdx)
    d_mass = jnp.imag(js).T @ wdx
    h_mass_m = jnp.imag(second(jnp.concatenate([jnp.zeros(n), wdx, jnp.zeros(n_near)]).astype(jnp.complex128)))
    h_mass = 2 * (jnp.outer(d_mass, d_mass) + (mass - problem.mass_emp) * h_mass_m)
    act = (jnp.imag(m0) < 0) * problem.near_dx / jnp.pi
    neg = jnp.sum(-jnp.imag(m0) * act)
    d_neg = -jnp.imag(j0).T @ act
    h_neg_m = -jnp.imag(second(jnp.concatenate([jnp.zeros(n + g), act]).astype(jnp.complex128)))
    h_neg = 2 * (jnp.outer(d_neg, d_neg) + neg * h_neg_m)
    return h_mis + config.mass_penalty * h_mass + config.density_penalty * h_neg


def _newton_system(b, m, problem: _Problem, sg_problem: _Problem, config: FitConfig):
    """Gradient (differentiable in the data through `problem`) and regularised Hessian (stopped) at a normalised b.

    The gauge terms $\\tfrac\\gamma2(\\|b\\|^2-1)^2 + \\tfrac\\gamma2\\|(I-\\Pi)b\\|^2$ vanish with their
    gradient at a normalised constrained b, but fix the scale and the constrained-out
    directions, where the loss is flat. The Hessian is shifted to be positive definite.
    """
    h = jax.lax.stop_gradient(_hessian(b, m, sg_problem, config))
    gamma = jnp.maximum(jnp.trace(h) / b.shape[0], 1e-300)
    eye = jnp.eye(b.shape[0])
    h = h + gamma * (2 * jnp.outer(b, b) + eye - sg_problem.proj)
    lam_min = jnp.linalg.eigvalsh(h)[0]
    h = h + jnp.maximum(0.0, 1e-8 * gamma - lam_min) * eye
    g = jax.grad(lambda bb: _loss_terms(bb, m, problem, config)[0])(b) + gamma * (eye - problem.proj) @ b
    return g, h


class _Whitened(eqx.Module):
    """The trainable curve: coefficients y in coordinates whitened by the Hessian at the start, b = b0 + W y."""

    y: Float[Array, " p"]
    b0: Float[Array, " p"]
    w: Float[Array, "p p"]

    @property
    def b(self):
        return self.b0 + self.w @ self.y


def _refine(b0, problem: _Problem, config: FitConfig):
    """`config.steps` optax L-BFGS steps (zoom line search), then `config.polish` Newton steps (no derivatives).

    The optimiser trains the leaf `y` of a [`_Whitened`][] module (split off by
    `eqx.partition`): coordinates in which the loss Hessian at the closed-form start is the
    identity, so the first step is a Newton step and L-BFGS converges in a few. Each step
    refreshes the tracked branch (one `lax.scan`, so the tracker is traced once). Returns
    the last iterate and the loss at every iterate (index 0: the closed-form start).
    """
    problem = jax.lax.stop_gradient(problem)
    b0 = jax.lax.stop_gradient(b0)
    m0, _ = _tracked(_Coefficients(b0).raw(problem), problem, config)
    _, h0 = _newton_system(b0, m0, problem, problem, config)
    evals, evecs = jnp.linalg.eigh(h0)
    model = _Whitened(jnp.zeros_like(b0), b0, evecs / jnp.sqrt(evals))
    spec = eqx.tree_at(lambda mdl: mdl.y, jax.tree_util.tree_map(lambda _: False, model), replace=True)
    params, static = eqx.partition(model, spec)
    opt = optax.lbfgs()

    def loss_fn(p, m_star):
        b = eqx.combine(p, static).b
        return _loss_terms(b / jnp.linalg.norm(b), m_star, problem, config)[0]

    def step(carry, k):
        p, state = carry
        b = eqx.combine(p, static).b
        b = b / jnp.linalg.norm(b)
        m_star, _ = _tracked(_Coefficients(b).raw(problem), problem, config)
        value, grads = jax.value_and_grad(loss_fn)(p, m_star)
        upd, new_state = opt.update(grads, state, p, value=value, grad=grads, value_fn=lambda q: loss_fn(q, m_star))
        p_opt = optax.apply_updates(p, upd)
        g, h = _newton_system(b, m_star, problem, problem, config)
        b_newton = b - jnp.linalg.solve(h, g)
        y_newton = jnp.linalg.solve(model.w, b_newton - b0)
        p_newton = eqx.filter(eqx.tree_at(lambda mdl: mdl.y, model, y_newton), spec)
        p = jax.tree_util.tree_map(lambda a, n: jnp.where(k < config.steps, a, n), p_opt, p_newton)
        return (p, new_state), value

    n = config.steps + config.polish
    (params, _), losses = jax.lax.scan(step, (params, opt.init(params)), jnp.arange(n))
    b = problem.proj @ eqx.combine(params, static).b
    return b / jnp.linalg.norm(b), losses


def _implicit(b_star, m_star, problem: _Problem, config: FitConfig):
    r"""`b_star` as value, with the derivative of the minimiser: $db = -H^{-1}\,\partial g(b^*; \text{data})$.

    The implicit function theorem on the stationarity $g(b^*(\theta); \theta) = 0$; the
    optimiser's iterations are never differentiated.
    """
    b_star = jax.lax.stop_gradient(b_star)
    g, h = _newton_system(b_star, jax.lax.stop_gradient(m_star), problem, jax.lax.stop_gradient(problem), config)
    step = -jnp.linalg.solve(h, g)
    return b_star + step - jax.lax.stop_gradient(step)


def _sign_fixed(c):
    flat = c.reshape(-1)
    return c * jnp.sign(flat[jnp.argmax(jnp.abs(flat))])


def _evaluate(b, problem: _Problem, config: FitConfig):
    """Loss, diagnostics and the tracked branch at the loss points of the curve b (one tracker call)."""
    c = _Coefficients(b).raw(problem)
    pts = jnp.concatenate([_branch_points(problem), problem.check + 0j])
    m_all, status = stieltjes_branch(c, pts, config.tracker)
    n_loss = pts.shape[0] - problem.check.shape[0]
    m_star, m0 = m_all[:n_loss], m_all[n_loss:]
    loss, _ = _loss_terms(b, m_star, problem, config)
    n = problem.z.shape[0]
    rel = jnp.abs(m_star[:n] - problem.m) ** 2 / jnp.abs(problem.m) ** 2
    mismatch = jnp.sqrt(jnp.sum(problem.pw * rel) / jnp.sum(problem.pw))
    im = jnp.imag(m0) / jnp.pi
    # the atom at 0 is the one the curve was built to carry (a missing pole shows up as missing mass)
    mass = jnp.sum(jnp.maximum(im, 0.0) * problem.check_dx) + problem.w0
    negative = jnp.sum(jnp.maximum(-im, 0.0) * problem.check_dx)
    counted = jnp.concatenate([problem.pw > 0, jnp.ones(pts.shape[0] - n, dtype=bool)])
    failures = jnp.sum(counted & (status != 0))
    return (loss, mismatch, failures, mass, negative), m_star


def _fit_core(base: _Data, extra: tuple, deg: tuple[int, int], n0, config: FitConfig):
    problem, b0, residual = _build_problem(base, extra, deg, config)
    sg_problem = jax.lax.stop_gradient(problem)
    b1 = _refine(b0, problem, config)[0] if config.steps + config.polish > 0 else jax.lax.stop_gradient(b0)
    both = jax.lax.stop_gradient(jnp.stack([b0, b1]))
    (loss, mismatch, failures, mass, negative), m_star = jax.vmap(lambda b: _evaluate(b, sg_problem, config))(both)
    refined = jnp.isfinite(loss[1]) & (loss[1] <= loss[0]) & (failures[1] <= failures[0])
    if config.steps + config.polish > 0:
        b = jnp.where(refined, _implicit(b1, m_star[1], problem, config), b0)
    else:
        b = b0
    pick = jnp.where(refined, 1, 0)
    c = _Coefficients(b).raw(problem)
    c = _sign_fixed(c / jnp.linalg.norm(c))
    diag = FitDiagnostics(
        deg=deg,
        log=base.log,
        atom_weight=base.w0,
        zero_tolerance=base.tol0,
        residual=residual,
        mismatch_start=mismatch[0],
        mismatch=mismatch[pick],
        loss_start=loss[0],
        loss=loss[pick],
        refined=refined,
        branch_failures=failures[pick],
        mass=mass[pick],
        negative_mass=negative[pick],
    )
    return c, jnp.asarray(n0, dtype=jnp.float64), diag


# ---------------------------------------------------------------------------- public API

_data_jit = eqx.filter_jit(_spectrum_data)
_core_jit = eqx.filter_jit(_fit_core)


def _newton_to_curve(c, z, y, steps: int = 12):
    """The root of P(z, .) reached by Newton from y (the nearest branch to the data)."""
    m = y
    for _ in range(steps):
        pm = polyval2(c, z, m, 0, 1)
        step = polyval2(c, z, m) / jnp.where(pm == 0, 1.0, pm)
        m = m - jnp.where(jnp.isfinite(step), step, 0.0)
    return m


@eqx.filter_jit
def _scores(base: _Data, validation: tuple, deg: tuple[int, int], config: FitConfig):
    """Relative RMS distances between the closed-form curve and (a) the data at the fit points,
    (b) the nested smaller spectra moved onto the base curve by the exact compression map."""
    problem, b, _ = _build_problem(base, (), deg, config)
    c = _Coefficients(b).raw(problem)

    def distance(z, y, pw):
        m = _newton_to_curve(c, z, y)
        score = jnp.sqrt(jnp.sum(pw * jnp.abs(m - y) ** 2 / jnp.abs(y) ** 2) / jnp.sum(pw))
        return jnp.where(jnp.isfinite(score), score, jnp.inf)

    fit_score = distance(base.z, base.m, base.pw)
    if not validation:
        return fit_score, fit_score
    held = [jnp.concatenate([v[i] for v in validation]) for i in range(3)]
    return fit_score, distance(*held)


class _Spectrum(eqx.Module):
    """One checked spectrum: eigenvalues, weights, the precision they were computed in, log(size/n0)."""

    eigs: Any
    weights: Any
    eps: float = eqx.field(static=True)
    t: Any = 0.0


class _Inputs(eqx.Module):
    base: _Spectrum
    n0: Any
    joint: tuple  # further sizes fitted jointly (multi-size input)
    nested: tuple  # nested submatrices for deg=None validation (matrix input)


def _eps_of(arr) -> float:
    return float(np.finfo(arr.dtype).eps) if np.issubdtype(arr.dtype, np.floating) else float(np.finfo(np.float64).eps)


def _check_eigs(arr, what: str = "eigs") -> np.ndarray:
    arr = np.asarray(arr)
    if np.iscomplexobj(arr):
        raise ValueError(
            f"{what} is complex; eigenvalues of a real symmetric (or Hermitian) matrix are real. "
            "Pass the real eigenvalues (e.g. np.linalg.eigvalsh(A)), or np.real(...) if the imaginary parts are round-off."
        )
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"{what} must be a real numeric array; got dtype {arr.dtype}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} contains NaN or inf; remove them (or recompute the eigenvalues) before fitting.")
    return arr


def _check_weights(weights, m: int) -> np.ndarray:
    w = np.asarray(weights)
    if w.shape != (m,) or np.iscomplexobj(w) or not np.all(np.isfinite(w)) or np.any(w < 0) or not np.any(w > 0):
        raise ValueError(
            f"weights must be a finite non-negative array of shape ({m},), matching eigs, with at least one "
            "positive entry (0 marks padding)."
        )
    return w.astype(np.float64)


def _nested_submatrices(a: np.ndarray, seed: int) -> tuple:
    """Eigenvalues of random nested principal submatrices of sizes m/2 and m/4."""
    m = a.shape[0]
    order = np.random.default_rng(seed).permutation(m)
    out = []
    for size in (m // 2, m // 4):
        if size >= 32:
            idx = np.sort(order[:size])
            out.append(_Spectrum(np.linalg.eigvalsh(a[np.ix_(idx, idx)]), np.ones(size), _eps_of(a), float(np.log(size / m))))
    return tuple(out)


def _parse_inputs(eigs, n0, weights, config: FitConfig) -> _Inputs:
    """Turn the accepted input forms into checked spectra (Python level, before any tracing)."""
    if isinstance(eigs, Mapping) or (
        isinstance(eigs, (list, tuple)) and len(eigs) > 0 and all(isinstance(p, tuple) and len(p) == 2 for p in eigs)
    ):
        pairs = list(eigs.items()) if isinstance(eigs, Mapping) else [(size, e) for e, size in eigs]
        if weights is not None:
            raise ValueError("weights cannot be combined with eigenvalues from several sizes; pass each size's eigenvalues unweighted.")
        spectra = []
        for size, e in pairs:
            if not (np.ndim(size) == 0 and np.isfinite(size) and size >= 1):
                raise ValueError(f"matrix sizes must be finite numbers >= 1; got {size!r}.")
            e = _check_eigs(e, f"the eigenvalues of size {size}")
            if e.ndim != 1 or e.size == 0:
                raise ValueError(f"the eigenvalues of size {size} must be a non-empty 1-D array; got shape {e.shape}.")
            spectra.append((float(size), e))
        spectra.sort(key=lambda p: p[0])
        size0 = spectra[-1][0]
        if n0 is not None and float(n0) != size0:
            raise ValueError(f"with eigenvalues of several sizes the curve describes the largest one (n0 = {size0:g}); drop n0 or pass n0={size0:g}.")
        make = lambda s, e: _Spectrum(e.astype(np.float64), np.ones(e.size), _eps_of(e), float(np.log(s / size0)))  # noqa: E731
        base = make(*spectra[-1])
        return _Inputs(base, size0, tuple(make(s, e) for s, e in spectra[:-1]), ())
    arr = _check_eigs(eigs)
    if arr.ndim == 2:
        if arr.shape[0] != arr.shape[1]:
            raise ValueError(f"a 2-D input is read as a symmetric matrix and must be square; got shape {arr.shape}. For a batch of spectra use jax.vmap over fit.")
        scale = np.max(np.abs(arr)) if arr.size else 0.0
        if np.max(np.abs(arr - arr.T), initial=0.0) > 100 * _eps_of(arr) * arr.shape[0] * scale:
            raise ValueError(
                "the matrix is not symmetric; fit needs a real symmetric matrix (or its eigenvalues). "
                "If the asymmetry is round-off, pass (A + A.T) / 2."
            )
        if weights is not None:
            raise ValueError("weights apply to eigenvalues, not to a matrix input; pass the eigenvalues with their weights instead.")
        if n0 is not None and float(n0) != arr.shape[0]:
            raise ValueError(f"a matrix input has n0 = its size ({arr.shape[0]}); drop n0 or pass n0={arr.shape[0]}.")
        a = arr.astype(np.float64)
        base = _Spectrum(np.linalg.eigvalsh(a), np.ones(a.shape[0]), _eps_of(arr))
        return _Inputs(base, float(a.shape[0]), (), _nested_submatrices(a, config.seed))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"eigs must be a non-empty 1-D array of eigenvalues (or a square symmetric matrix); got shape {arr.shape}. For a batch use jax.vmap.")
    w = np.ones(arr.size) if weights is None else _check_weights(weights, arr.size)
    count = int(np.sum(w > 0))
    if n0 is None:
        n0 = float(count)
    elif not (np.ndim(n0) == 0 and np.isfinite(n0) and float(n0) >= 1):
        raise ValueError(f"n0 (the size of the matrix the eigenvalues come from) must be a finite number >= 1; got {n0!r}.")
    return _Inputs(_Spectrum(arr.astype(np.float64), w, _eps_of(arr)), float(n0), (), ())


def _check_spectrum(spec: _Spectrum, deg: tuple[int, int] | None, log: bool | None) -> None:
    eigs, w = np.asarray(spec.eigs), np.asarray(spec.weights)
    active = w > 0
    count = int(active.sum())
    L, K = deg if deg is not None else (1, 2)
    need = 4 * (L + 1) * (K + 1)
    if count < need:
        raise ValueError(
            f"{count} eigenvalues are too few for degrees (deg_z, deg_m) = ({L}, {K}): the fit needs at least "
            f"4 (deg_z+1)(deg_m+1) = {need}. Use smaller degrees or more eigenvalues."
        )
    lam = eigs[active]
    tol0 = count * spec.eps * np.max(np.abs(lam))
    nonzero = lam[np.abs(lam) > tol0]
    if nonzero.size < 2 or np.ptp(nonzero) == 0:
        raise ValueError("the spectrum has fewer than two distinct non-zero eigenvalues: there is no bulk to fit (it is a set of atoms).")
    if log and np.any(nonzero < 0):
        raise ValueError(
            "log=True needs a positive spectrum, but some eigenvalues are negative beyond round-off "
            f"(min {nonzero.min():.3g}, zero tolerance {tol0:.3g}). Use log=False (or log=None to choose automatically)."
        )


def _check_deg(deg) -> tuple[int, int]:
    if not (isinstance(deg, (tuple, list)) and len(deg) == 2 and all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in deg)):
        raise ValueError(f"deg must be a pair of integers (deg_z, deg_m) or None (automatic); got {deg!r}.")
    L, K = int(deg[0]), int(deg[1])
    if L < 1 or K < 2:
        raise ValueError(
            f"deg = ({L}, {K}): need deg_z >= 1 and deg_m >= 2 (with deg_m = 1 the transform is rational: atoms only, no density)."
        )
    return L, K


def _fit_fixed(inputs: _Inputs, deg: tuple[int, int], log: bool | None, config: FitConfig):
    b = inputs.base
    base = _data_jit(b.eigs, b.weights, log, b.eps, config)
    extra = ()
    if inputs.joint:
        mode = bool(base.log)
        extra = tuple(_transformed(_data_jit(s.eigs, s.weights, mode, s.eps, config), jnp.asarray(s.t)) for s in inputs.joint)
    c, n0, diag = _core_jit(base, extra, deg, jnp.asarray(inputs.n0, dtype=jnp.float64), config)
    return SpectralCurve(c, n0), diag


def _fit_auto(inputs: _Inputs, log: bool | None, config: FitConfig, accept=None):
    b = inputs.base
    base = _data_jit(b.eigs, b.weights, log, b.eps, config)
    mode = bool(base.log)
    held_out = inputs.nested + inputs.joint
    validation = tuple(_transformed(_data_jit(s.eigs, s.weights, mode, s.eps, config), jnp.asarray(s.t)) for s in held_out)
    count = int(np.sum(np.asarray(b.weights) > 0))
    candidates = sorted(
        ((L, K) for L in range(1, config.max_deg_z + 1) for K in range(2, config.max_deg_m + 1) if 4 * (L + 1) * (K + 1) <= count),
        key=lambda d: (d[1], d[0]),
    )
    both = np.array([[float(v) for v in _scores(base, validation, deg, config)] for deg in candidates])
    plateau = np.median(both, axis=0)
    ok = np.all(both <= config.plateau_factor * plateau, axis=1)
    eligible = [d for d, good in zip(candidates, ok) if good]
    scores = [float(v) for v in (both.max(axis=1) if held_out else both[:, 0])]
    tried = {}
    rejected = {}
    chosen = None
    for deg in eligible[: config.max_tries]:
        curve, diag = _fit_fixed(inputs, deg, mode, config)
        tried[deg] = (curve, diag)
        if not bool(diag.valid):
            rejected[deg] = "no valid physical branch"
            continue
        problem = None if accept is None else accept(curve)
        if problem is None:
            chosen = deg
            break
        rejected[deg] = problem
    skipped = "".join(f"; {d} was passed over: {why}" for d, why in rejected.items())
    if chosen is None and accept is not None:
        raise NoUsableCurve(
            f"deg=None: none of the {len(tried)} simplest candidate degrees gave a usable prediction{skipped}. "
            "Pass deg=(deg_z, deg_m) explicitly, or check that the eigenvalues come from one symmetric matrix."
        )
    if chosen is None:  # no valid curve: the eligible one closest to validity
        chosen = min(tried, key=lambda d: (int(tried[d][1].branch_failures), abs(float(tried[d][1].mass) - 1.0)))
        verdict = "none of them had a valid physical branch; returning the closest (check diagnostics.valid)"
    else:
        verdict = "and its refined curve has a valid physical branch" + ("" if accept is None else " and passes the prediction check")
    verdict += skipped
    curve, diag = tried[chosen]
    k = candidates.index(chosen)
    what = f"closed-form mismatch at the fit points ({both[k, 0]:.2e}, median {plateau[0]:.2e})"
    if held_out:
        what += (
            f" and error predicting the {len(held_out)} nested smaller spectra through exact compression "
            f"({both[k, 1]:.2e}, median {plateau[1]:.2e}) are"
        )
    else:
        what += " is"
    reason = (
        f"deg=None: ({chosen[0]}, {chosen[1]}) is the first of {len(candidates)} candidates (fewest sheets deg_m first) whose {what} "
        f"within {config.plateau_factor:g}x the median over all candidates, {verdict}"
    )
    table = tuple((d, s, bool(tried[d][1].valid) if d in tried else None) for d, s in zip(candidates, scores))
    return curve, dataclasses.replace(diag, reason=reason, candidates=table)


def fit_with_diagnostics(
    eigs: Shaped[ArrayLike, "..."] | Mapping | Sequence,
    deg: tuple[int, int] | None = None,
    n0: float | int | Float[ArrayLike, ""] | None = None,
    *,
    log: bool | None = None,
    weights: Float[ArrayLike, " m"] | None = None,
    config: FitConfig = FitConfig(),
) -> tuple[SpectralCurve, FitDiagnostics]:
    r"""Like [`fit`][], and also return a [`FitDiagnostics`][].

    **Automatic degrees** (`deg=None`, plain Python, not jit-able). Candidates $(L, K)$,
    $1 \le L \le$ `max_deg_z`, $2 \le K \le$ `max_deg_m`, with at least
    $4(L+1)(K+1)$ eigenvalues, fewest sheets first (by $K$, then by $L$): every extra sheet
    is a root of $P(z, \cdot)$ that decompression can bring into play (a pole born as an
    atom, a sheet the flow crosses onto), so among curves that describe the data equally
    well the one with the fewest sheets extrapolates most safely. Each gets a
    closed-form fit at the input's size and a score: the relative mismatch between the
    curve and the data at the fit points. With nested spectra available (a matrix input,
    whose random nested principal submatrices of sizes $m/2$, $m/4$ are diagonalised, or
    eigenvalues of several sizes) a second score is the error with which the curve predicts
    them through the exact compression map $(\zeta, y) = (z + (1 - e^{-t})/m_t, e^t m_t)$,
    $t = \log(n_j/n_0) < 0$ (compression is the well-posed direction; it catches curves
    that fit noise, while the first score catches structure that compression washes out).
    Scores fall until the degrees can describe the law, then stay on a plateau set by the
    sampling noise: the chosen degrees are the simplest whose scores are all within
    `plateau_factor` of the median over the candidates and whose refined curve is valid
    (branch tracked everywhere, density $\ge 0$, unit mass; at most `max_tries` are
    refined; [`predict`][] and [`eigvalsh`][] further pass over a candidate whose prediction
    at the target size fails their check). The chosen
    degrees, the reason and the table of candidates are in the diagnostics.
    """
    return _fit_with_diagnostics(eigs, deg, n0, log, weights, config)


class NoUsableCurve(ValueError):
    """Automatic degrees found no curve whose prediction passes its check (raised by `predict`'s fit)."""


def _fit_with_diagnostics(eigs, deg, n0, log, weights, config: FitConfig, accept=None):
    """`fit_with_diagnostics`; with `deg=None`, `accept(curve)` (a problem description or None)
    is a further check of each valid candidate (used by `eigvalsh` to check the prediction)."""
    check_x64()
    if deg is not None:
        deg = _check_deg(deg)
    if not is_concrete(eigs, n0, weights):
        if deg is None:
            raise ValueError("deg=None (automatic degrees) is plain Python and cannot run under jit/vmap/grad; pass deg=(deg_z, deg_m).")
        arr = jnp.asarray(eigs)
        if arr.ndim != 1:
            raise ValueError(f"under jit/vmap, fit takes a 1-D array of eigenvalues per call; got shape {arr.shape}.")
        if jnp.iscomplexobj(arr):
            raise ValueError("eigs is complex; pass the real eigenvalues.")
        w = jnp.ones(arr.shape) if weights is None else jnp.asarray(weights, dtype=jnp.float64)
        n0 = jnp.sum(w > 0).astype(jnp.float64) if n0 is None else n0
        eps = _eps_of(np.empty(0, dtype=arr.dtype))
        inputs = _Inputs(_Spectrum(arr.astype(jnp.float64), w, eps), n0, (), ())
        return _fit_fixed(inputs, deg, log, config)
    inputs = _parse_inputs(eigs, n0, weights, config)
    for spec in (inputs.base,) + inputs.joint + inputs.nested:
        _check_spectrum(spec, deg if spec is inputs.base else None, log)
    if deg is None:
        return _fit_auto(inputs, log, config, accept)
    return _fit_fixed(inputs, deg, log, config)


def fit(
    eigs: Shaped[ArrayLike, "..."] | Mapping | Sequence,
    deg: tuple[int, int] | None = None,
    n0: float | int | Float[ArrayLike, ""] | None = None,
    *,
    log: bool | None = None,
    weights: Float[ArrayLike, " m"] | None = None,
    config: FitConfig = FitConfig(),
) -> SpectralCurve:
    r"""Fit an algebraic spectral curve $P(z, m) = 0$ to the spectrum of a small matrix.

    **Arguments:**

    - `eigs`: the eigenvalues `(m,)` of an $m \times m$ principal submatrix; or the
      symmetric matrix itself `(m, m)` (its nested submatrices then validate `deg=None`);
      or eigenvalues of several nested sizes, `{size: eigs}` or `[(eigs, size), ...]`,
      fitted jointly: the curve describes the largest size and the others enter through
      the exact compression map. float32 input is upcast to float64; its exact-zero test
      uses float32's precision.
    - `deg`: `(deg_z, deg_m)`, or `None` to choose automatically (see
      [`fit_with_diagnostics`][]; not jit-able).
    - `n0`: the matrix size the eigenvalues describe (default: the number of eigenvalues
      with positive weight; pass it for eigenvalues pooled from several submatrices).
    - `log`: sample the transform in log mode (positive spectra spanning decades); `None`
      chooses it when a positive spectrum spans more than `config.log_decades` decades
      (works per spectrum under `vmap`).
    - `weights`: non-negative weights `(m,)`; zeros mark padding, so ragged batches stack
      into `(B, m)` arrays for `jax.vmap`.
    - `config`: a [`FitConfig`][].

    Exact zeros (|λ| below [`zero_tolerance`][]) are an atom at 0 of weight equal to their
    fraction, carried by the curve itself (a pole of $m$ at 0 with exactly that residue);
    tiny non-zero eigenvalues stay a bulk.

    **Returns:** a [`SpectralCurve`][] with `n0` set. For fixed `deg`, `fit` works under
    `jit` and `vmap` and is differentiable in the eigenvalues.
    """
    return fit_with_diagnostics(eigs, deg, n0, log=log, weights=weights, config=config)[0]
