"""Checks of the real-matrix test cases in `realcases.py`: the facts other tests rely on."""

import jax.random as jr
import numpy as np
import pytest
from realcases import (
    ALL_CASES,
    EPS,
    digits,
    mlp_null_dimension,
    nested_submatrix_spectra,
    random_feature_gram,
    rbf_gram,
    train_mlp,
)

EXPECTED_SIZES = {"mlp_hessian": 2410, "mlp_gauss_newton": 2410, "rbf_gram": 1797, "random_feature_gram": 1797}


@pytest.fixture(scope="module", params=list(ALL_CASES))
def case(request):
    return ALL_CASES[request.param]()


def test_matrix_and_spectrum(case):
    a = case.matrix
    assert a.dtype == np.float64
    assert a.shape == (EXPECTED_SIZES[case.name],) * 2
    assert np.array_equal(a, a.T)
    assert np.all(np.isfinite(a))
    assert case.eigenvalues.shape == (case.n,)
    assert np.all(np.diff(case.eigenvalues) >= 0)
    assert case.zero_tol == pytest.approx(EPS * case.n * case.scale)
    # Trace and Frobenius norm: the spectrum belongs to this matrix.
    assert np.sum(case.eigenvalues) == pytest.approx(np.trace(a), rel=1e-10, abs=1e-10 * case.scale)
    assert np.sum(case.eigenvalues**2) == pytest.approx(np.sum(a * a), rel=1e-10)


def test_structural_zeros_match_theory(case):
    """The exact zeros are exactly those the construction predicts, with a clean gap."""
    assert case.count_zeros() == case.n_structural_zeros
    mags = np.sort(np.abs(case.eigenvalues))
    k = case.n_structural_zeros
    if k:
        assert mags[k - 1] <= case.zero_tol / 10  # structural zeros: rounding level
    assert mags[k] >= 10 * case.zero_tol  # genuine eigenvalues: well above it


def test_sign_structure(case):
    lo = case.eigenvalues[0]
    if case.psd:
        assert lo >= -case.zero_tol
    else:
        assert lo < -1e3 * case.zero_tol  # the Hessian is genuinely indefinite


def test_tiny_bulk_is_not_an_atom(case):
    """Many eigenvalues lie decades below ||A|| but above the zero tolerance."""
    mags = np.abs(case.eigenvalues)
    tiny = (mags > case.zero_tol) & (mags <= 1e-4 * case.scale)
    assert case.tiny_bulk
    assert tiny.sum() >= 0.2 * case.n
    assert case.smallest_nonzero() < 1e-5


def test_gram_ratio_gives_the_atom(case):
    """For Gram cases the atom at zero has the weight 1 - 1/c of aspect ratio c > 1."""
    if case.gram_ratio is None:
        pytest.skip("not a Gram matrix")
    weight = case.count_zeros() / case.n
    assert weight == pytest.approx(max(0.0, 1.0 - 1.0 / case.gram_ratio), abs=1.0 / case.n)


def test_null_dimension_counts_a_dead_unit():
    """Killing one live unit adds exactly its 75 weights minus what it already contributed."""
    net = train_mlp(seed=0, steps=20)
    x, _ = digits()
    params = dict(net.params)
    before = mlp_null_dimension(params, x)
    w1, b1 = params["W1"], params["b1"]
    active = (x @ w1 + b1) > 0
    j = int(np.argmax(active.sum(axis=0)))  # the most active unit
    xa = np.concatenate([x[active[:, j]], np.ones((int(active[:, j].sum()), 1))], axis=1)
    contributed = 65 - np.linalg.matrix_rank(xa) + 1
    b1 = b1.copy()
    b1[j] = -1e3
    params["b1"] = b1
    assert mlp_null_dimension(params, x) == before - contributed + 75


def test_deterministic():
    a, b = train_mlp(seed=3, steps=50), train_mlp(seed=3, steps=50)
    for key in a.params:
        assert np.array_equal(a.params[key], b.params[key])
    c = train_mlp(seed=4, steps=50)
    assert not np.array_equal(a.params["W1"], c.params["W1"])
    g1, g2 = random_feature_gram(seed=1, n_samples=300), random_feature_gram(seed=1, n_samples=300)
    assert np.array_equal(g1.matrix, g2.matrix)
    assert not np.array_equal(g1.matrix, random_feature_gram(seed=2, n_samples=300).matrix)
    assert np.array_equal(rbf_gram(seed=5, n_samples=200).matrix, rbf_gram(seed=5, n_samples=200).matrix)


def test_nested_submatrix_spectra():
    a = rbf_gram(seed=0, n_samples=400).matrix
    sizes = [50, 100, 400]
    spectra = nested_submatrix_spectra(a, sizes, jr.PRNGKey(0))
    assert list(spectra) == sizes
    assert all(spectra[s].shape == (s,) for s in sizes)
    assert np.allclose(spectra[400], np.linalg.eigvalsh(a))
    # Cauchy interlacing holds for principal submatrices: the sizes are nested.
    for small, big in [(50, 100), (100, 400)]:
        mu, lam, k = spectra[small], spectra[big], big - small
        assert np.all(lam[:small] <= mu + 1e-12) and np.all(mu <= lam[k:] + 1e-12)
    again = nested_submatrix_spectra(a, sizes, jr.PRNGKey(0))
    assert all(np.array_equal(again[s], spectra[s]) for s in sizes)
    other = nested_submatrix_spectra(a, sizes, jr.PRNGKey(1))
    assert not np.array_equal(other[50], spectra[50])


def test_nested_submatrix_spectra_bad_input():
    with pytest.raises(ValueError, match="square"):
        nested_submatrix_spectra(np.ones((3, 4)), [2], jr.PRNGKey(0))
    with pytest.raises(ValueError, match="sizes"):
        nested_submatrix_spectra(np.eye(3), [4], jr.PRNGKey(0))
