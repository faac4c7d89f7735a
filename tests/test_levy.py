"""`LevyKhintchine` and `fit_levy`: closed-form free Levy laws, nested spectra spanning decades, jit/vmap/grad."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import freedecomp_jax as fdj
from freedecomp_jax import distributions as D
from freedecomp_jax._goodness import kolmogorov_bound
from freedecomp_jax._levy_grid import levy_grid
from freedecomp_jax._metrics import best_baseline_ks, ks_distance, rescaled_baseline


def _as_levy(law: D.FreeLevy, n0=1.0):
    return fdj.LevyKhintchine(law.a, law.sigma**2, law.lam * law.w, law.t, n0)


LAWS = [
    D.FreeLevy([1.0], [1.0], 2.0),  # Marchenko-Pastur
    D.FreeLevy([2.0, 5.5], [0.75, 0.25], 0.4),  # compound free Poisson with an atom of 0.6
    D.FreeLevy([2.0, 5.5], [0.75, 0.25], 0.1, 0.0, 0.4),  # 1 bulk -> 3 bulks by tau = 4
    D.FreeLevy([0.5, 3.0], [0.5, 0.5], 0.7, -1.0, 0.3),
]


@pytest.mark.parametrize("law", LAWS)
@pytest.mark.parametrize("tau", [1.0, 4.0, 64.0])
def test_density_atoms_and_moments_of_closed_form_laws(law, tau):
    target = law.decompress(tau)
    lk = _as_levy(law).evolve(np.log(tau))
    sup = np.asarray(target.support())
    x = np.linspace(sup.min() - 0.1, sup.max() + 0.1, 801)
    x = x[np.abs(x - float(law.a)) > 1e-9]  # the atom's position
    np.testing.assert_allclose(lk.density(x), target.density(x), atol=1e-8 * float(np.max(target.density(x))))
    pos, w = (a[0] for a in lk.atoms())
    want = target.atoms()[1]
    assert abs(float(w) - (float(want[0]) if want.size else 0.0)) <= 1e-12
    np.testing.assert_allclose(lk.moments(6), target.curve().moments(6), rtol=1e-10)


def test_stieltjes_solves_the_inverse_off_the_axis():
    lk = _as_levy(LAWS[2])
    z = np.array([0.3 + 0.01j, 2.0 + 1e-6j, -5.0 + 3.0j, 40.0 + 0.5j])
    m = lk.stieltjes(z)
    assert np.all(np.imag(m) > 0)
    np.testing.assert_allclose(lk.inverse(m), z, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(m, LAWS[2].stieltjes(z), rtol=1e-9)


def test_decompress_a_levy_law_equals_the_closed_form():
    law = LAWS[1]
    n0, tau = 500.0, 8.0
    target = law.decompress(tau)
    sup = np.asarray(target.support())
    x = np.linspace(1e-3, sup.max() + 1.0, 1500)
    spec = fdj.decompress(_as_levy(law, n0), x, tau * n0)
    assert np.all(np.asarray(spec.result == fdj.RESULTS.successful))
    np.testing.assert_allclose(spec.density, target.density(x), atol=1e-8)
    assert abs(float(spec.atoms[1][0]) - (1 - (1 - 0.6) / tau)) <= 1e-12
    assert np.all(np.abs(np.asarray(spec.moment_errors())) <= 1e-3)
    np.testing.assert_allclose(spec.support(), sup, atol=1e-8)


def _haar_submatrix(lam, m, seed):
    """Eigenvalues of an m x m principal submatrix of U diag(lam) U^T, U Haar (its first m rows)."""
    n = lam.size
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, m)))
    q = q * np.sign(np.diag(r))
    return np.linalg.eigvalsh((q.T * lam) @ q)


def _w1(pred, true):
    return float(np.mean(np.abs(np.sort(pred) - np.sort(true))) / np.std(true))


@pytest.mark.slow
def test_nested_spectrum_spanning_four_decades():
    """Fit at m = 500 a spectrum spanning four decades (log-uniform quantiles on [1e-3, 10]),
    predict n = 4000, against the true spectrum. The 15% of the mass below 0.004 is washed into the
    bulk by the compression to m (the smallest of the m eigenvalues is 0.19): the prediction puts it
    in an atom at 0, so the KS distance is large below 0.01; it must still beat every baseline.
    The algebraic curve has no valid fit here."""
    n, m = 4000, 500
    lam = np.exp(np.linspace(np.log(1e-3), np.log(10.0), n))
    small = _haar_submatrix(lam, m, 0)
    law = fdj.fit_levy(small)
    assert float(law.n0) == m
    spec = fdj.decompress(law, law.grid(fdj.Free(), n, 1024), n)
    pred = np.asarray(spec.eigvalsh())
    base = rescaled_baseline(small, m, n)
    print(f"KS {ks_distance(pred, lam):.4f} (rescaled {ks_distance(base, lam):.4f}), W1/std {_w1(pred, lam):.4f} (rescaled {_w1(base, lam):.4f})")
    upper = lam[lam >= 0.01]
    assert np.max(np.abs(np.asarray(spec.cdf(upper)) - np.searchsorted(lam, upper, side="right") / n)) <= 0.08
    assert _w1(pred, lam) < _w1(base, lam) / 4
    assert ks_distance(pred, lam) < best_baseline_ks(small, m, n, lam) / 2


def test_compound_free_poisson_sample_spanning_five_decades(getkey):
    """A compound free Poisson matrix with jumps 1e-3 ... 10 (n = 2000): fit a random 250 x 250
    principal submatrix, predict n; a win over every baseline (KS below a third of the best)."""
    law0 = D.FreeLevy([1e-3, 1e-2, 1e-1, 1.0, 10.0], [0.2] * 5, 3.0)
    a = np.asarray(law0.sample_matrix(jax.random.PRNGKey(0), 2000))
    full = np.linalg.eigvalsh(a)
    idx = np.random.default_rng(0).permutation(2000)[:250]
    small = np.linalg.eigvalsh(a[np.ix_(idx, idx)])
    law = fdj.fit_levy(small)
    pred = np.asarray(fdj.decompress(law, law.grid(fdj.Free(), 2000, 1024), 2000).eigvalsh())
    ks, ks_base = ks_distance(pred, full), ks_distance(rescaled_baseline(small, 250, 2000), full)
    print(f"KS {ks:.4f}, rescaled {ks_base:.4f}")
    assert ks < best_baseline_ks(small, 250, 2000, full) / 3 and ks < ks_base / 3


@pytest.mark.slow
def test_predict_falls_back_to_the_levy_model():
    """The random-feature Gram matrix of realcases.py (six decades, an atom born by size n): no
    candidate curve passes predict's check, so kind="free" falls back to the Levy-Khintchine model."""
    from realcases import ALL_CASES

    case = ALL_CASES["random_feature_gram"](seed=0)
    n = case.n
    m = n // 8
    idx = np.asarray(jax.random.permutation(jax.random.PRNGKey(0), n))[:m]
    sub = case.matrix[np.ix_(idx, idx)]
    spec = fdj.predict(sub, n, fit_config=fdj.FitConfig(max_deg_z=2, max_deg_m=3, max_tries=1))  # few candidates: faster
    assert isinstance(spec.law, fdj.LevyKhintchine)
    assert np.all(np.abs(np.asarray(spec.moment_errors())) <= 1e-2) and abs(float(spec.mass()) - 1) <= 1e-2
    small = np.linalg.eigvalsh(sub)
    snap = lambda e: np.where(np.abs(e) <= case.zero_tol, 0.0, np.asarray(e))  # noqa: E731
    ks = ks_distance(snap(spec.eigvalsh()), snap(case.eigenvalues))
    assert ks < ks_distance(snap(rescaled_baseline(small, m, n)), snap(case.eigenvalues))
    edges = spec.edges([n])[0]
    np.testing.assert_allclose(edges, spec.support(), rtol=1e-6)


def test_total_rate_kept_where_the_data_fix_it():
    """Marchenko-Pastur with ratio 1/2 at m = 400: doubling the total rate breaks the fit, so the
    unconstrained one is kept, and the atom born by tau = 8 (weight 0.75) is predicted."""
    m = 400
    x = np.random.default_rng(3).standard_normal((m, 2 * m))
    small = np.linalg.eigvalsh(x @ x.T / (2 * m))
    law = fdj.fit_levy(small)
    free = fdj.fit_levy(small, config=fdj.LevyConfig(rate_steps=0))
    np.testing.assert_allclose(law.rates, free.rates)
    assert abs(float(law.moments(1)[1]) - np.mean(small)) <= 1e-6 * np.mean(small)
    assert abs(float(law.evolve(np.log(8.0)).atoms()[1][0]) - 0.75) <= 0.1


def _cfp_sample(seed):
    """400 eigenvalues of a compound free Poisson matrix (jumps 1 and 4, rate 2): positive, two bulks."""
    law = D.CompoundFreePoisson([1.0, 4.0], [0.5, 0.5], 2.0)
    return np.linalg.eigvalsh(np.asarray(law.sample_matrix(jax.random.PRNGKey(seed), 400)))


@pytest.mark.parametrize("spectrum, signed", [("cfp", False), ("two_bulks", True)])
def test_the_rate_ladder_imposes_its_rates_and_the_fit_keeps_the_last_on_the_plateau(spectrum, signed):
    """`_rate_ladder`: no imposed rate fits better than the unconstrained least squares (a constrained
    problem cannot), each imposed total rate is $R^*2^j$ (to 1e-5: a penalty row of weight 1e2), and
    `fit_levy` returns the largest step whose residual is within `rate_tolerance` of the unconstrained one."""
    import equinox as eqx

    from freedecomp_jax._levy_fit import _rate_ladder, _zero_snap

    lam = jnp.asarray(_cfp_sample(0) if spectrum == "cfp" else _two_bulks(0))
    w = jnp.ones_like(lam)
    config = fdj.LevyConfig()
    jumps, drift, variance, rates, res = (np.asarray(v) for v in eqx.filter_jit(_rate_ladder)(_zero_snap(lam, w), w, signed, config))
    assert rates.shape == (config.rate_steps + 1, jumps.shape[0]) and np.all(rates >= 0)
    assert np.all(res[1:] >= res[0] * (1 - 1e-12))
    total = rates.sum(axis=1)
    np.testing.assert_allclose(total[1:], total[0] * 2.0 ** np.arange(1, config.rate_steps + 1), rtol=1e-5)
    kept = int(np.max(np.nonzero(res <= config.rate_tolerance * res[0])[0]))
    law = fdj.fit_levy(np.asarray(lam), signed=signed)
    np.testing.assert_allclose(law.rates, rates[kept], rtol=0, atol=1e-12 * rates[kept].max())
    np.testing.assert_allclose([law.drift, law.variance], [drift[kept], variance[kept]], rtol=0, atol=1e-12 * max(1.0, abs(drift[kept])))


@pytest.mark.slow
def test_total_rate_raised_on_the_plateau():
    """The RBF Gram matrix of realcases.py: its fit stays on a plateau for total rates 2.5 to 16
    (no atom at n), so the rule takes a larger rate than the unconstrained fit's."""
    from realcases import ALL_CASES

    case = ALL_CASES["rbf_gram"](seed=0)
    m = case.n // 8
    idx = np.asarray(jax.random.permutation(jax.random.PRNGKey(0), case.n))[:m]
    small = np.linalg.eigvalsh(case.matrix[np.ix_(idx, idx)])
    law = fdj.fit_levy(small)
    free = fdj.fit_levy(small, config=fdj.LevyConfig(rate_steps=0))
    assert float(jnp.sum(law.rates)) >= 2 * float(jnp.sum(free.rates))
    assert float(law.evolve(np.log(case.n / m)).atoms()[1][0]) <= 0.05 < float(free.evolve(np.log(case.n / m)).atoms()[1][0])


def _two_bulks(seed):
    """A 500 x 500 principal submatrix of diag(t) + W (n = 4000): two bulks on both signs."""
    a = np.asarray(D.DeformedWigner([-1.0, 1.5], [0.5, 0.5], 0.5).sample_matrix(jax.random.PRNGKey(seed), 4000))
    idx = np.random.default_rng(seed).choice(4000, 500, replace=False)
    return np.linalg.eigvalsh(a[np.ix_(idx, idx)])


def _far_from_zero(seed):
    """A positive definite spectrum in [0.6, 1.4], far from 0: 1 + a Wigner matrix of radius 0.4."""
    return 1.0 + np.linalg.eigvalsh(np.asarray(D.Wigner(0.4).sample_matrix(jax.random.PRNGKey(seed), 400)))


def _gram_with_zeros(seed):
    """X X^T / 800 of 400 rows and 200 features: half the eigenvalues exactly 0."""
    x = np.random.default_rng(seed).standard_normal((400, 200))
    return np.linalg.eigvalsh(x @ x.T / 800)


# Measured 2026-12-07 on an Intel Xeon (2 cores; the test passed on the AMD EPYC machines before): the traced fit of
# the Wigner spectrum below put a rate of 364 on the jump at -x0 (x0 = 3e-4, the smallest jump) where the concrete fit
# put it on +x0, the drift making up the difference; their predictions at 8 m differed by 3.2 in density (of a maximum
# of 9.4). Since the fit keeps the third and fourth free cumulants (2026-12-08) both laws are a semicircle at 8 m (KS
# 0.004 against the full matrix: the test below), yet the rates of the smallest jumps, which carry it like s does, are
# still not identified: 5 of 128 rates differ by up to 0.87, the densities at 8 m by 2e-5 of a maximum of 0.235. Issue 14.
@pytest.mark.xfail(strict=False, reason="the signed fit's rates at the jumps nearest 0 are not identified; rounding (the CPU) picks them")
def test_an_indefinite_fit_describes_its_own_eigenvalues():
    """A Wigner matrix of 250 rows: its eigenvalue nearest 0 lies below the spacing there (pi/250), where the
    empirical transform at the fit's heights is that one eigenvalue's pole, not the law. The fit's points
    start at the 4th smallest |eigenvalue| (`_levy_fit._resolved`), and the law at m describes the
    eigenvalues it was fitted to: unit mass and a KS distance within the Dvoretzky-Kiefer-Wolfowitz bound
    (0.123) that 250 independent samples of the true law would keep (eigenvalues, which repel, keep far
    less). Seed 0 reads 0.052 (seeds 0-5: 0.024-0.052); with the points from a decade below the smallest
    |eigenvalue|, 0.420 (0.16-0.42)."""
    eigs = np.linalg.eigvalsh(np.asarray(D.Wigner(1.0).sample_matrix(jax.random.PRNGKey(0), 250)))
    law = fdj.fit_levy(eigs)
    at_m = fdj.decompress(law, law.grid(fdj.Free(), 250, 1024), 250)
    assert abs(float(at_m.mass()) - 1.0) < 1e-2
    assert ks_distance(np.asarray(at_m.eigvalsh(250)), eigs) <= kolmogorov_bound(np.ones(250))
    # under jit and vmap, with the mirrored spectrum beside it: the same law, and its mirror image
    batched = jax.jit(jax.vmap(lambda e: fdj.fit_levy(e, signed=True)))(np.stack([eigs, -eigs[::-1]]))
    np.testing.assert_allclose(batched.rates[0], law.rates, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(batched.rates[1], law.rates[::-1], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("seed", [0, 1])
def test_an_indefinite_fit_keeps_four_free_cumulants_and_decompresses_a_wigner_matrix(seed):
    """A 250 x 250 principal submatrix of a 2000 x 2000 Wigner matrix (independent truth: the full matrix's
    eigenvalues). The signed fit keeps the data's third and fourth free cumulants (numpy's central moments:
    $\kappa_3 = c_3$, $\kappa_4 = c_4 - 2c_2^2$, at least $\kappa_3^2/\kappa_2$), so the semicircle is not traded for small jumps of both signs,
    and the law at 2000 is within the Dvoretzky-Kiefer-Wolfowitz bound of the full spectrum. Before those two rows
    the fit put the semicircle on jumps (s = 0) and missed by KS 0.389 and 0.062 (seeds 0, 1); with them 0.004."""
    full = np.asarray(D.Wigner(1.0).sample_matrix(jax.random.PRNGKey(seed), 2000))
    idx = np.random.default_rng(seed).choice(2000, 250, replace=False)
    eigs = np.linalg.eigvalsh(full[np.ix_(idx, idx)])
    law = fdj.fit_levy(eigs)
    c = eigs - eigs.mean()
    c2, c3, c4 = (np.mean(c**j) for j in (2, 3, 4))
    kappa = np.asarray(law.cumulants(4))
    assert abs(kappa[2] - c3) <= 1e-3 * c2**1.5
    # a free infinitely divisible law has kappa_2 kappa_4 >= kappa_3^2 (moments of a positive measure); the sample's
    # kappa_4 is a little below that (a Wigner law's is 0), so the fit keeps the nearest it can
    assert abs(kappa[3] - max(c4 - 2 * c2**2, c3**2 / c2)) <= 1e-3 * c2**2
    at_n = fdj.decompress(law, law.grid(fdj.Free(), 2000, 1024), 2000)
    assert ks_distance(np.asarray(at_n.eigvalsh(2000)), np.linalg.eigvalsh(full)) <= kolmogorov_bound(np.ones(2000))


@pytest.mark.parametrize("spectrum", [_two_bulks, _far_from_zero, _gram_with_zeros])
@pytest.mark.parametrize("seed", [0, 1])
def test_the_fit_keeps_the_mean_and_the_variance_of_the_data(spectrum, seed):
    """The law's first two cumulants are those of the eigenvalues it was fitted to (numpy's mean and
    variance), so free decompression gives the data's own mean and variance at every size. Without
    the variance row, jumps a decade beyond the data with small rates carried a variance the data do
    not have (the two bulks: 100x the data's); with jumps only down to a decade below the smallest
    eigenvalue, a positive spectrum far from 0 could not keep both (kappa_2 >= kappa_1 min x_k)."""
    eigs = spectrum(seed)
    law = fdj.fit_levy(eigs)
    mean, central = law.exact_moments(fdj.Free(), 0.0, 2)
    # a tenth of the standard units in which predict's check rejects a law's moments (1e-2)
    assert abs(float(mean) - np.mean(eigs)) <= 1e-3 * np.std(eigs)
    assert abs(float(central[2]) / np.var(eigs) - 1.0) <= 1e-3


def test_jit_vmap_grad():
    rng = np.random.default_rng(0)
    batch = np.stack([np.sort(np.exp(rng.uniform(-4, 1, 200))) for _ in range(3)])
    eager = [fdj.fit_levy(e) for e in batch]
    batched = jax.jit(jax.vmap(lambda e: fdj.fit_levy(e, 200, signed=False)))(batch)
    for k in range(3):
        np.testing.assert_allclose(batched.rates[k], eager[k].rates, rtol=1e-8, atol=1e-12)
    # the recipe of docs/concepts.md: each law on its own grid (static size, built under jit) at n
    decomp = jax.jit(lambda law: (g := law.grid(fdj.Free(), 1600.0, 64), fdj.decompress(law, g, 1600.0).density))
    grids, dens = jax.vmap(decomp)(batched)
    grid = np.asarray(eager[1].grid(fdj.Free(), 1600.0, 64))
    np.testing.assert_allclose(grids[1], grid, rtol=1e-7)
    np.testing.assert_allclose(dens[1], fdj.decompress(eager[1], jnp.asarray(grid), 1600.0).density, rtol=1e-7, atol=1e-10)
    x = jnp.geomspace(1e-3, 30.0, 64)

    def scalar(e):  # a smooth functional of the predicted law: its density against a weight
        law = fdj.fit_levy(e, 200, signed=False)
        return jnp.sum(fdj.decompress(law, x, 1600.0).density * jnp.exp(-x))

    g = jax.grad(scalar)(jnp.asarray(batch[0]))
    v = rng.standard_normal(200)
    h = 1e-6
    fd = (scalar(batch[0] + h * v) - scalar(batch[0] - h * v)) / (2 * h)
    np.testing.assert_allclose(float(g @ v), float(fd), rtol=1e-3)


# ---------------------------------------------------------------- diagonal profile (scales)
@pytest.mark.parametrize("tau", [1.0, 8.0])
def test_scaled_law_is_the_deformed_marchenko_pastur_law(tau):
    # D^1/2 W D^1/2 with W Wishart of ratio c (Levy: rate 1/c, jump c), D half 1, half 4: H [x] MP_c.
    # Free decompression of W with D kept is deformed decompression (c -> tau c) of the closed form.
    c = 0.5
    law = fdj.LevyKhintchine(0.0, 0.0, [1 / c], [c], 100, scales=[1.0, 4.0]).evolve(np.log(tau))
    target = D.DeformedMarchenkoPastur([1.0, 4.0], [0.5, 0.5], c * tau)
    sup = np.asarray(target.support())
    x = np.linspace(1e-3, sup.max() + 0.5, 701)
    want = np.asarray(target.density(x))
    np.testing.assert_allclose(law.density(x), want, atol=1e-7 * want.max())
    weight = float(target.atoms()[1][0]) if target.atoms()[1].size else 0.0
    assert abs(float(law.atoms()[1][0]) - weight) <= 1e-12
    np.testing.assert_allclose(law.moments(6), target.curve().moments(6), rtol=1e-9)


def test_grids_of_any_length_within_a_chunk_share_one_compiled_solve():
    # the solve pads a grid to whole chunks of its height ladder: grids of 300 and 437 points compile one
    # program, and each point is the closed form's (MP of ratio 1/2 as a Levy law: one jump, rate 2)
    from freedecomp_jax._levy import _solve_grid

    law = fdj.LevyKhintchine(0.0, 0.0, [2.0], [0.5], 100)
    target = D.MarchenkoPastur(0.5)
    before = None
    for size in (300, 437):
        x = np.linspace(0.05, 3.2, size)
        spec = fdj.Spectrum.solve(law, fdj.Free(), jnp.asarray(x), 100.0)
        if before is None:
            before = _solve_grid._cached._cache_size()  # pyright: ignore[reportAttributeAccessIssue]
        assert spec.density.shape == (size,) and np.all(np.asarray(spec.result == fdj.RESULTS.successful))
        want = np.asarray(target.density(x))
        np.testing.assert_allclose(spec.density, want, atol=1e-9 * want.max())
    assert _solve_grid._cached._cache_size() == before  # pyright: ignore[reportAttributeAccessIssue]


@pytest.mark.parametrize(
    "jumps, rates",
    [
        # jumps over nine decades, two far ones: log-grid cells of 1e-13 where the density is 1e10, far from
        # the mean. Before: central moments as differences of antiderivatives at the cells' ends, -186 and -101
        # standard units (cancellation)
        (np.r_[np.geomspace(1e-12, 1e-3, 40), 11.4, 50.5], np.r_[np.full(40, 5.5 / 40), 1 / 224, 1 / 224]),
        # one far jump of small rate: its bulk at n is about one step of the wide grid that finds the bulks, so
        # Newton does not pin its edges down. Before: the grid ended inside the bulk and the last density value
        # was spread over the gap, 11.9 standard units in the variance
        (np.r_[np.geomspace(1e-6, 1e-3, 20), 11.4], np.r_[np.full(20, 5.5 / 20), 1 / 30000]),
        # sixty isolated bulks of little mass and one near 0 holding nearly all of it (a kernel spectrum decaying into
        # rounding). Before: every bulk got an equal share of the points, and the heavy one on its 16 missed mass
        # 0.038 and the moments 0.021 (0.0008 and 0.0006 with shares by mass and moments)
        (np.r_[1e-11, np.geomspace(1e-7, 11.4, 60)], np.r_[30.0, np.full(60, 1 / 224)]),
    ],
)
def test_a_law_spanning_decades_meets_its_moments_on_its_grid(jumps, rates):
    # the law on its own grid at n against its exact moments and unit mass, within predict's check
    # (`_check.CHECK_TOL`, 1e-2: a law on its physical branch meets it at the grid's quadrature error)
    law = fdj.LevyKhintchine(0.0, 0.0, rates, jumps, 224.0)
    n = 1797
    spec = fdj.decompress(law, jnp.asarray(law.grid(fdj.Free(), n, 1024)), n, throw=False)
    assert spec.support()[-1][0] > 80  # the far jump's own bulk
    assert abs(float(spec.mass()) - 1.0) <= 1e-2
    assert np.max(np.abs(np.asarray(spec.moment_errors()))) <= 1e-2


@pytest.mark.parametrize("f", [0.0, 0.25])
def test_a_scaled_law_on_its_grid_solves_each_point_once(f):
    # Spectrum.on_grid keeps the wide log grid the law solved to find its bulks: the points of law.grid,
    # each once and in order, with the density of the closed form (the deformed MP law of ratio tau c),
    # also behind a fraction f of zero rows (f delta_0 + (1 - f) mu_B)
    c, tau = 0.5, 8.0
    law = fdj.LevyKhintchine(0.0, 0.0, [1 / c], [c], 100, scales=[1.0, 4.0])
    if f:
        law = fdj.ZeroRows(law, f, 100 / (1 - f))
    spec = fdj.Spectrum.on_grid(law, fdj.Free(), float(law.n0) * tau, 128)
    x = np.asarray(spec.x)
    np.testing.assert_array_equal(x, law.grid(fdj.Free(), float(law.n0) * tau, 128))
    target = D.DeformedMarchenkoPastur([1.0, 4.0], [0.5, 0.5], c * tau)
    want = (1 - f) * np.asarray(target.density(x))
    np.testing.assert_allclose(spec.density, want, atol=1e-7 * want.max())
    assert np.all(np.asarray(spec.result == fdj.RESULTS.successful))
    pos, w = (np.asarray(a) for a in spec.atoms)
    assert abs(np.sum(w[pos == 0]) - (f + (1 - f) * float(target.atoms()[1][0]))) <= 1e-12
    assert abs(float(spec.size) - float(law.n0) * tau) <= 1e-9 * tau


def test_constant_scales_change_nothing_but_the_scale():
    plain = fdj.LevyKhintchine(0.1, 0.3, [2.0, 0.5], [1.0, -3.0], 100)
    scaled = fdj.LevyKhintchine(0.05, 0.075, [2.0, 0.5], [0.5, -1.5], 100, scales=np.full(5, 2.0))
    x = np.linspace(-15.0, 12.0, 91)
    np.testing.assert_allclose(scaled.boundary(x), plain.boundary(x), atol=1e-10)
    np.testing.assert_allclose(scaled.moments(5, central=True), plain.moments(5, central=True), rtol=1e-10)


@pytest.mark.slow
def test_fit_from_a_matrix_keeps_its_diagonal(getkey):
    # Rows on scales spread over three decades: the spectrum at n is not the free decompression of the
    # eigenvalues at m (small-scale rows keep their share of small eigenvalues); the scaled law is.
    n, m, q = 1600, 200, 3200
    Z = np.asarray(jax.random.normal(getkey(), (n, q)))
    d = np.exp(np.linspace(np.log(1e-3), 0.0, n))
    A = np.sqrt(d)[:, None] * (Z @ Z.T / q) * np.sqrt(d)[None, :]
    idx = np.asarray(jax.random.permutation(getkey(), n))[:m]
    sub = A[np.ix_(idx, idx)]
    law = fdj.fit_levy(sub)
    np.testing.assert_array_equal(law.scales, np.diagonal(sub))
    true = np.linalg.eigvalsh(A)
    grid = levy_grid(law, n / m, 4096)
    pred = fdj.decompress(law, grid, n).eigvalsh()
    plain = fdj.decompress(fdj.fit_levy(np.linalg.eigvalsh(sub)), grid, n, throw=False)
    ks, ks_plain = ks_distance(pred, true), ks_distance(plain.eigvalsh(), true)
    # beats every baseline (the small spectrum as is is the strong one here: a third of the scales is
    # below the smallest eigenvalue either way) and the plain law by far
    assert ks < best_baseline_ks(np.linalg.eigvalsh(sub), m, n, true) and ks < ks_plain / 3


@pytest.mark.slow
def test_scaled_law_jit_vmap_grad():
    x = jnp.geomspace(1e-2, 20.0, 32)
    scales = jnp.asarray([0.5, 1.0, 3.0])

    def dens(s):
        return fdj.LevyKhintchine(0.0, 0.0, [3.0, 1.0], [0.5, 2.0], 100, scales=s).evolve(1.0).density(x)

    np.testing.assert_allclose(jax.jit(dens)(scales), dens(scales), rtol=1e-12, atol=1e-14)
    batch = jnp.stack([scales, 2 * scales])
    np.testing.assert_allclose(jax.vmap(dens)(batch)[1], dens(2 * scales), rtol=1e-10)
    f = lambda s: jnp.sum(dens(s) * x * jnp.exp(-x))  # noqa: E731
    v = jnp.asarray([0.3, -0.2, 0.1])
    h = 1e-6
    fd = (f(scales + h * v) - f(scales - h * v)) / (2 * h)
    np.testing.assert_allclose(float(jax.grad(f)(scales) @ v), float(fd), rtol=1e-4)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: fdj.fit_levy(np.array([1.0, np.nan] * 8)), "NaN"),
        (lambda: fdj.fit_levy(np.ones(4)), "at least 8"),
        (lambda: fdj.fit_levy(np.zeros(20)), "no bulk"),
        (lambda: jax.jit(lambda e: fdj.fit_levy(e).rates)(jnp.ones(20)), "signed"),
        (lambda: fdj.LevyKhintchine(0.0, 0.0, [-1.0], [1.0]), "rates = .*must be >= 0"),
        (lambda: fdj.LevyKhintchine(0.0, 0.0, [1.0], [1.0], scales=[1.0, -2.0]), "positive"),
        (lambda: fdj.fit_levy(np.ones((20, 12))), "square"),
        (lambda: fdj.fit_levy(np.triu(np.ones((20, 20)))), "symmetric"),
        (lambda: fdj.fit_levy(np.eye(20), weights=np.ones(20)), "weights"),
        (lambda: fdj.decompress(fdj.LevyKhintchine(0.0, 0.0, [2.0], [1.0], 100), np.linspace(0.1, 5, 9), 50), "n0"),
        (lambda: fdj.decompress(fdj.LevyKhintchine(0.0, 0.0, [2.0], [1.0], 100), np.linspace(0.1, 5, 9), 500, fdj.Deformed(0.5)), "freely only"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
