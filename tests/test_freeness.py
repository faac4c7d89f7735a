"""Free decompression's premise checked on the observed matrix (`_freeness.py`): principal submatrices
of a matrix that is a free compression look like free compressions; those of a local kernel or a
sparse graph do not, and `predict` says so instead of decompressing."""

import numpy as np
import pytest

import freedecomp_jax as fdj
from freedecomp_jax._freeness import EXCESS_TOL, compression_excess

M = 200


def _wishart():
    x = np.random.default_rng(0).standard_normal((M, 2 * M))
    return x @ x.T / (2 * M)


def _wigner():
    g = np.random.default_rng(1).standard_normal((M, M))
    return (g + g.T) / np.sqrt(2 * M)


def _ring():
    """The Laplacian of a cycle, its vertices shuffled: each row has two neighbours, which a principal submatrix drops."""
    eye = np.eye(M)
    ring = 2 * eye - np.roll(eye, 1, 0) - np.roll(eye, -1, 0)
    perm = np.random.default_rng(2).permutation(M)
    return ring[np.ix_(perm, perm)]


def _local_kernel():
    """exp(-|x - y| / h) on M points of [0, 1] with h = 1/(2M): each point sees about one neighbour."""
    p = np.random.default_rng(3).uniform(0.0, 1.0, M)
    return np.exp(-np.abs(p[:, None] - p[None]) * 2 * M)


@pytest.mark.parametrize("make", [_wishart, _wigner], ids=["wishart", "wigner"])
def test_free_compressions_pass(make):
    # Haar-invariant matrices: a principal submatrix is a free compression, the excess is sampling noise
    for seed in (0, 1):
        excess, ks, level, _ = compression_excess(make(), seed)
        assert abs(excess) <= 0.02 and 0.03 <= level <= 0.09 and ks > 0


def test_the_diagonal_profile_is_the_model_of_rows_on_their_own_scales():
    # D^1/2 W D^1/2, d over six decades: the plain compression misses its submatrices, the profile's does not
    d = np.exp(np.random.default_rng(4).uniform(-7.0, 7.0, M))
    excess, _, _, profile = compression_excess(np.sqrt(np.outer(d, d)) * _wishart())
    assert profile and excess <= 0.02


@pytest.mark.parametrize("make", [_ring, _local_kernel], ids=["ring", "local_kernel"])
def test_local_matrices_are_refused(make):
    a = make()
    for seed in (0, 1):
        assert compression_excess(a, seed)[0] > 1.5 * EXCESS_TOL
    with pytest.raises(ValueError, match="not free compressions of it"):
        fdj.eigvalsh(a, 8 * M, deg=(1, 2))


def test_same_seed_same_figures():
    a = _wigner()
    assert compression_excess(a, 5) == compression_excess(a, 5)
