r"""Fitting a [`LevyKhintchine`][] law: one non-negative least-squares problem (docs/method.md,
"The free Levy-Khintchine law").

$z + 1/m = a - s\,m + \sum_k r_k x_k/(1 + x_k m)$ is *linear* in $(a, s, r)$, so with $m$ replaced by
the empirical transform at points $z = x(1 + ih)$ (log grid in $|x|$, heights $h$ relative to $|x|$
so every decade is sampled at its own scale) the fit is one NNLS problem (each row divided by
$|z|$), plus a heavily weighted row for the exact mean $a + \sum_k r_k x_k$. Jumps sit on a fixed
number of log-spaced sizes spanning the data a decade beyond each end (both signs for an
indefinite spectrum; a positive semi-definite one has $a = s = 0$).

**The total rate is not identified by the data**: the fit's residual stays on a plateau over a
wide range of total rates $R = \sum_k r_k$. The rule is *no atom births unless the data insist*:
$R$ is the largest of the ladder $R^*, 2R^*, 4R^*, \dots$ ($R^*$ the unconstrained fit's) whose
residual is within `rate_tolerance` of the unconstrained one.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from . import _arguments as arguments
from ._custom_types import ArrayLike, Float, Real, RealScalarLike
from ._levy import LevyKhintchine
from ._nnls import nnls
from ._x64 import check_x64, is_concrete


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
        p = nnls(As, bs, config.nnls_iters) / cs
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
            signed = bool(np.any(la[act] < -tol))
    elif signed is None:
        raise ValueError("fit_levy under jit/vmap cannot look at the eigenvalues' signs; pass signed=True or False.")
    w = w.astype(jnp.float64)
    size = jnp.sum(w > 0) if n0 is None else arguments.real_scalar("n0", n0, lower=1.0, strict=False, fix="pass the size of the matrix the eigenvalues come from")
    law = _fit_levy(lam, w, jnp.asarray(size, dtype=jnp.float64), bool(signed), config)
    if scales is None:
        return law
    return LevyKhintchine(law.drift, law.variance, law.rates, law.jumps, law.n0, scales)


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
