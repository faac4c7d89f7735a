"""Fitting a spectral curve to eigenvalues (`freedecomp_jax._fit`, `freedecomp_jax._stieltjes`).

Ground truths: closed-form laws sampled with `.sample_matrix`; a random principal submatrix
of size m has the compressed law `.decompress(m / n)`.
"""

import functools
import logging

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import freedecomp_jax as fdj
from freedecomp_jax import distributions as D
from freedecomp_jax._curve import SpectralCurve
from freedecomp_jax._fit import fit, fit_with_diagnostics
from freedecomp_jax._fit_problem import (
    _build_problem,
    _closed_forms,
    _Coefficients,
    _null_space_projector,
    _spectrum_data,
    zero_tolerance,
)
from freedecomp_jax._fit_refine import (
    _carried,
    _loss_terms,
    _newton_system,
    _refine,
    _tracked,
)
from freedecomp_jax._stieltjes import PointGeometry, empirical_stieltjes, fit_points
from freedecomp_jax.data import load_ntk

M = 1000  # submatrix size of the acceptance tests


@functools.cache
def _density_fn():
    return jax.jit(lambda c, x: SpectralCurve(c).density_with_result(x))


def _density(curve, x):
    rho, result = _density_fn()(curve.coeffs, jnp.asarray(x))
    return np.asarray(rho), np.asarray(result != fdj.RESULTS.successful)


@functools.cache
def _atoms_fn():
    return jax.jit(lambda c: SpectralCurve(c).atoms())


def _atoms(curve):
    positions, weights = _atoms_fn()(curve.coeffs)
    return np.asarray(positions), np.asarray(weights)


def _l1(curve, law):
    """int |rho_fit - rho_law| dx over the law's support widened by 10% (absolutely continuous parts)."""
    supp = np.asarray(law.support())
    lo, hi = supp.min(), supp.max()
    x = np.linspace(lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo), 4001)
    rho, status = _density(curve, x)
    assert np.all(status == 0)
    return float(np.trapezoid(np.abs(rho - np.asarray(law.density(x))), x))


LAWS = {
    "mp": (lambda: D.MarchenkoPastur(0.1), 2000, (1, 2)),
    "wigner": (lambda: D.Wigner(1.0), 2000, (1, 2)),
    "freelevy": (lambda: D.FreeLevy([2.0, 5.5], [0.75, 0.25], 0.1, 0.0, 0.4), 4000, (1, 4)),
    "cfp": (lambda: D.CompoundFreePoisson([2.0, 5.5], [0.75, 0.25], 0.1), 4000, (1, 3)),
    "dmp": (lambda: D.DeformedMarchenkoPastur([2.0, 5.5], [0.75, 0.25], 0.5), 2000, (2, 3)),
}


@functools.cache
def _law_sample(name):
    """Eigenvalues of a random principal M x M submatrix of an n x n sample, and the compressed law."""
    make, n, deg = LAWS[name]
    law = make()
    key_a, key_i = jax.random.split(jax.random.PRNGKey(sorted(LAWS).index(name)))
    a = np.asarray(law.sample_matrix(key_a, n))
    idx = np.sort(np.asarray(jax.random.choice(key_i, n, (M,), replace=False)))
    eigs = np.linalg.eigvalsh(a[np.ix_(idx, idx)])
    return eigs, law.decompress(M / n), deg


# ------------------------------------------------------------------------- data


def test_empirical_stieltjes_closed_form_and_padding():
    eigs = jnp.array([-1.0, 0.5, 2.0])
    z = jnp.array([1j, 2.0 + 0.5j, -3.0 + 0.1j])
    expected = np.mean(1.0 / (np.asarray(eigs)[None, :] - np.asarray(z)[:, None]), axis=1)
    assert np.allclose(empirical_stieltjes(eigs, z), expected, rtol=1e-14)
    # weights: zero-weight padding changes nothing, weights act as multiplicities
    padded = jnp.array([-1.0, 0.5, 2.0, 123.0, -7.0])
    assert np.allclose(empirical_stieltjes(padded, z, jnp.array([1.0, 1, 1, 0, 0])), expected, rtol=1e-14)
    doubled = empirical_stieltjes(eigs, z, jnp.array([2.0, 1.0, 1.0]))
    assert np.allclose(doubled, (2 / (-1 - z) + 1 / (0.5 - z) + 1 / (2 - z)) / 4, rtol=1e-14)
    # any shape of z, the lower half plane and real points away from the eigenvalues
    grid = jnp.array([[1j, -1j], [3.0 + 0j, -0.25 + 0j]])
    want = np.mean(1.0 / (np.asarray(eigs)[None, None, :] - np.asarray(grid)[..., None]), axis=-1)
    assert np.allclose(empirical_stieltjes(eigs, grid), want, rtol=1e-14)
    # a thousand eigenvalues spanning six decades, against a long-double sum
    lam = np.random.default_rng(0).lognormal(0.0, 3.0, 1000)
    pts = np.array([1e-3 + 1e-4j, 1.0 + 0.01j, 50.0 + 5j, -2.0 + 1e-3j])
    exact = [np.sum(1.0 / (lam.astype(np.clongdouble) - np.clongdouble(p))) / 1000 for p in pts]
    assert np.allclose(empirical_stieltjes(jnp.asarray(lam), jnp.asarray(pts)), np.asarray(exact, dtype=complex), rtol=1e-13)
    # derivative in the eigenvalues: d/d lambda_k = -w_k / (lambda_k - z)^2 / sum w
    g = jax.grad(lambda e: jnp.real(empirical_stieltjes(e, z[0])))(eigs)
    assert np.allclose(g, np.real(-1.0 / (np.asarray(eigs) - complex(z[0])) ** 2) / 3, rtol=1e-12)


def test_fit_points_follow_the_data():
    geom = PointGeometry()
    eigs = jnp.asarray(np.random.default_rng(0).uniform(-1.0, 2.0, 300))
    w = jnp.ones(300)
    z, pw = fit_points(eigs, w, False, geom)
    assert z.shape == (geom.n_points,) and pw.shape == (geom.n_points,)
    assert np.all(np.imag(z) > 0)
    assert 0.5 < float(jnp.mean(pw)) < 1.0  # only points hugging the ends are masked
    # affine equivariance: the geometry comes from the data, not from constants
    z2, pw2 = fit_points(3.0 * eigs + 100.0, w, False, geom)
    assert np.allclose(z2, 3.0 * z + 100.0, rtol=1e-12)
    assert np.array_equal(pw, pw2)
    # zero-weight entries are ignored
    z3, _ = fit_points(jnp.concatenate([eigs, jnp.array([50.0, -50.0])]), jnp.concatenate([w, jnp.zeros(2)]), False, geom)
    assert np.allclose(z3, z, rtol=1e-13)


def test_log_points_sample_every_decade_at_its_own_scale():
    eigs = jnp.asarray(10.0 ** np.random.default_rng(1).uniform(-6.0, 0.0, 2000))
    z, pw = fit_points(eigs, jnp.ones(2000), True, PointGeometry())
    z, pw = np.asarray(z), np.asarray(pw)
    assert np.all(np.imag(z) > 0)
    rel_height = np.imag(z) / np.abs(z)
    for decade in range(-6, 0):
        sel = (np.abs(z) >= 10.0**decade) & (np.abs(z) < 10.0 ** (decade + 1)) & (pw > 0)
        assert sel.sum() >= 20, decade
        # heights relative to the local scale cover the same range in every decade
        assert rel_height[sel].max() > 0.6 and rel_height[sel].min() < 0.4


# ------------------------------------------------------------------------- exact zeros


def test_zero_tolerance_tells_exact_zeros_from_a_tiny_bulk():
    """Rank-deficient PSD matrix with a bulk 1e-9 below the top: zeros are counted, the tiny bulk is not, at every nested size."""
    rng = np.random.default_rng(2)
    n, r_big, r_tiny = 600, 300, 150
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    s = np.concatenate([rng.uniform(1.0, 3.0, r_big), 1e-9 * rng.uniform(1.0, 10.0, r_tiny), np.zeros(n - r_big - r_tiny)])
    a = (q * s) @ q.T
    a = (a + a.T) / 2
    order = rng.permutation(n)
    for size in (n, 500, 460):
        idx = order[:size]
        lam = np.linalg.eigvalsh(a[np.ix_(idx, idx)])
        tol = float(zero_tolerance(lam))
        assert np.sum(np.abs(lam) <= tol) == size - r_big - r_tiny
        tiny = np.sort(np.abs(lam))[size - r_big - r_tiny : size - r_big]
        assert tiny.min() > 10 * tol and tiny.max() < 1e-7  # the tiny bulk survives, far above the threshold
    # float32 eigenvalues carry float32 precision: the threshold scales with the input's eps
    assert float(zero_tolerance(lam, eps=float(np.finfo(np.float32).eps))) > 1e8 * tol


# ------------------------------------------------------------------------- closed-form laws


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in ("cfp", "dmp", "freelevy") else n for n in sorted(LAWS)])
def test_fit_with_true_degrees(name):
    eigs, law, deg = _law_sample(name)
    curve, diag = fit_with_diagnostics(eigs, deg)
    l1 = _l1(curve, law)
    print(f"{name}: deg {deg} L1 {l1:.4f} mismatch {float(diag.mismatch):.2e} mass {float(diag.mass):.5f}")
    assert l1 <= 0.05
    assert bool(diag.valid)
    assert diag.deg == deg and float(curve.n0) == M
    # exact zeros are an atom of weight = their fraction, carried by the curve itself
    zeros = np.sum(np.abs(eigs) <= float(diag.zero_tolerance))
    assert float(diag.atom_weight) == zeros / M
    if name == "cfp":
        assert zeros > 0
        positions, weights = _atoms(curve)
        assert np.isclose(weights.sum(), zeros / M, rtol=1e-6)
        assert np.allclose(positions[weights > 0], 0.0, atol=1e-12)


_TIE = pytest.mark.xfail(
    strict=True,
    reason="issue 14, open: (3, 2) and (1, 4) both have at most 6 branch points and the tie goes to fewer sheets "
    "(which the NTK's (2, 2) over (1, 3) needs), so (3, 2) is refined first and valid (L1 0.048 against (1, 4)'s 0.006)",
)


@pytest.mark.slow
@pytest.mark.parametrize("name", [pytest.param(k, marks=_TIE) if k == "freelevy" else k for k in sorted(LAWS)])
def test_fit_with_automatic_degrees(name):
    eigs, law, deg = _law_sample(name)
    curve, diag = fit_with_diagnostics(eigs)
    l1 = _l1(curve, law)
    print(f"{name}: chosen {diag.deg} (true {deg}) L1 {l1:.4f}\n  {diag.reason}")
    assert l1 <= 0.08
    assert bool(diag.valid)
    assert diag.deg in [row[0] for row in diag.candidates] and "deg=None" in diag.reason
    if name == "freelevy":  # fewest branch points first: (1, 4) (6) before (2, 3) (8), which also passes (KS 0.056 at 8x)
        assert diag.deg == deg


@pytest.mark.slow
def test_matrix_input_validates_with_nested_submatrices():
    make, n, deg = LAWS["freelevy"]
    law = make()
    a = np.asarray(law.sample_matrix(jax.random.PRNGKey(7), n))[:M, :M]
    curve, diag = fit_with_diagnostics(a)
    assert float(curve.n0) == M
    assert "nested smaller spectra" in diag.reason
    assert bool(diag.valid)
    assert _l1(curve, law.decompress(M / n)) <= 0.08


def test_matrix_input_and_nested_sizes():
    law = D.Wigner(1.0)
    a = np.asarray(law.sample_matrix(jax.random.PRNGKey(3), 800))
    eigs = np.linalg.eigvalsh(a)
    c_matrix = fit(a, (1, 2)).coeffs
    c_eigs = fit(eigs, (1, 2)).coeffs
    assert np.allclose(c_matrix, c_eigs, atol=1e-12)
    # joint fit of nested sizes: the curve describes the largest, the smaller enter by compression
    small = np.linalg.eigvalsh(a[:400, :400])
    curve, diag = fit_with_diagnostics({400: small, 800: eigs}, (1, 2))
    assert float(curve.n0) == 800
    assert bool(diag.valid)
    assert _l1(curve, law) <= 0.05
    same = fit([(small, 400), (eigs, 800)], (1, 2))
    assert np.allclose(same.coeffs, curve.coeffs, atol=1e-12)


# ------------------------------------------------------------------------- real data


_ISLAND = pytest.mark.xfail(
    strict=True,
    reason="issue 14, open: the fitted (2, 2) curve has real branch points at 0.52851 and 0.52952, beyond the data "
    "(max 0.294), between which its density is negative (mass ~3e-6); the fit's check grid covers the data's range only",
)


@pytest.mark.slow
@pytest.mark.parametrize("size", [pytest.param(1024, marks=_ISLAND), 2048])
def test_ntk_automatic_degrees(size):
    eigs = load_ntk(size)
    curve, diag = fit_with_diagnostics(eigs)
    print(f"NTK n={size}: {diag.reason}")
    assert bool(diag.valid)
    lo, hi = eigs.min(), eigs.max()
    x = np.linspace(lo - 0.5 * (hi - lo), hi + 0.5 * (hi - lo), 8001)
    rho, status = _density(curve, x)
    assert np.all(status == 0)  # valid physical branch on the whole grid
    _, weights = _atoms(curve)
    assert abs(np.trapezoid(rho, x) + weights.sum() - 1.0) <= 1e-3


@pytest.mark.slow
@pytest.mark.parametrize("name", ["rbf_gram", "mlp_gauss_newton", "mlp_hessian", "random_feature_gram"])
def test_real_matrices_atoms_versus_tiny_bulks(name):
    realcases = pytest.importorskip("realcases")
    case = getattr(realcases, name)()
    # the full matrix: the zero test finds exactly the structural zeros
    assert np.sum(np.abs(case.eigenvalues) <= float(zero_tolerance(case.eigenvalues))) == case.n_structural_zeros
    nested = realcases.nested_submatrix_spectra(case.matrix, [M // 2, M], jax.random.PRNGKey(1))
    rank = case.n - case.n_structural_zeros
    counts = {}
    for size, lam in nested.items():
        tol = float(zero_tolerance(lam))
        counts[size] = int(np.sum(np.abs(lam) <= tol))
        assert counts[size] >= max(size - rank, 0)  # rank bound
        if name in ("rbf_gram", "random_feature_gram"):  # Gram matrix of generic points: exactly the rank count
            assert counts[size] == max(size - rank, 0)
        nonzero = np.abs(lam[np.abs(lam) > tol])
        assert nonzero.min() > 10 * tol  # zeros and the rest are clearly separated
        if case.tiny_bulk:  # a bulk of tiny eigenvalues over > 3 decades, not counted as zeros
            assert nonzero.max() > 1e3 * nonzero.min()
    # nested consistency (Cauchy interlacing): adding k rows/columns changes the zero count by at most k
    assert abs(counts[M] - counts[M // 2]) <= M - M // 2
    sub, zeros = nested[M], counts[M]
    if name == "random_feature_gram":
        return  # 10.6 decades: see the issue notes, no valid low-degree curve yet
    curve, diag = fit_with_diagnostics(sub)
    print(f"{name}: {diag.deg} log={bool(diag.log)} atom {float(diag.atom_weight):.3f} mass {float(diag.mass):.5f}")
    assert float(diag.atom_weight) == zeros / M
    assert bool(diag.log) == (case.psd and case.tiny_bulk)
    assert bool(diag.valid)


# ------------------------------------------------------------------------- transformations


def test_vmap_equals_separate_fits_ragged_batch_included():
    """4 spectra stacked into (4, 200) arrays, the last one with 150 eigenvalues padded by zero weights."""
    law = D.MarchenkoPastur(0.5)
    keys = jax.random.split(jax.random.PRNGKey(4), 4)
    spectra = [jnp.linalg.eigvalsh(law.sample_matrix(k, 200 if i < 3 else 150)) for i, k in enumerate(keys)]
    eigs = jnp.stack(spectra[:3] + [jnp.concatenate([spectra[3], jnp.zeros(50)])])
    weights = jnp.ones((4, 200)).at[3, 150:].set(0.0)
    batched = jax.vmap(lambda e, w: fit(e, (1, 2), weights=w))(eigs, weights)
    separate = jnp.stack([fit(e, (1, 2)).coeffs for e in spectra])
    assert np.max(np.abs(batched.coeffs - separate)) <= 1e-12  # each lane lands on its own minimiser
    assert np.array_equal(batched.n0, [200.0] * 3 + [150.0])


def test_the_degree_choice_does_not_recompile_the_fit():
    """The fields of the degree choice (max degrees, plateau, tries, seed) are plain Python: a fit of
    given degrees with other values of them reuses the compiled data, fit and scoring programs and
    gives the same bits."""
    eigs = np.linalg.eigvalsh(np.random.default_rng(7).standard_normal((120, 240)) @ np.random.default_rng(8).standard_normal((240, 120)) / 240)
    first = fit(eigs, (1, 2))
    other = fdj.FitConfig(max_deg_z=2, max_deg_m=3, plateau_factor=5.0, max_tries=1, seed=3)
    with jax.log_compiles(), _compile_log() as names:
        again = fit(eigs, (1, 2), config=other)
    assert not [name for name in names if "_fit_core" in name or "_spectrum_data" in name], names
    np.testing.assert_array_equal(np.asarray(again.coeffs), np.asarray(first.coeffs))
    assert other.compiled() == fdj.FitConfig()


class _compile_log(logging.Handler):
    """The messages JAX logs while the block runs (with `jax.log_compiles()`: one per program compiled)."""

    def __enter__(self):
        self.names: list[str] = []
        logging.getLogger("jax").addHandler(self)
        return self.names

    def __exit__(self, *exc):
        logging.getLogger("jax").removeHandler(self)

    def emit(self, record):
        self.names.append(record.getMessage())


@pytest.mark.parametrize("name", ["atom", "linear", "log"])
def test_candidates_padded_to_the_largest_degrees_keep_their_closed_forms(name):
    # automatic degrees score every candidate in one program, each padded with zero coefficients to
    # the largest degrees: the padded start of each degree pair must be the start that the fit of
    # those degrees alone computes (`_build_problem`), to rounding amplified by the singular-value gap
    # (8e-9 measured on laws, the NTK and a log-mode spectrum), its padding exactly 0
    g = np.random.default_rng(1).standard_normal((300, 120 if name == "atom" else 600))
    eigs = np.geomspace(1e-4, 10.0, 600) if name == "log" else np.linalg.eigvalsh(g @ g.T / g.shape[1])
    config = fdj.FitConfig()
    data = _spectrum_data(jnp.asarray(eigs), jnp.ones(len(eigs)), None, float(np.finfo(np.float64).eps), config)
    assert bool(data.log) == (name == "log") and (float(data.w0) > 0) == (name == "atom")  # both constraint kinds
    degrees = ((1, 2), (2, 3), (1, 5), (3, 2))
    padded = np.asarray(jax.jit(_closed_forms, static_argnums=(1, 2))(data, degrees, config))
    for k, (L, K) in enumerate(degrees):
        problem, b0 = jax.jit(lambda d, deg=(L, K): _build_problem(d, (), deg, config)[:2])(data)
        want = np.asarray(problem.scaled(b0))
        got = padded[k, : L + 1, : K + 1]
        assert np.all(padded[k, L + 1 :] == 0) and np.all(padded[k, :, K + 1 :] == 0)
        want, got = want / np.linalg.norm(want), got / np.linalg.norm(got)
        np.testing.assert_allclose(got * np.sign(np.sum(got * want)), want, rtol=0, atol=1e-6)


def _start(e, deg, config):
    """(problem, closed-form start, its tracked branch and status), traceable."""
    data = _spectrum_data(e, jnp.ones_like(e), None, float(np.finfo(np.float64).eps), config)
    problem, b0, _ = _build_problem(data, (), deg, config)
    return (problem, b0) + _tracked(_Coefficients(b0).raw(problem), problem, config)


def _refined(eigs, deg, config):
    """The refinement's end point, its Newton step (gradient and Hessian of the loss there) and the losses at start and end."""
    @jax.jit
    def run(e):
        problem, b0, m_start, status = _start(e, deg, config)
        b, _, _ = _refine(b0, m_start, status, problem, config)
        m_end, _ = _tracked(_Coefficients(b).raw(problem), problem, config)  # tracked afresh
        g, h = _newton_system(b, m_end, problem, problem, config)
        losses = (_loss_terms(b0, m_start, problem, config)[0], _loss_terms(b, m_end, problem, config)[0])
        return b, jnp.linalg.solve(h, g), losses

    return run(jnp.asarray(eigs))


def test_the_refinement_ends_at_a_stationary_point_below_its_start():
    # the end point is the minimiser: the Newton step of the loss there (exact gradient and Hessian,
    # tracked branch) is at the rounding level, and the loss (branch re-tracked) is below the start
    eigs, _, deg = _law_sample("mp")
    b, step, (start, end) = _refined(eigs, deg, fdj.FitConfig())
    assert float(jnp.linalg.norm(step)) <= 1e-12 * float(jnp.linalg.norm(b))
    assert float(end) < float(start)


def test_the_branch_carried_between_steps_is_the_tracked_one():
    # each refinement step carries the branch from the last one by Newton in the coefficients
    # (`_carried`); against the tracker from infinity at the new coefficients: the same branch for a
    # step of 1e-3 from the closed-form start, for a curve 30% off (where the carry is in doubt and
    # the tracker decides) and when asked fresh (the last step)
    eigs, _, deg = _law_sample("mp")
    config = fdj.FitConfig()
    rng = np.random.default_rng(0)
    step = jnp.asarray(rng.standard_normal(2 * 3))
    wiggle = jnp.asarray(rng.uniform(0.7, 1.3, size=(2, 3)))

    @jax.jit
    def run(e):
        problem, b0, m0, s0 = _start(e, deg, config)
        near = _Coefficients(b0 + 1e-3 * problem.proj @ step).raw(problem)
        far = _Coefficients(b0).raw(problem) * wiggle
        return [(_carried(c, m0, s0, problem, config, fresh=f), _tracked(c, problem, config)) for c, f in ((near, False), (far, False), (near, True))]

    for (m_carried, s_carried), (m_tracked, s_tracked) in run(jnp.asarray(eigs)):
        np.testing.assert_array_equal(np.asarray(s_carried), np.asarray(s_tracked))
        ok = np.asarray(s_tracked) == 0
        np.testing.assert_allclose(np.asarray(m_carried)[ok], np.asarray(m_tracked)[ok], rtol=1e-10)


def test_points_inside_the_atom_do_not_decide_the_refinement():
    # a Wishart spectrum (400 rows, 1200 features) with 200 exact zeros: the check grid resolves 0
    # down to the zero tolerance, so some of its points lie inside the atom, where m(x) ~ -w0/x is
    # ~1e12 and whether the tracker's last Newton step converges is a matter of the last bits. Those
    # points are left out of the failure count and the mass: the refinement is kept, with no failed
    # point and unit mass (the tracker flagged one of them and its mass 0.74 sent this fit back to its
    # start, loss 1.5e-6 instead of 6.7e-7, when the tracker's rounding changed)
    x = np.random.default_rng(2).standard_normal((400, 1200))
    eigs = np.concatenate([np.linalg.eigvalsh(x @ x.T / 1200), np.zeros(200)])
    curve, diag = fit_with_diagnostics(eigs, (2, 2))
    base = _spectrum_data(jnp.asarray(eigs), jnp.ones(600), None, float(np.finfo(np.float64).eps), fdj.FitConfig())
    assert np.sum(np.abs(np.asarray(base.check)) <= float(base.tol0)) > 0  # the grid reaches inside the atom
    assert bool(diag.refined) and float(diag.loss) < 0.5 * float(diag.loss_start)
    assert int(diag.branch_failures) == 0 and abs(float(diag.mass) - 1.0) <= 1e-3
    positions, weights = _atoms(curve)
    assert np.isclose(weights.sum(), 1 / 3, rtol=1e-6)


@pytest.mark.slow
def test_the_refinement_lands_on_the_minimiser_whatever_the_path():
    # L-BFGS handing over early or late, or Newton alone from the start: the same coefficients
    eigs, _, deg = _law_sample("mp")
    ends = [_refined(eigs, deg, cfg)[0] for cfg in (fdj.FitConfig(), fdj.FitConfig(handoff=1e-4), fdj.FitConfig(steps=0, polish=40))]
    for b in ends[1:]:
        assert float(jnp.max(jnp.abs(b - ends[0]))) <= 1e-12


@pytest.mark.slow
def test_grad_matches_finite_differences():
    eigs = jnp.linalg.eigvalsh(D.MarchenkoPastur(0.5).sample_matrix(jax.random.PRNGKey(8), 200))
    x = jnp.linspace(0.2, 2.0, 7)

    @jax.jit
    def scalar(e):
        return jnp.sum(fit(e, (1, 2)).density(x) * jnp.arange(1.0, 8.0))

    grad = jax.jit(jax.grad(scalar))(eigs)
    for k in (3, 100, 190):
        h = 1e-6 * abs(float(eigs[k]))
        fd = (scalar(eigs.at[k].add(h)) - scalar(eigs.at[k].add(-h))) / (2 * h)
        assert abs(float(grad[k]) - float(fd)) <= 1e-4 * abs(float(fd))


# ------------------------------------------------------------------------- bad input


def _good():
    return np.linspace(0.5, 2.0, 200)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(eigs=np.array([1.0, np.nan] + [1.5] * 100)), "NaN or inf"),
        (dict(eigs=np.array([1.0, np.inf] + [1.5] * 100)), "NaN or inf"),
        (dict(eigs=np.linspace(0.5, 2.0, 30), deg=(2, 3)), "too few"),
        (dict(eigs=np.triu(np.ones((50, 50)))), "not symmetric"),
        (dict(eigs=np.linspace(0.5, 2.0, 200) + 0.1j), "complex"),
        (dict(eigs=np.linspace(-1.0, 2.0, 200), log=True), "log=True"),
        (dict(eigs=np.ones(200)), "distinct"),
        (dict(eigs=np.ones((3, 4))), "square"),
        (dict(eigs=_good(), deg=(1, 1)), "deg_m >= 2"),
        (dict(eigs=_good(), deg=(1, 2), weights=np.ones(10)), "weights"),
        (dict(eigs=_good(), deg=(1, 2), n0=0.5), "n0"),
        (dict(eigs=np.eye(40) + 0.1, n0=7), "n0"),
    ],
)
def test_bad_input_raises_with_advice(kwargs, match):
    kwargs.setdefault("deg", (1, 2))
    with pytest.raises(ValueError, match=match):
        fit(**kwargs)


def test_float32_needs_x64_and_is_upcast():
    eigs32 = np.linspace(0.5, 2.0, 200, dtype=np.float32)
    jax.config.update("jax_enable_x64", False)
    try:
        with pytest.raises(ValueError, match="jax_enable_x64"):
            fit(eigs32, (1, 2))
    finally:
        jax.config.update("jax_enable_x64", True)
    _, diag = fit_with_diagnostics(eigs32, (1, 2))
    assert float(diag.zero_tolerance) == pytest.approx(200 * np.finfo(np.float32).eps * 2.0)


def test_constraint_projector_keeps_rows_in_priority_order():
    # against NumPy's null space (SVD): independent rows, a dependent row, a row over the rank cap
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(3, 6))
    proj = np.asarray(_null_space_projector(jnp.asarray(rows), jnp.ones(3, dtype=bool), 5))
    null = np.linalg.svd(rows)[2][3:].T
    np.testing.assert_allclose(proj, null @ null.T, atol=1e-12)
    dependent = np.vstack([rows, rows[0] + 2 * rows[1]])  # adds nothing
    proj_dep = np.asarray(_null_space_projector(jnp.asarray(dependent), jnp.ones(4, dtype=bool), 5))
    np.testing.assert_allclose(proj_dep, proj, atol=1e-12)
    inactive = np.asarray(_null_space_projector(jnp.asarray(rows), jnp.array([True, False, True]), 5))
    null2 = np.linalg.svd(rows[[0, 2]])[2][2:].T
    np.testing.assert_allclose(inactive, null2 @ null2.T, atol=1e-12)
    # six independent rows for six unknowns: the sixth is left out, the first five are met exactly
    full = rng.normal(size=(6, 6))
    capped = np.asarray(_null_space_projector(jnp.asarray(full), jnp.ones(6, dtype=bool), 5))
    assert np.linalg.matrix_rank(capped, tol=1e-9) == 1
    np.testing.assert_allclose(full[:5] @ capped, 0.0, atol=1e-12)
    assert np.linalg.norm(full[5] @ capped) > 1e-3
