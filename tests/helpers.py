"""Shared test helpers: tolerances, quadrature and coefficient comparison."""

import numpy as np


def normalized(c):
    """Trim all-zero trailing rows/columns, scale to unit norm, fix the sign by the largest entry."""
    c = np.asarray(c, dtype=float)
    big = np.abs(c) > 1e-12 * np.abs(c).max()
    L = np.max(np.nonzero(big.any(axis=1))[0])
    K = np.max(np.nonzero(big.any(axis=0))[0])
    c = np.where(big, c, 0.0)[: L + 1, : K + 1]
    c = c / np.linalg.norm(c)
    return c * np.sign(c.flat[np.argmax(np.abs(c))])


def l1_distance(x, f, g):
    """Trapezoid approximation of the L1 distance between two densities sampled on x."""
    return float(np.trapezoid(np.abs(np.asarray(f) - np.asarray(g)), x))


def support_grid(intervals, n=4001, pad=0.02):
    """A grid covering all intervals (with a relative margin), plus points clustered at each edge."""
    intervals = np.asarray(intervals, dtype=float).reshape(-1, 2)
    lo, hi = intervals.min(), intervals.max()
    width = hi - lo
    x = [np.linspace(lo - pad * width, hi + pad * width, n)]
    for a, b in intervals:
        w = b - a
        s = np.geomspace(1e-9, 0.05, 200) * w
        x += [a + s, b - s, a - s, b + s]
    return np.unique(np.concatenate(x))


def mp_quantiles(lams, m: int, points: int = 200001) -> np.ndarray:
    """Exact quantiles (k - 1/2)/m of the Marchenko-Pastur law of each ratio in `lams` (ratios <= 1: no atom), (len(lams), m)."""
    from freedecomp_jax import distributions as D

    out = []
    for lam in lams:
        law = D.MarchenkoPastur(lam)
        lo, hi = np.asarray(law.support())[0]
        g = np.linspace(lo, hi, points)
        rho = np.asarray(law.density(g))
        F = np.concatenate([[0.0], np.cumsum((rho[1:] + rho[:-1]) / 2 * np.diff(g))])
        out.append(np.interp((np.arange(m) + 0.5) / m, F / F[-1], g))
    return np.stack(out)
