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
from realcases_more import (
    LAPLACE_BANDWIDTHS,
    MORE_CASES,
    cnn_hessian,
    cnn_null_dimension,
    knn_laplacian,
    laplace_gram,
    train_cnn,
)

EXPECTED_SIZES = {"mlp_hessian": 2410, "mlp_gauss_newton": 2410, "rbf_gram": 1797, "random_feature_gram": 1797,
                  "cnn_hessian": 1418, "laplace_gram_narrow": 1500, "laplace_gram": 1500, "laplace_gram_wide": 1500,
                  "activation_gram": 1797, "knn_laplacian": 1500, "ntk_gram": 1500, "tanh_gauss_newton": 1537,
                  "tanh_hessian": 1537}
# zero counts fixed by the construction alone (rank caps, strict definiteness), whatever the seed
SEED_FREE_ZEROS = {"laplace_gram_narrow": 0, "laplace_gram": 0, "laplace_gram_wide": 0, "ntk_gram": 1500 - 769,
                   "tanh_gauss_newton": 1537 - 442, "tanh_hessian": 0}


# constructions that train a network or build a large Gram (10-65 s each on the 2-core CI machine): slow
HEAVY = ("mlp_hessian", "cnn_hessian", "activation_gram", "ntk_gram", "knn_laplacian", "tanh_gauss_newton")


@pytest.fixture(scope="module", params=[pytest.param(k, marks=pytest.mark.slow) if k in HEAVY else k for k in ALL_CASES])
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
    assert case.count_zeros() == case.n_structural_zeros == SEED_FREE_ZEROS.get(case.name, case.n_structural_zeros)
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
    """Where `tiny_bulk` is set, at least 20% of the nonzero eigenvalues lie decades below ||A||
    but above the zero tolerance; otherwise fewer do."""
    mags = np.abs(case.eigenvalues)
    tiny = (mags > case.zero_tol) & (mags <= 1e-4 * case.scale)
    assert (tiny.sum() >= 0.2 * (case.n - case.count_zeros())) == case.tiny_bulk


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


def test_all_cases_registered_in_order():
    assert list(ALL_CASES)[:4] == ["mlp_hessian", "mlp_gauss_newton", "rbf_gram", "random_feature_gram"]
    assert list(ALL_CASES)[4:] == list(MORE_CASES) and set(ALL_CASES) == set(EXPECTED_SIZES)


@pytest.mark.parametrize(
    "name", [pytest.param(k, marks=pytest.mark.slow) if k in HEAVY else k for k in MORE_CASES]
)
def test_more_cases_other_seed(name):
    """Seed 1: the zeros are still exactly those predicted, and where the construction alone fixes
    their number (rank caps, definiteness) it is the same as for seed 0."""
    a = MORE_CASES[name](seed=1)
    assert a.name == name and a.n == EXPECTED_SIZES[name] and np.array_equal(a.matrix, a.matrix.T)
    assert a.info["seed"] == 1 and a.count_zeros() == a.n_structural_zeros
    assert a.count_zeros() == SEED_FREE_ZEROS.get(name, a.count_zeros())


@pytest.mark.slow
def test_cnn_null_dimension_and_the_batch_rank_cap():
    """On 128 images the count from structure (dead layer-2 channels and the softmax shift for seed
    0) still equals the measured number of exact zeros. On 32 there are more: the Gauss-Newton part
    has rank <= 9 N, and the residual part sum_i r_i grad^2 z_i vanishes on the layer-2 kernel block
    (the net is linear in it between kinks), so its rank is <= 2 (P - 1168) = 500 (measured: rank H
    = 9 N + 304 for N <= 64, a cap that binds below N ~ 90)."""
    case = cnn_hessian(seed=0, n_samples=128)
    assert case.count_zeros() == case.n_structural_zeros == 345
    small = cnn_hessian(seed=0, n_samples=32)
    assert small.n_structural_zeros == 345 < small.count_zeros()
    assert small.count_zeros() >= small.n - 9 * 32 - 2 * (small.n - 9 * 8 * 16 - 16)
    # Blank images: every layer-1 unit outputs relu(bias), so no pixel direction is seen.
    assert cnn_null_dimension(train_cnn(0)[0], np.zeros((3, 8, 8, 1))) >= 8 * 9


def test_knn_laplacian_atoms():
    """One exact zero per connected component, an exact atom at 1 of size n - rank(W), spectrum in [0, 2]."""
    case = knn_laplacian()  # as ALL_CASES builds it: from the cache
    assert case.count_zeros() == case.info["components"] >= 1
    at_one = int(np.sum(np.abs(case.eigenvalues - 1.0) <= case.zero_tol))
    assert at_one == case.info["atom_at_one"] > 0
    assert case.eigenvalues[-1] <= 2.0 + case.zero_tol
    assert np.allclose(np.diag(case.matrix), 1.0)


def test_laplace_bandwidths():
    """The three registered bandwidths over the same patches: unit diagonal, wider means a larger top
    eigenvalue and a smaller bottom one; rebuilding gives the same matrix."""
    cases = [laplace_gram(scale=s) for s in LAPLACE_BANDWIDTHS.values()]  # as ALL_CASES builds them
    assert [c.name for c in cases] == list(LAPLACE_BANDWIDTHS)
    assert all(np.all(np.diag(c.matrix) == 1.0) for c in cases)
    tops, bottoms = [c.eigenvalues[-1] for c in cases], [c.eigenvalues[0] for c in cases]
    assert tops == sorted(tops) and bottoms == sorted(bottoms, reverse=True)
    assert np.array_equal(laplace_gram.__wrapped__().matrix, cases[1].matrix)  # not from the cache
