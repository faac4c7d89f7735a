"""`SpectralCurve`: the algebraic relation P(z, m) = sum_ij c_ij z^i m^j = 0 of a Stieltjes transform."""

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from . import _arguments as arguments
from ._branch import BranchTracker, stieltjes_branch, tracker_results
from ._branch_points import branch_points as _branch_points
from ._curve_edges import CurveEdges, refine_cusps
from ._curve_solve import CurveSolver, solve_curve
from ._custom_types import (
    Array,
    ArrayLike,
    Complex,
    Float,
    Inexact,
    Num,
    Real,
    RealScalarLike,
)
from ._density import atoms as _atoms
from ._density import density as _density
from ._kinds import AbstractDecompression, Free
from ._law import AbstractSpectralLaw
from ._poly import polyval2, rescale
from ._results import RESULTS
from ._series import laurent_series, spectral_radius
from ._spectrum import Spectrum
from ._x64 import check_x64, is_concrete


def _bucketed(fn, q):
    """Apply a pointwise kernel to q, padding concrete inputs to a power-of-two length so that
    grids of different sizes share one compilation (traced inputs are passed through)."""
    if not is_concrete(q):
        return fn(q)
    flat = q.reshape(-1)
    n = flat.shape[0]
    size = max(64, 1 << max(n - 1, 0).bit_length())
    padded = jnp.concatenate([flat, jnp.broadcast_to(flat[:1] if n else jnp.zeros(1, flat.dtype), (size - n,))])
    out = fn(padded)
    return jax.tree.map(lambda a: a[:n].reshape(q.shape), out)


def _as_coeffs(coeffs) -> Array:
    if isinstance(coeffs, jax.Array) and not is_concrete(coeffs):
        c = coeffs
    else:
        arr = np.asarray(coeffs)
        if np.iscomplexobj(arr):
            raise ValueError(
                "SpectralCurve coefficients must be real (the curve has Schwarz symmetry "
                "m(conj z) = conj m(z)); pass the real part, or check how they were computed."
            )
        if arr.ndim != 2 or arr.shape[0] < 2 or arr.shape[1] < 2:
            raise ValueError(
                f"SpectralCurve coefficients must be a 2-D array of shape (deg_z+1, deg_m+1) "
                f"with deg_z >= 1 and deg_m >= 1, where coeffs[i, j] multiplies z**i * m**j; "
                f"got shape {arr.shape}."
            )
        if not np.all(np.isfinite(arr)):
            raise ValueError(
                "SpectralCurve coefficients contain NaN or inf; refit the curve (check the "
                "eigenvalues for NaN/inf) or pass finite coefficients."
            )
        if not np.any(arr != 0):
            raise ValueError(
                "SpectralCurve coefficients are all zero, which is not a curve; pass the "
                "coefficients of a non-trivial polynomial P(z, m)."
            )
        c = jnp.asarray(arr, dtype=jnp.float64)
    if c.ndim != 2:
        raise ValueError(f"SpectralCurve coefficients must be 2-D; got shape {c.shape}.")
    return c.astype(jnp.float64)


class SpectralCurve(AbstractSpectralLaw):
    r"""An algebraic spectral curve $P(z, m) = \sum_{i,j} c_{ij} z^i m^j = 0$.

    The Stieltjes transform $m(z) = \int \rho(x)/(x - z)\,dx$ of a spectral law at matrix
    size `n0` is one branch (the *physical* one, $\operatorname{Im} m > 0$ for
    $\operatorname{Im} z > 0$, $m \sim -1/z$ at infinity) of this curve.

    **Arguments:**

    - `coeffs`: real array of shape `(deg_z + 1, deg_m + 1)`; `coeffs[i, j]` multiplies
      $z^i m^j$.
    - `n0`: the matrix size the curve describes (default 1). Free decompression to size
      $n$ uses $t = \log(n / n_0)$.
    """

    coeffs: Float[Array, "Lp1 Kp1"]
    n0: Float[Array, ""]

    def __init__(self, coeffs: Num[ArrayLike, "..."] | Sequence[Sequence[float]], n0: RealScalarLike = 1.0):
        check_x64()
        self.coeffs = _as_coeffs(coeffs)
        self.n0 = arguments.real_scalar("n0", n0, lower=0.0, fix="pass the matrix size the curve describes")

    # ------------------------------------------------------------------ structure
    @property
    def deg_z(self) -> int:
        """Degree $L$ in $z$."""
        return self.coeffs.shape[0] - 1

    @property
    def deg_m(self) -> int:
        """Degree $K$ in $m$."""
        return self.coeffs.shape[1] - 1

    def normalized(self) -> "SpectralCurve":
        """The same curve scaled to unit Frobenius norm, sign fixed by the largest-magnitude coefficient."""
        c = self.coeffs
        flat = c.reshape(-1)
        sign = jnp.sign(flat[jnp.argmax(jnp.abs(flat))])
        return SpectralCurve(c * sign / jnp.linalg.norm(c), self.n0)

    # ------------------------------------------------------------------ evaluation
    def P(self, z: Num[ArrayLike, "..."], m: Num[ArrayLike, "..."]) -> Inexact[Array, "..."]:
        """$P(z, m)$, broadcasting `z` and `m`."""
        return polyval2(self.coeffs, z, m)

    def P_z(self, z, m):
        r"""$\partial P / \partial z$."""
        return polyval2(self.coeffs, z, m, 1, 0)

    def P_m(self, z, m):
        r"""$\partial P / \partial m$."""
        return polyval2(self.coeffs, z, m, 0, 1)

    def P_zz(self, z, m):
        r"""$\partial^2 P / \partial z^2$."""
        return polyval2(self.coeffs, z, m, 2, 0)

    def P_zm(self, z, m):
        r"""$\partial^2 P / \partial z \partial m$."""
        return polyval2(self.coeffs, z, m, 1, 1)

    def P_mm(self, z, m):
        r"""$\partial^2 P / \partial m^2$."""
        return polyval2(self.coeffs, z, m, 0, 2)

    # ------------------------------------------------------------------ evolution
    def evolve(self, t: RealScalarLike, kind: AbstractDecompression = Free()) -> "SpectralCurve":
        r"""The exact curve at matrix size $n_0 e^t$ under the decompression `kind`.

        [`Free`][] (docs/method.md, "Free decompression"): with $\tau = e^t$, $\beta = 1 - 1/\tau$,
        $P_t(z, m) = P(z + \beta/m, \tau m)$; after forcing $c_{L0} = 0$ and clearing
        denominators, $m^L P_t = m\,\tilde Q_t(z, m)$ with $\tilde Q_t$ of degrees $(L, L+K-1)$.

        [`Deformed`][]`(ratio)` (Gram matrices $XX^\top$ with aspect ratio $c_0$ = `ratio` at
        $t = 0$, $c = \tau c_0$): the companion transform is a free-convolution power, which gives
        $\zeta = z\alpha/\beta$, $y = m\beta/\alpha$ with $\alpha = c_0 zm + c_0 - 1$,
        $\beta = c\,zm + c - 1$, and $Q_t = \alpha^K\beta^L P(\zeta, y)$ with the exact factors $\alpha$ and $\beta$ divided out.
        """
        if is_concrete(t):
            t_np = np.asarray(t, dtype=float)
            if t_np.shape != () or not np.isfinite(t_np):
                raise ValueError(f"t must be a finite scalar (t = log(n/n0)); got {t!r}.")
            if t_np < 0:
                raise ValueError(
                    f"t = {float(t_np):g} < 0 asks for a smaller matrix than n0; decompression "
                    "only grows the matrix (n >= n0). Use t = log(n / n0) with n >= n0."
                )
        t = jnp.asarray(t, dtype=jnp.float64)
        t = eqx.error_if(t, t < 0, "evolve: t < 0 (target size below n0); decompression needs n >= n0.")
        return SpectralCurve(_evolve_jit(self.coeffs, t, kind), self.n0 * jnp.exp(t))

    def trimmed(self, rtol: float = 1e-12) -> "SpectralCurve":
        """Drop trailing rows/columns whose coefficients are all below `rtol`·max|c| (not jit-able)."""
        c = np.asarray(self.coeffs)
        big = np.abs(c) > rtol * np.abs(c).max()
        L = int(np.max(np.nonzero(big.any(axis=1))[0]))
        K = int(np.max(np.nonzero(big.any(axis=0))[0]))
        return SpectralCurve(c[: max(L, 1) + 1, : max(K, 1) + 1] * big[: max(L, 1) + 1, : max(K, 1) + 1], self.n0)

    # ------------------------------------------------------------------ series at infinity
    def laurent(self, n_terms: int = 24) -> Float[Array, " n_terms"]:
        r"""Coefficients $S_k$ of the physical branch at infinity, $m(z) = \sum_k S_k z^{-k-1}$.

        $S_0 = -(\text{total mass})$ and $S_k = -\mu_k$ (moments, atoms included).
        """
        return laurent_series(self.coeffs, n_terms)

    def moments(self, k: int) -> Float[Array, " k_plus_1"]:
        r"""Moments $\mu_0, \dots, \mu_k$ of the curve's law, $\mu_j = \int x^j d\mu$, from the Laurent series."""
        return -laurent_series(self.coeffs, max(k + 1, 2))[: k + 1]

    def spectral_radius(self, n_terms: int = 24) -> Float[Array, ""]:
        r"""Root-test estimate $\max_j |\mu_j/\mu_0|^{1/j}$ of the largest $|x|$ in the support."""
        return spectral_radius(laurent_series(self.coeffs, n_terms))

    # ------------------------------------------------------------------ physical branch
    def stieltjes_with_result(self, z: Num[ArrayLike, "..."], tracker: BranchTracker = BranchTracker()):
        r"""Physical branch $m(z) = \int \rho(x)/(x - z)\,dx$ and a per-point [`RESULTS`][]."""
        m, status = _bucketed(lambda zz: stieltjes_branch(self.coeffs, zz, tracker), jnp.asarray(z, dtype=jnp.complex128))
        return m, tracker_results(status)

    def stieltjes(self, z: Num[ArrayLike, "..."], tracker: BranchTracker = BranchTracker()) -> Complex[Array, "..."]:
        r"""Physical branch $m(z)$, $\operatorname{{Im}} m > 0$ for $\operatorname{{Im}} z > 0$ (real $z$: the limit $x + i0$).

        Differentiable in `coeffs` and `z` by the implicit function theorem,
        $dm = -(P_{{dc}} + P_z dz)/P_m$. Use [`stieltjes_with_result`][] to see failures.
        """
        return self.stieltjes_with_result(z, tracker)[0]

    def density(self, x: Real[ArrayLike, "..."], tracker: BranchTracker = BranchTracker()) -> Float[Array, "..."]:
        r"""Absolutely continuous density $\rho(x) = \frac1\pi \operatorname{{Im}} m(x + i0)$ (exact Plemelj limit)."""
        return self.density_with_result(x, tracker)[0]

    def density_with_result(self, x: Real[ArrayLike, "..."], tracker: BranchTracker = BranchTracker()):
        """Density and the per-point [`RESULTS`][]."""
        rho, status = _bucketed(lambda xx: _density(self.coeffs, xx, tracker), jnp.asarray(x, dtype=jnp.float64))
        return rho, tracker_results(status)

    def atoms(self, tracker: BranchTracker = BranchTracker()):
        r"""Atoms of the law: `(positions, weights)`, both of shape `(deg_z,)`; weight 0 marks an empty slot.

        Positions are real roots $x_0$ of $a_K(z)$ at which the physical branch has a pole;
        weight = residue $a_{{K-1}}(x_0)/a_K'(x_0)$.
        """
        return _atoms(self.coeffs, tracker)

    def branch_points(self) -> Complex[Array, " D"]:
        r"""Roots of the discriminant $\operatorname{Res}_m(P, P_m)/a_K$ (degree $(2K-1)L$; roots at infinity come back huge).

        Outside `jit`, zero trailing rows/columns are trimmed first (see [`trimmed`][]).
        """
        curve = self.trimmed() if is_concrete(self.coeffs) else self
        return _branch_points(curve.coeffs)

    def support(self, tracker: BranchTracker = BranchTracker()) -> np.ndarray:
        """Bulks of the density as an `(n_bulks, 2)` NumPy array of edges (real branch points
        between which the density is positive). Plain Python (data-dependent size)."""
        R = float(self.spectral_radius())
        bp = np.asarray(self.trimmed().branch_points())
        real = np.real(bp[(np.abs(np.imag(bp)) <= 1e-6 * (np.abs(bp) + R)) & (np.abs(bp) <= 100 * R)])
        cand = np.unique(np.round(np.sort(real) / (1e-12 * R + 1e-300)) * (1e-12 * R + 1e-300))
        if cand.size < 2:
            return np.zeros((0, 2))
        mids = 0.5 * (cand[1:] + cand[:-1])
        rho = np.asarray(self.density(mids, tracker))
        inside = rho > 1e-10 * max(rho.max(), 1e-300)
        bulks = []
        for k in np.nonzero(inside)[0]:
            if bulks and np.isclose(bulks[-1][1], cand[k]):
                bulks[-1][1] = cand[k + 1]
            else:
                bulks.append([cand[k], cand[k + 1]])
        return np.asarray(bulks, dtype=float).reshape(-1, 2)

    # ------------------------------------------------------------------ AbstractSpectralLaw hooks
    def solve_grid(self, kind: AbstractDecompression, x, ts, solver=None):
        """The evolved curve's physical branch on the grid at every size (see `_curve_solve.py`)."""
        return solve_curve(self.coeffs, kind, x, ts, CurveSolver() if solver is None else solver)

    def exact_moments(self, kind: AbstractDecompression, t, order: int):
        """Exact mean and central moments at size $n_0e^t$ (the kind's rule on the Laurent series)."""
        return kind.curve_moments(self.coeffs, t, order, _central_moments)

    def grid(self, kind: AbstractDecompression, n: Real[ArrayLike, ""], size: int, solver=None) -> Float[Array, " size"]:
        r"""A grid of `size` points covering the support at size `n`: the evolved law's centre
        $\pm$ 1.5 x its radius (root test of its Laurent series, rounded up to a multiple of 1/64 of
        its standard deviation so that rounding in a high moment does not move the grid), solved there, then narrowed to
        the points of positive density widened by three steps each side (an edge lies less than
        one step beyond the last such point). Pure JAX: `n` may be traced, `size` is static."""
        return _grid(self, kind, jnp.asarray(n, dtype=jnp.float64), int(size), CurveSolver() if solver is None else solver)

    def edge_system(self, kind: AbstractDecompression) -> CurveEdges:
        """The exact edge equations $P = 0$, $dx/dy = 0$ of the curve under `kind`."""
        return CurveEdges(self.coeffs, kind)

    def refine_cusps(self, kind: AbstractDecompression, x_seed, m_seed, tau_seed):
        return refine_cusps(self.coeffs, kind, x_seed, m_seed, tau_seed)


@eqx.filter_jit
def _evolve_jit(c, t, kind):
    return kind.evolve_coeffs(c, t)


def _grid(curve, kind, n, size: int, solver):
    """`SpectralCurve.grid`: three programs outside a trace, the middle one the solve that the grid's
    own solve then reuses (the same curve, kind and number of points), so a first call compiles the
    solve once instead of a second copy inside the grid's program; one program inside a trace."""
    coarse = _coarse(curve, kind, n, size)
    spec = Spectrum.solve(curve, kind, coarse, n, solver)
    return _narrowed(coarse, spec.density, spec.result == RESULTS.successful)


@eqx.filter_jit
def _coarse(curve, kind, n, size: int):
    """The evolved law's centre +- 1.5 x its radius, `size` points."""
    mean, radius = _centre_radius(curve.coeffs, jnp.log(n / curve.n0), kind)
    return jnp.linspace(mean - 1.5 * radius, mean + 1.5 * radius, size)


@eqx.filter_jit
def _narrowed(coarse, density, ok):
    """The points of `coarse` from the first to the last of positive density (solved), widened by three steps each side."""
    size = coarse.shape[0]
    inside = ok & (density > 1e-12 * jnp.maximum(jnp.nanmax(density), 1e-300))
    first = jnp.argmax(inside)
    last = size - 1 - jnp.argmax(inside[::-1])
    h = coarse[1] - coarse[0]
    return jnp.where(jnp.any(inside), jnp.linspace(coarse[first] - 3 * h, coarse[last] + 3 * h, size), coarse)


@eqx.filter_jit
def _centre_radius(c, t, kind):
    """Mean of the law of the evolved curve and the radius of its support about the mean, rounded up
    to a multiple of 1/64 of the law's standard deviation: the root test reads a high moment, whose
    last digits (1e-7 of the radius for a 1e-13 change of the coefficients) would otherwise move
    every grid point; the unit of the rounding scales and shifts with the law, so grids stay
    equivariant under affine maps of the spectrum."""
    ct = kind.evolve_coeffs(c, t)
    S = laurent_series(ct, 3)
    mean = S[1] / S[0]
    about = laurent_series(rescale(ct, mean, 1.0), 24)
    radius = spectral_radius(about)
    unit = jnp.sqrt(jnp.abs(about[2] / about[0])) / 64.0
    ok = jnp.isfinite(unit) & (unit > 0)
    return mean, jnp.where(ok, unit * jnp.ceil(radius / jnp.where(ok, unit, 1.0)), radius)


def _central_moments(c, order: int):
    r"""Mean and unit-mass central moments $\mu_0..\mu_{order}$ of curve `c`'s law (Laurent series)."""
    raw = -laurent_series(c, 2)
    mean = raw[1] / raw[0]
    exact = -laurent_series(rescale(c, mean, 1.0), max(order + 1, 2))[: order + 1]
    return mean, exact / exact[0]
