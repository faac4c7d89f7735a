"""Polynomial arithmetic, companion roots and supports for the laws defined by a functional equation.

Bivariate polynomials are `(deg_z + 1, deg_m + 1)` arrays with `c[i, j]` multiplying
`z**i * m**j` (the `SpectralCurve` convention); univariate ones are ascending 1-D arrays.
"""

from collections.abc import Callable

import jax.numpy as jnp
import numpy as np
from numpy.polynomial import polynomial as npoly

from .._custom_types import Array
from .._x64 import is_concrete

# ---------------------------------------------------------------------- bivariate arithmetic


def pmul(a: Array, b: Array) -> Array:
    """Product of two bivariate polynomials (a full 2-D convolution of their coefficient arrays)."""
    a, b = jnp.asarray(a), jnp.asarray(b)
    out = jnp.zeros((a.shape[0] + b.shape[0] - 1, a.shape[1] + b.shape[1] - 1), dtype=jnp.result_type(a, b))
    for i in range(b.shape[0]):
        for j in range(b.shape[1]):
            out = out.at[i : i + a.shape[0], j : j + a.shape[1]].add(b[i, j] * a)
    return out


def padd(*polys: Array) -> Array:
    """Sum of bivariate polynomials of possibly different shapes."""
    rows = max(p.shape[0] for p in polys)
    cols = max(p.shape[1] for p in polys)
    out = jnp.zeros((rows, cols), dtype=jnp.result_type(*polys))
    for p in polys:
        out = out.at[: p.shape[0], : p.shape[1]].add(p)
    return out


def shift_z(a: Array, k: int) -> Array:
    """`z**k * a(z, m)`."""
    return jnp.pad(a, ((k, 0), (0, 0)))


def product(factors: list[Array]) -> Array:
    """Product of a list of bivariate polynomials."""
    out = factors[0]
    for f in factors[1:]:
        out = pmul(out, f)
    return out


def leave_one_out(factors: list[Array], weights: Array) -> Array:
    r"""$\sum_i \mathrm{weights}_i \prod_{j \ne i} \mathrm{factors}_j$ (a constant 1 when there is one factor)."""
    terms = []
    for i in range(len(factors)):
        others = factors[:i] + factors[i + 1 :]
        base = product(others) if others else jnp.ones((1, 1), dtype=weights.dtype)
        terms.append(weights[i] * base)
    return padd(*terms)


def ppow(a: Array, k: int) -> Array:
    """`a**k` for an integer k >= 0."""
    out = jnp.ones((1, 1), dtype=a.dtype)
    for _ in range(k):
        out = pmul(out, a)
    return out


def trim_coeffs(c: Array) -> Array:
    """Remove exactly-zero border rows/columns of concrete coefficients.

    Trailing zero rows/columns are degree drops, leading ones are monomial factors $z^k$,
    $m^k$ (e.g. a zero Gaussian part, or `c = 1` in the deformed Marchenko-Pastur law).
    Traced coefficients are returned unchanged, so shapes stay static under `jit`.
    """
    if not is_concrete(c):
        return c
    c_np = np.asarray(c)
    rows = np.flatnonzero(np.any(c_np != 0, axis=1))
    cols = np.flatnonzero(np.any(c_np != 0, axis=0))
    return c[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


# ---------------------------------------------------------------------- roots and branch choice


def coeffs_in_m(c: Array, z: Array) -> Array:
    """Ascending coefficients in m of P(z, .) at every z: shape z.shape + (K+1,) (Horner in z)."""
    z = z[..., None]
    out = jnp.zeros(z.shape[:-1] + (c.shape[1],), dtype=jnp.result_type(c, z))
    for i in range(c.shape[0] - 1, -1, -1):
        out = out * z + c[i]
    return out


def monic_roots(a: Array) -> Array:
    """Roots of the monic polynomials `a[..., 0] + a[..., 1] x + ... + x**K` (`a[..., K] == 1`), by companion eigenvalues.

    A real `a` gives exactly real roots or exact conjugate pairs (LAPACK `geev`), which the
    real-axis branch choice relies on.
    """
    k = a.shape[-1] - 1
    comp = jnp.zeros(a.shape[:-1] + (k, k), dtype=a.dtype)
    if k > 1:
        comp = comp.at[..., jnp.arange(1, k), jnp.arange(k - 1)].set(1.0)
    comp = comp.at[..., :, k - 1].set(-a[..., :k])
    return jnp.linalg.eigvals(comp)


def safe_inverse(u: Array) -> Array:
    """1/u with 1/0 = inf (a root at infinity of the un-reversed polynomial)."""
    zero = u == 0
    return jnp.where(zero, jnp.inf, 1.0 / jnp.where(zero, 1.0, u))


def select_upper(m: Array, z: Array) -> Array:
    r"""The physical root among candidates `m` (last axis) at $\operatorname{Im} z > 0$.

    It is the unique root with $\operatorname{Im} m > 0$ (Silverstein-Choi for
    Marchenko-Pastur-type equations, Biane for semicircular free convolutions): take the
    largest imaginary part among candidates with $|m| \le 1/\operatorname{Im} z$ (true of
    every Stieltjes transform of a probability law; it discards spurious roots near infinity).
    """
    y = jnp.imag(z)[..., None]
    ok = jnp.isfinite(m) & (jnp.abs(m) * y <= 1 + 1e-9)
    idx = jnp.argmax(jnp.where(ok, jnp.imag(m), -jnp.inf), axis=-1)
    return jnp.take_along_axis(m, idx[..., None], axis=-1)[..., 0]


def select_real_axis(m: Array, zprime: Array) -> Array:
    r"""The physical root $m(x + i0)$ among candidates `m` computed in real arithmetic at real `x`.

    Inside the support it is the root with $\operatorname{Im} m > 0$. In a gap all roots are
    real and the physical one is the unique root where the explicit inverse increases,
    $z'(m) > 0$ (`zprime`, evaluated at the candidates): take the largest $z'$ among the
    real roots (at an edge that is the double root, $z' = 0$).
    """
    finite = jnp.isfinite(m)
    im = jnp.where(finite, jnp.imag(m), -jnp.inf)
    has_complex = jnp.max(im, axis=-1) > 0
    real_score = jnp.where(finite & (jnp.imag(m) == 0), zprime, -jnp.inf)
    idx = jnp.where(has_complex, jnp.argmax(im, axis=-1), jnp.argmax(real_score, axis=-1))
    return jnp.take_along_axis(m, idx[..., None], axis=-1)[..., 0]


def physical_root(roots: Callable[[Array], Array], zprime: Callable[[Array], Array], z: Array) -> Array:
    """The physical root at `z` in the closed upper half plane; real `z` go through real arithmetic.

    `roots(z)` returns the candidate roots (last axis) at `z`; `zprime(m)` is the derivative
    of the law's explicit inverse at real candidates.
    """
    on_axis = jnp.imag(z) == 0
    off = select_upper(roots(jnp.where(on_axis, z + 1j, z)), z)
    m_axis = roots(jnp.real(z))
    on = select_real_axis(m_axis, zprime(jnp.real(m_axis)))
    return jnp.where(on_axis, on, off)


# ---------------------------------------------------------------------- supports from an explicit inverse


def inverse_map_support(alpha: float, beta: float, poles, residues) -> np.ndarray:
    r"""Support of a law whose transform has the explicit real inverse $z(s) = \beta + \alpha s + \sum_k \gamma_k/(s - p_k)$.

    The complement of the support (atoms aside) is $\{z(s): s \in \mathbb R, z'(s) > 0\}$
    (Silverstein-Choi for Marchenko-Pastur-type laws, Biane for semicircular free
    convolutions). The real line of $s$ (closed through $\infty$) is cut at the poles, at
    $\infty$ when $\alpha \ne 0$, and at the real roots of $z'$; every arc where $z' > 0$
    maps onto a gap. Returns the sorted support intervals, shape `(k, 2)`.
    """
    poles = [float(p) for p in poles]
    residues = [float(g) for g in residues]

    def z_of(s):
        return beta + alpha * s + sum(g / (s - p) for p, g in zip(poles, residues))

    def zp_of(s):
        return alpha - sum(g / (s - p) ** 2 for p, g in zip(poles, residues))

    squares = [npoly.polypow([-p, 1.0], 2) for p in poles]
    crit = alpha * _prod1(squares)
    for k, g in enumerate(residues):
        crit = npoly.polysub(crit, g * _prod1(squares[:k] + squares[k + 1 :]))
    crit = np.trim_zeros(np.asarray(crit, dtype=float), "b")
    roots = npoly.polyroots(crit) if crit.size > 1 else np.zeros(0)
    real = roots[np.abs(roots.imag) <= 1e-9 * np.maximum(1.0, np.abs(roots))].real
    pts = sorted(set(poles) | set(real.tolist()))
    is_pole = {p: (p in poles) for p in pts}

    def lim(s, side):  # limit of z at special point s, approached on an increasing arc
        return side * np.inf if is_pole[s] else z_of(s)

    gaps = []
    for lo, hi in zip(pts[:-1], pts[1:]):
        if zp_of(0.5 * (lo + hi)) > 0:
            gaps.append((lim(lo, -1), lim(hi, 1)))
    lo, hi = pts[-1], pts[0]
    far_right, far_left = lo + 1.0 + abs(lo), hi - 1.0 - abs(hi)
    if alpha != 0:  # infinity is a pole of z: two arcs
        if zp_of(far_right) > 0:
            gaps.append((lim(lo, -1), np.inf))
        if zp_of(far_left) > 0:
            gaps.append((-np.inf, lim(hi, 1)))
    elif zp_of(far_right) > 0:  # one arc through infinity, where z = beta
        gaps.append((lim(lo, -1), lim(hi, 1)))
    gaps.sort()
    merged = [list(gaps[0])]
    for a, b in gaps[1:]:
        if a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    intervals = [(merged[k][1], merged[k + 1][0]) for k in range(len(merged) - 1)]
    return np.asarray(intervals, dtype=float).reshape(-1, 2)


def _prod1(polys):
    out = np.ones(1)
    for p in polys:
        out = npoly.polymul(out, p)
    return out
