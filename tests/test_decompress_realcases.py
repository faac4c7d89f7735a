"""Free decompression of the real-matrix cases of `realcases.py` (issue 4 acceptance).

For each case a random principal submatrix of size m = n // 8 (the first m entries of one
seeded permutation, as in `realcases.nested_submatrix_spectra`) is given to
`fdj.eigvalsh(submatrix, n)` with library defaults (automatic degrees, validated on the
submatrix's own nested submatrices). The prediction of the n eigenvalues must be closer in
Kolmogorov–Smirnov distance to the full spectrum than the best of the three baselines: the
small spectrum as is, rescaled about its mean by sqrt(n/m), and Nystrom (n/m times it, padded
with n - m zeros). A method that does not beat them has not decompressed anything.

Eigenvalues with |lambda| <= `case.zero_tol` (eps n ||A||, rounding level) are set to 0 in
every sample first, so exact zeros computed as +-1e-16 and an atom predicted at 0 coincide.
Building the cases and predicting takes minutes on a 2-core CPU: slow-marked.
"""

import jax.random as jr
import numpy as np
import pytest
from realcases import ALL_CASES

import freedecomp_jax as fdj
from freedecomp_jax._metrics import (
    as_is_baseline,
    ks_distance,
    nystrom_baseline,
    rescaled_baseline,
)

pytestmark = pytest.mark.slow

SEED = 0


def _ks(pred, true, tol: float) -> float:
    snap = lambda e: np.where(np.abs(e) <= tol, 0.0, np.asarray(e, dtype=np.float64))  # noqa: E731
    return ks_distance(snap(pred), snap(true))


def _observed(name: str):
    """(case, n, m, the m x m principal submatrix on the first m entries of the seeded permutation, its eigenvalues)."""
    case = ALL_CASES[name](seed=SEED)
    n = case.n
    m = n // 8
    idx = np.asarray(jr.permutation(jr.PRNGKey(SEED), n))[:m]
    sub = case.matrix[np.ix_(idx, idx)]
    return case, n, m, sub, np.linalg.eigvalsh(sub)


# Measured 2026-11-23 (fdj.eigvalsh(submatrix, n), defaults): every case goes to the Levy-Khintchine
# fallback of `predict` (no algebraic curve passes the check on spectra spanning 6-10 decades), fitted
# with the matrix's diagonal profile (D^1/2 C D^1/2, D kept as the matrix grows): rbf_gram KS 0.224
# (better baseline 0.449), random_feature_gram 0.179 (0.579), mlp_gauss_newton 0.100 (0.372),
# mlp_hessian 0.244 (0.276; the narrowest margin: at m one negative eigenvalue in 240, at n 11%).
# Measured 2026-12-07: mlp_hessian 0.148, cnn_hessian 0.145 (0.279), since the fit of an indefinite
# spectrum starts where its heights resolve the law (`_levy_fit._resolved`).
# Measured 2026-12-04 (seed 0, benchmarks/realcases.py, RESULTS "Gram matrices of a known rank"): the
# defaults lose to the best baseline on these cases (issue 14 is open): the Laplacian-kernel Grams to
# the small spectrum as is (0.394 / 0.404 / 0.407 against 0.213 / 0.215 / 0.216), the activation and
# tanh Gauss-Newton Grams to Nystrom (0.511 against 0.130, 0.374 against 0.167: an atom born between
# m and n that the default rate rule forbids), and the tanh Hessian raises ValueError (no candidate
# passes its check).
LOSES = {
    "activation_gram": "loses to Nystrom: the atom born between m and n",
    "tanh_gauss_newton": "loses to Nystrom: the atom born between m and n",
}
# Measured 2026-12-06 (`_freeness.py`, seeds 0 and 1 of each case, 32 draws at m/4): the principal
# submatrices of these matrices are not free compressions of them, with or without the diagonal profile
# (excess KS 0.18-0.24 for the Laplacian kernels, 0.19-0.20 for the tanh Hessian, 0.40 for the kNN graph,
# against at most 0.050 for the other cases), so `predict` raises instead of decompressing. Before the
# check the Laplacian kernels lost to the spectrum as is (0.394 / 0.404 / 0.407 against 0.213 / 0.215 /
# 0.216), the tanh Hessian raised (no candidate passed) and the kNN Laplacian beat the rescaled spectrum
# (0.185 against 0.319) from a model 0.33 KS off at m.
NOT_FREE = ("laplace_gram_narrow", "laplace_gram", "laplace_gram_wide", "knn_laplacian", "tanh_hessian")


@pytest.mark.parametrize("name", NOT_FREE)
def test_matrices_that_are_not_free_compressions_are_refused(name):
    _, n, _, sub, _ = _observed(name)
    with pytest.raises(ValueError, match="not free compressions of it"):
        fdj.eigvalsh(sub, n)


@pytest.mark.parametrize(
    "name",
    [pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=LOSES[name])) if name in LOSES else name for name in ALL_CASES if name not in NOT_FREE],
)
def test_prediction_beats_naive_baselines(name):
    case, n, m, sub, small = _observed(name)
    pred = np.asarray(fdj.eigvalsh(sub, n))

    assert pred.shape == (n,)
    assert np.all(np.isfinite(pred))
    ks = _ks(pred, case.eigenvalues, case.zero_tol)
    ks_as_is = _ks(as_is_baseline(small, n), case.eigenvalues, case.zero_tol)
    ks_rescaled = _ks(rescaled_baseline(small, m, n), case.eigenvalues, case.zero_tol)
    ks_nystrom = _ks(nystrom_baseline(small, m, n), case.eigenvalues, case.zero_tol)
    summary = f"{name}: m={m} -> n={n}, KS prediction {ks:.4f}, as is {ks_as_is:.4f}, rescaled {ks_rescaled:.4f}, Nystrom {ks_nystrom:.4f}"
    print(summary)
    assert ks < min(ks_as_is, ks_rescaled, ks_nystrom), summary


# Measured 2026-12-04 (seed 0, matrix input, Deformed): random features 0.080, activation 0.031, NTK
# Gram 0.125 (best baselines 0.445, 0.130, 0.388; wins are <= 1/3 of them).
GRAM_CASES = ["random_feature_gram", "activation_gram", "ntk_gram"]


@pytest.mark.parametrize("name", GRAM_CASES)
def test_gram_matrix_of_known_rank_wins(name):
    """A Gram matrix whose feature count q = n / gram_ratio the user passes, `Deformed(m / q)`: the
    prediction's KS is at most a third of the best baseline's (Nystrom included), issue 14's win."""
    case, n, m, sub, small = _observed(name)
    pred = np.asarray(fdj.eigvalsh(sub, n, fdj.Deformed(case.gram_ratio * m / n)))
    ks = _ks(pred, case.eigenvalues, case.zero_tol)
    best = min(_ks(b, case.eigenvalues, case.zero_tol) for b in (as_is_baseline(small, n), rescaled_baseline(small, m, n), nystrom_baseline(small, m, n)))
    print(f"{name}: KS {ks:.4f}, best baseline {best:.4f}")
    assert ks <= best / 3


# Measured 2026-12-07 (seed 0, default configs, the lanes padded to 301 slots with weight 0): each lane equals the
# concrete call to 7.9e-11 of the spectrum's scale at most (mlp_gauss_newton; the others 1e-13 to 3.4e-11), every one
# the unsigned Levy-Khintchine law. Not here: the tanh Hessian, whose signed Levy-Khintchine fit was ill-conditioned
# (a relative perturbation of 1e-15 of its eigenvalues moved its prediction by 0.9 % of its scale, and its lane differed
# from its concrete call by as much). Since the signed fit keeps the third and fourth free cumulants (2026-12-08) the
# same perturbations move it by 7e-13 to 3.6e-10 and its lane differs by 6.7e-8: far better, not yet 1e-10 (its rates
# on the jumps nearest 0, a semicircle's stand-ins, are still not identified).
PARITY_CASES = ["mlp_gauss_newton", "rbf_gram", "random_feature_gram", "laplace_gram_narrow", "laplace_gram", "laplace_gram_wide"]


def test_eigenvalues_in_one_compiled_batch_equal_single_calls():
    """Issue 16's acceptance on the real-matrix cases: `jax.jit(jax.vmap(predict))` of their observed eigenvalues with
    the defaults, one lane per case (padded to one length with weight 0, each to its own n), equals the loop of
    concrete calls to 1e-10 of the spectrum's scale."""
    import jax

    observed = [_observed(name) for name in PARITY_CASES]
    width = max(m for _, _, m, _, _ in observed)
    eigs = np.stack([np.concatenate([e, np.full(width - m, e[-1])]) for _, _, m, _, e in observed])
    weights = np.stack([(np.arange(width) < m).astype(float) for _, _, m, _, _ in observed])
    sizes = np.array([float(n) for _, n, _, _, _ in observed])
    out = jax.jit(jax.vmap(lambda e, w, n: fdj.predict(e, n, weights=w, throw=False)))(eigs, weights, sizes)
    for k, (_, n, _, _, small) in enumerate(observed):
        lane = jax.tree.map(lambda v, k=k: v[k], out)
        assert lane.check == fdj.RESULTS.successful
        single = np.asarray(fdj.predict(small, n).eigvalsh(n))
        np.testing.assert_allclose(np.asarray(lane.eigvalsh(n)), single, rtol=0, atol=1e-10 * float(np.max(np.abs(single))))
