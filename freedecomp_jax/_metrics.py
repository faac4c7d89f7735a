"""Distances between spectra (empirical eigenvalue samples), used by the CLI and benchmarks."""

import numpy as np


def ks_distance(a, b) -> float:
    """Kolmogorov–Smirnov distance sup_x |F_a(x) - F_b(x)| between two eigenvalue samples."""
    a, b = np.sort(np.asarray(a, float)), np.sort(np.asarray(b, float))
    grid = np.concatenate([a, b])
    fa = np.searchsorted(a, grid, side="right") / a.size
    fb = np.searchsorted(b, grid, side="right") / b.size
    return float(np.max(np.abs(fa - fb)))


def wasserstein1(a, b) -> float:
    """W1 distance between two eigenvalue samples: the L1 distance between their quantile functions."""
    a, b = np.sort(np.asarray(a, float)), np.sort(np.asarray(b, float))
    q = np.linspace(0.0, 1.0, 4 * max(a.size, b.size) + 1)[1:-1]
    qa = a[np.minimum((q * a.size).astype(int), a.size - 1)]
    qb = b[np.minimum((q * b.size).astype(int), b.size - 1)]
    return float(np.mean(np.abs(qa - qb)))


def rescaled_baseline(eigs, n0: int, n: int) -> np.ndarray:
    """The naive prediction: the small spectrum rescaled about its mean by sqrt(n/n0), resampled to n values."""
    eigs = np.sort(np.asarray(eigs, float))
    mu = eigs.mean()
    scaled = mu + (eigs - mu) * np.sqrt(n / n0)
    q = (np.arange(n) + 0.5) / n
    return np.quantile(scaled, q)


def as_is_baseline(eigs, n: int) -> np.ndarray:
    """The naive prediction: the small spectrum as is, resampled to n values."""
    q = (np.arange(n) + 0.5) / n
    return np.quantile(np.asarray(eigs, float), q)


def nystrom_baseline(eigs, n0: int, n: int) -> np.ndarray:
    """The Nystrom prediction: the small spectrum times n/n0, padded with n - n0 zeros."""
    eigs = np.asarray(eigs, float) * (n / n0)
    return np.sort(np.concatenate([eigs, np.zeros(max(n - eigs.size, 0))]))


def best_baseline_ks(eigs, n0: int, n: int, truth) -> float:
    """The smallest KS distance to `truth` of the three baselines (as is, rescaled, Nystrom)."""
    return min(ks_distance(b, truth) for b in (as_is_baseline(eigs, n), rescaled_baseline(eigs, n0, n), nystrom_baseline(eigs, n0, n)))
