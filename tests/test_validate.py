"""`_validate.py` (the draws and the error of validated extrapolation) and `predict` with
`Deformed(ratio)`: the Gram models of a known rank, chosen by validation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import freedecomp_jax as fdj
import freedecomp_jax.distributions as D
from freedecomp_jax._fit import _fit_fixed
from freedecomp_jax._inputs import _parse_inputs
from freedecomp_jax._metrics import (
    as_is_baseline,
    best_baseline_ks,
    ks_distance,
    nystrom_baseline,
    rescaled_baseline,
)
from freedecomp_jax._validate import (
    DRAWS,
    FRACTIONS,
    _baseline_errors,
    _slotted,
    baseline_error,
    baseline_errors,
    compressions,
    draws,
    padded,
    prediction_error,
    slots,
    validated_error,
)


def _wishart(seed: int, m: int, q: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((m, q))
    return x @ x.T / q


def test_matrix_draws_are_principal_submatrices():
    a = _wishart(0, 80, 160)
    samples = draws(np.linalg.eigvalsh(a), a, seed=3)
    assert [d.size for d in samples] == [int(f * 80) for f in FRACTIONS for _ in range(DRAWS)]
    for d in samples:  # a principal submatrix: rows and columns of A at the indices of its diagonal entries
        idx = np.array([np.flatnonzero(np.diagonal(a) == v)[0] for v in np.diagonal(d.matrix)])
        np.testing.assert_array_equal(d.matrix, a[np.ix_(idx, idx)])
        np.testing.assert_allclose(d.eigs, np.linalg.eigvalsh(d.matrix))
    again = draws(np.linalg.eigvalsh(a), a, seed=3)
    assert all(np.array_equal(x.eigs, y.eigs) for x, y in zip(samples, again))  # deterministic


@pytest.mark.parametrize("input", ["matrix", "eigs"])
def test_draws_of_a_spectrum_with_an_atom_keep_their_zeros(input):
    """A Gram matrix of rank r = 50 < m = 200: draws of q <= r would have no zero (the observed atom born
    between q and m); the draws lie a quarter and half way from r to m, and each has q - r zeros (dense
    eigvalsh of the compression or the sub-submatrix, against the rank)."""
    m, r = 200, 50
    a = _wishart(4, m, r)
    lam = np.linalg.eigvalsh(a)
    tol = 1e3 * m * np.finfo(float).eps * float(lam.max())
    assert np.sum(np.abs(lam) <= tol) == m - r
    samples = draws(lam, a if input == "matrix" else None, seed=0, zero_tol=tol)
    assert [d.size for d in samples] == [int(r + f * (m - r)) for f in FRACTIONS for _ in range(DRAWS)]
    for d in samples:
        assert np.sum(np.abs(d.eigs) <= tol) == d.size - r


def test_compressions_interlace():
    """Eigenvalue input: Q Lambda Q^T compressed to q x q; Cauchy interlacing lambda_k <= mu_k <= lambda_{k+m-q}."""
    lam = np.sort(np.random.default_rng(1).exponential(size=64))
    for d in draws(lam, None, seed=0):
        mu = np.sort(d.eigs)
        k = np.arange(d.size)
        assert np.all(lam[k] <= mu + 1e-12) and np.all(mu <= lam[k + 64 - d.size] + 1e-12)


def test_compressions_of_a_padded_spectrum_and_under_vmap():
    """Slots of weight 0 (a ragged batch's padding, any value) take no part: the draws interlace the 64 observed
    eigenvalues and have the sizes of 64; a batch under jit(vmap) draws what single calls draw."""
    lam = np.sort(np.random.default_rng(2).exponential(size=64))
    eigs, w = np.concatenate([lam, np.full(16, 1e6)]), np.concatenate([np.ones(64), np.zeros(16)])
    e, dw, sizes = (np.asarray(v) for v in compressions(eigs, w, 0.0, 0))
    assert sizes.tolist() == [int(f * 64) for f in FRACTIONS for _ in range(DRAWS)]
    for row, weights, q in zip(e, dw, sizes.astype(int)):
        assert weights.sum() == q and np.all(row[q:] == row[q - 1])
        k = np.arange(q)
        assert np.all(lam[k] <= row[:q] + 1e-12) and np.all(row[:q] <= lam[k + 64 - q] + 1e-12)
    batch = jax.jit(jax.vmap(compressions, in_axes=(0, 0, None, None)))(np.stack([eigs, eigs[::-1]]), np.stack([w, w[::-1]]), 0.0, 0)
    for k, single in enumerate((compressions(eigs, w, 0.0, 0), compressions(eigs[::-1], w[::-1], 0.0, 0))):
        for a, b in zip(batch, single):
            np.testing.assert_allclose(a[k], b, rtol=0, atol=1e-12)


def _numpy_baseline_error(d, lam, tol):
    """The three baselines of a draw by their NumPy definitions (`_metrics.py`), scored as `prediction_error`
    scores a sample: KS plus the exact W1 of two equal-size samples (mean distance of the sorted pairs) over sigma."""
    snap = lambda v: np.sort(np.where(np.abs(v) <= tol, 0.0, v))  # noqa: E731
    m, target = lam.size, snap(lam)
    preds = (as_is_baseline(d.eigs, m), rescaled_baseline(d.eigs, d.size, m), nystrom_baseline(d.eigs, d.size, m))
    return min(ks_distance(snap(b), target) + np.mean(np.abs(snap(b) - target)) / np.std(target) for b in preds)


def test_baseline_errors_equal_their_numpy_definitions():
    """A Gram spectrum with an atom at 0 (zeros snapped) and a full-rank one, against the baselines built in
    NumPy; padding the observed spectrum and the draws with weight-0 slots changes nothing."""
    gram = np.linalg.eigvalsh(_wishart(7, 120, 90))
    for lam, tol in ((gram, 1e3 * 120 * np.finfo(float).eps * gram.max()), (np.linalg.eigvalsh(_wishart(8, 120, 240)), 0.0)):
        samples = draws(lam, None, seed=1, zero_tol=tol)
        errors = _baseline_errors(samples, lam, np.ones(lam.size), tol)
        np.testing.assert_allclose(errors, [_numpy_baseline_error(d, lam, tol) for d in samples], rtol=1e-12, atol=1e-12)
        e, dw, sizes = _slotted(samples, lam.size + 10)
        pad = np.concatenate([lam, np.full(10, -5.0)]), np.concatenate([np.ones(lam.size), np.zeros(10)])
        np.testing.assert_allclose(baseline_errors(e, dw, sizes, *pad, tol), errors, rtol=1e-12, atol=1e-12)


def test_a_padded_draw_fits_as_the_draw_itself():
    """The draw padded to the observed size (weight 0) gives the curve the draw alone gives, and its size n0."""
    a = _wishart(2, 120, 240)
    d = draws(np.linalg.eigvalsh(a), a, seed=0)[0]
    config = fdj.FitConfig()
    alone, _ = _fit_fixed(_parse_inputs(d.eigs, None, None, config), (1, 2), None, config)
    pad, _ = _fit_fixed(padded(d, 120, float(np.finfo(float).eps)), (1, 2), None, config)
    assert float(pad.n0) == d.size == 30
    np.testing.assert_allclose(np.asarray(pad.coeffs), np.asarray(alone.coeffs), rtol=1e-9, atol=1e-12 * float(np.abs(alone.coeffs).max()))


def test_levy_refits_to_the_draws_share_one_compiled_fit():
    """A Levy-Khintchine refit to a draw, its eigenvalues in the observed spectrum's slots (weight 0 padding,
    `slots`), is the fit of the draw alone; the draws of both sizes compile one fit program."""
    from freedecomp_jax._levy_fit import _fit_levy

    lam = np.linalg.eigvalsh(_wishart(3, 160, 400))
    samples = draws(lam, None, seed=0)
    assert {d.size for d in samples} == {40, 80}
    fdj.fit_levy(lam)
    before = _fit_levy._cached._cache_size()  # pyright: ignore[reportAttributeAccessIssue]
    laws = [fdj.fit_levy(eigs, n0, weights=w) for eigs, n0, w in (slots(d, lam.size) for d in samples)]
    assert _fit_levy._cached._cache_size() == before  # pyright: ignore[reportAttributeAccessIssue]
    for d, law in zip(samples, laws):
        alone = fdj.fit_levy(d.eigs, d.size)
        assert float(law.n0) == d.size
        np.testing.assert_allclose(np.asarray(law.jumps), np.asarray(alone.jumps), rtol=1e-12)
        np.testing.assert_allclose(np.asarray(law.rates), np.asarray(alone.rates), rtol=0, atol=1e-9 * float(np.sum(alone.rates)))


def test_prediction_error_sees_scale_and_shape():
    """The Marchenko-Pastur law of ratio 1/2 against a large Wishart sample (small error), the same
    sample doubled (the W1/std term alone is about 1), and a sample of another ratio."""
    law = fdj.LevyKhintchine(0.0, 0.0, [2.0], [0.5], 1.0)  # MP: q/m = 2, variance 1/q per entry
    grid = jnp.asarray(law.grid(fdj.Free(), 1.0, 1024))
    spec = fdj.decompress(law, grid, 1.0)
    sample = np.linalg.eigvalsh(_wishart(0, 1500, 3000))
    assert prediction_error(spec, sample, np.ones(1500), 0.0) <= 0.06
    assert prediction_error(spec, 2 * sample, np.ones(1500), 0.0) >= 0.9
    assert prediction_error(spec, np.linalg.eigvalsh(_wishart(0, 1500, 1500)), np.ones(1500), 0.0) >= 0.2
    # its W1 term by definition: the law's quantiles at (k + 1/2)/m against the sorted sample, over sigma
    quantiles = np.asarray(spec.quantile((np.arange(1500) + 0.5) / 1500))
    from freedecomp_jax._goodness import fit_distance

    expected = float(fit_distance(spec, sample, np.ones(1500), 0.0)) + np.mean(np.abs(quantiles - sample)) / np.std(sample)
    assert float(prediction_error(spec, sample, np.ones(1500), 0.0)) == pytest.approx(expected, rel=1e-12)
    # weight-0 slots take no part
    padded_sample, w = np.concatenate([sample, np.full(7, 50.0)]), np.concatenate([np.ones(1500), np.zeros(7)])
    assert float(prediction_error(spec, padded_sample, w, 0.0)) == pytest.approx(expected, rel=1e-12)


def test_baselines_beaten_by_the_true_law_not_by_a_wrong_one():
    """The bar of the gate (`baseline_error`): compressions of the eigenvalues of a 400 x 400 Wishart
    matrix of ratio 1/2 to 100 and 200, predicted back at 400. The Marchenko-Pastur law (a Levy law of
    one jump, fitted to each draw) beats the best of the three baselines; the same fit to the draw
    scaled by 1.5 (a law of the wrong scale) does not. For a semicircle the rescaled baseline is exact
    in law, so the bar is at the level of sampling (the KS of 400 samples alone is up to 0.07)."""
    lam = np.linalg.eigvalsh(_wishart(5, 400, 800))
    samples = draws(lam, None, seed=0)
    bar = baseline_error(samples, lam, 0.0)
    good = validated_error(lambda d: (fdj.fit_levy(d.eigs, d.size), fdj.Free()), samples, lam, 0.0)
    bad = validated_error(lambda d: (fdj.fit_levy(1.5 * d.eigs, d.size), fdj.Free()), samples, lam, 0.0)
    assert good < bar / 2 and bad > bar
    g = np.random.default_rng(6).standard_normal((400, 400))
    semicircle = np.linalg.eigvalsh((g + g.T) / np.sqrt(800))
    assert baseline_error(draws(semicircle, None, seed=0), semicircle, 0.0) <= 0.2


@pytest.mark.slow
def test_predict_deformed_chooses_a_gram_model_by_validation():
    """A Gram matrix of q = 600 features with a power-law population, observed at 150, predicted at
    1200 with Deformed(150 / 600): a Levy law of rank q is chosen, both unseen models are listed
    with their validated errors, best first, and the prediction beats the best baseline 3x."""
    rng = np.random.default_rng(0)
    n, q, m = 1200, 600, 150
    x = rng.standard_normal((n, q)) * np.arange(1, q + 1) ** -0.75
    a = x @ x.T / q
    full = np.linalg.eigvalsh(a)
    idx = rng.permutation(n)[:m]
    sub = a[np.ix_(idx, idx)]
    spec, report = fdj.predict(sub, n, fdj.Deformed(m / q), return_report=True)
    assert "rank 600" in report.chosen
    gram = [c for c in report.candidates if "rank" in c.model]
    assert len(gram) == 2 and all(c.validated is not None and np.isfinite(c.validated) for c in gram)
    chosen = next(c for c in report.candidates if c.verdict == "chosen")
    assert all(c.validated >= chosen.validated for c in gram)
    tol = n * np.finfo(float).eps * full.max()
    snap = lambda e: np.where(np.abs(e) <= tol, 0.0, np.asarray(e))  # noqa: E731
    ks = ks_distance(snap(np.asarray(spec.eigvalsh(n))), snap(full))
    assert ks <= best_baseline_ks(snap(np.linalg.eigvalsh(sub)), m, n, snap(full)) / 3


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="issue 14, open: validation from 125 and 250 rows to 500 ranks (2, 3) (0.0527) above the true (1, 4) (0.0621), "
    "while at 4000 (1, 4) gives KS 0.0038 and (2, 3) 0.0555 against the bar 0.053",
)
def test_predict_validates_the_curves_of_a_matrix_input():
    """A 500 x 500 principal submatrix of Q diag(lambda) Q^T (Q Haar, lambda 4000 quantiles of a free
    Levy law), predicted at 4000 with defaults and the report: the chosen curve carries its validated
    error (refitted to sub-submatrices of 125 and 250 rows, decompressed to 500), no candidate that
    passed has a smaller one, and the prediction beats the best baseline 3x against the dense spectrum."""
    n, m = 4000, 500
    law = D.FreeLevy([2.0, 5.5], [0.75, 0.25], 0.1, a=0.0, sigma=0.4)
    lam = np.sort(np.asarray(fdj.Spectrum.on_grid(law, fdj.Free(), 1.0, 4096).quantile((np.arange(n) + 0.5) / n)))
    q, r = np.linalg.qr(np.random.default_rng(0).standard_normal((n, n)))
    rows = (q * np.sign(np.diag(r)))[:m]
    sub = (rows * lam) @ rows.T
    spec, report = fdj.predict(sub, n, return_report=True)
    chosen = next(c for c in report.candidates if c.verdict == "chosen")
    assert chosen.validated is not None and np.isfinite(chosen.validated)
    assert all(c.validated >= chosen.validated for c in report.candidates if c.validated is not None)
    ks = ks_distance(np.asarray(spec.eigvalsh(n)), lam)
    assert ks <= best_baseline_ks(np.linalg.eigvalsh(sub), m, n, lam) / 3


def test_eigenvalues_alone_take_the_first_curve_that_passes():
    """Eigenvalues alone are not ranked: `predict` stops at the first candidate that passes its check
    and decompresses (its validated error from free compressions, in the report, below the
    baselines') and lists the later ones as not tried (no figures: nothing was solved for them). The
    eigenvalues of a 300 x 300 Wishart matrix of ratio 0.1, taken to 2400: the Marchenko-Pastur law of
    ratio 0.8 (closed-form density, integrated here) within the KS that 300 samples explain."""
    g = np.random.default_rng(4).standard_normal((300, 3000))
    x = np.linalg.eigvalsh(g @ g.T / 3000)
    spec, report = fdj.predict(x, 2400, fit_config=fdj.FitConfig(max_deg_z=1, max_deg_m=3), return_report=True)  # few compilations
    rows = list(report.candidates)
    at = next(i for i, c in enumerate(rows) if c.verdict == "chosen")
    assert rows[at].validated is not None and np.isfinite(rows[at].validated)
    assert all(c.verdict.startswith("passed over") for c in rows[:at])
    assert rows[at + 1 :] and all(c.verdict.startswith("not tried") and c.failed_points is None for c in rows[at + 1 :])
    assert "chosen" in str(report)
    grid = np.linspace(0.0, (1 + np.sqrt(0.8)) ** 2 * 1.01, 20001)
    rho = np.asarray(D.MarchenkoPastur(0.8).density(jnp.asarray(grid)))
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (rho[1:] + rho[:-1]) * np.diff(grid))])
    assert abs(cdf[-1] - 1.0) <= 1e-3
    assert np.max(np.abs(np.asarray(spec.cdf(jnp.asarray(grid))) - cdf)) <= 1.36 / np.sqrt(300)
