"""`Spectrum`: quantities of the decompressed law against closed forms and direct sums."""

import dataclasses

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import freedecomp_jax as fdj
from freedecomp_jax import distributions as D
from freedecomp_jax._decompress import decompress
from freedecomp_jax._moments import evolve_moments

N0 = 1000.0
P = 3001


def _grid(law, pad=0.02):
    sup = np.asarray(law.support())
    lo, hi = sup.min(), sup.max()
    return np.linspace(lo - pad * (hi - lo), hi + pad * (hi - lo), P)


@pytest.mark.parametrize(
    "law",
    [D.Wigner(1.5), D.MarchenkoPastur(0.3), D.CompoundFreePoisson([2.0, 5.5], [0.75, 0.25], 0.1), D.FreeLevy([1.0, 3.0], [0.5, 0.5], 0.7, 0.2, 0.3)],
)
@pytest.mark.parametrize("tau", [1.0, 3.0, 40.0])
def test_evolve_moments_matches_the_decompressed_law(law, tau):
    mu = evolve_moments(law.curve().moments(8), np.log(tau))
    exact = law.decompress(tau).curve().moments(8)
    np.testing.assert_allclose(mu, exact, rtol=1e-10)


def test_quantities_with_an_atom():
    law = D.CompoundFreePoisson([2.0, 5.5], [0.75, 0.25], 0.5)
    tau = 8.0
    target = law.decompress(tau)
    x = np.unique(np.concatenate([[0.0], _grid(target)[1:]]))
    spec = decompress(law.curve(N0), x, tau * N0)
    n = int(tau * N0)
    ev = spec.eigvalsh()
    assert ev.shape == (n,) and np.all(np.diff(np.asarray(ev)) >= 0)
    (a,), (w,) = target.atoms()
    # the atom holds round(w n) of the eigenvalues, exactly at its position
    assert abs(int(np.sum(np.asarray(ev) == a)) - w * n) <= 1
    assert abs(float(spec.mass()) - 1.0) <= 1e-4
    mu_exact = evolve_moments(law.curve().moments(6), np.log(tau))
    for k in range(7):
        np.testing.assert_allclose(spec.moment(k), mu_exact[k], rtol=1e-4)
        np.testing.assert_allclose(spec.moment(k), jnp.mean(ev**k), rtol=1e-3)
    for p in (1, 2, 3):
        np.testing.assert_allclose(spec.trace(p), jnp.sum(ev**p), rtol=1e-3)
        np.testing.assert_allclose(spec.trace(p), n * mu_exact[p], rtol=1e-4)
    np.testing.assert_allclose(spec.norm(2), jnp.sqrt(jnp.sum(ev**2)), rtol=1e-3)
    np.testing.assert_allclose(spec.norm(1.5), jnp.sum(jnp.abs(ev) ** 1.5) ** (1 / 1.5), rtol=1e-3)
    np.testing.assert_allclose(spec.norm(np.inf), jnp.max(jnp.abs(ev)), rtol=1e-12)
    # the atom at 0 makes the matrix singular
    sign, logabs = spec.slogdet()
    assert float(sign) == 0.0 and float(logabs) == -np.inf
    assert float(spec.cond()) == np.inf
    # cdf: a jump of w at the atom, 1 beyond the support, and Q(F(x)) = x inside a bulk
    F = spec.cdf(jnp.array([-1.0, 0.0, x[-1] + 1.0]))
    np.testing.assert_allclose(F, [0.0, w, 1.0], atol=1e-12)
    xb = np.linspace(*np.asarray(target.support())[0], 7)[1:-1]
    np.testing.assert_allclose(spec.quantile(spec.cdf(xb)), xb, rtol=1e-10)


@pytest.mark.parametrize(
    "law, tau",
    [(D.CompoundFreePoisson([2.0, 5.5], [0.75, 0.25], 0.5), 8.0), (D.FreeLevy([2.0, 5.5], [0.75, 0.25], 0.1, 0.0, 0.4), 4.0), (D.MarchenkoPastur(0.3, 40.0), 8.0)],
)
def test_moment_errors_small_on_the_physical_branch_large_off_it(law, tau):
    """The exact-moment check: quadrature level on a correct law, >= 1e-2 when part of it is wrong."""
    target = law.decompress(tau)
    spec = decompress(law.curve(N0), _grid(target), tau * N0)
    err = np.asarray(spec.moment_errors())
    assert err.shape == (4,) and np.all(np.abs(err) <= 1e-3)
    # a wrong-sheet patch: 5% of the density moved to the right edge of the grid
    rho = np.asarray(spec.density)
    bad = rho.copy()
    bad[-len(rho) // 10 :] += 0.05 * rho.max()
    wrong = dataclasses.replace(spec, density=jnp.asarray(bad))
    assert np.max(np.abs(np.asarray(wrong.moment_errors()))) >= 1e-2
    # a grid that misses the upper tenth of the support is caught too
    sup = np.asarray(target.support())
    cut = np.linspace(sup.min(), sup.max() - 0.1 * (sup.max() - sup.min()), P)
    assert np.max(np.abs(np.asarray(decompress(law.curve(N0), cut, tau * N0).moment_errors()))) >= 1e-2


@pytest.mark.slow
def test_moment_errors_deformed():
    law = D.MarchenkoPastur(0.3, 2.0)  # a Gram matrix: deformed decompression with c0 = 0.3
    tau = 6.0
    x = np.linspace(1e-3, 4.0 * (1 + np.sqrt(0.3 * tau)) ** 2 * 1.05, P)  # MP(c = 1.8, sigma^2 = 4) and its atom at 0
    spec = decompress(law.curve(N0), x, tau * N0, fdj.Deformed(0.3))
    err = np.asarray(spec.moment_errors())
    assert np.all(np.abs(err) <= 1e-3), err


def test_slogdet_cond_norm_positive_and_signed():
    law = D.MarchenkoPastur(0.3)  # tau = 2: MP(0.6), no atom, support in (0, inf)
    target = law.decompress(2.0)
    x = _grid(target)
    spec = decompress(law.curve(N0), x, 2 * N0)
    ev = spec.eigvalsh()
    # exact integration of the law's representation: the piecewise-linear interpolant of the
    # exact density, normalised (its own O(h^1.5) error at the square-root edges is not tested
    # here), integrated by 20-point Gauss-Legendre in every cell
    rho = np.asarray(target.density(x))
    g, gw = np.polynomial.legendre.leggauss(20)
    h = np.diff(x)[:, None]
    s = x[:-1, None] + h * (g + 1) / 2
    lin = np.interp(s, x, rho)
    mass = np.sum(gw * lin * h / 2)
    exact_log = np.sum(gw * np.log(np.abs(s)) * lin * h / 2) / mass
    sign, logabs = spec.slogdet()
    assert float(sign) == 1.0
    np.testing.assert_allclose(logabs, 2 * N0 * exact_log, rtol=1e-7)
    np.testing.assert_allclose(logabs, jnp.sum(jnp.log(ev)), rtol=1e-3)
    np.testing.assert_allclose(spec.cond(), ev[-1] / ev[0], rtol=1e-12)

    law = D.Wigner(1.0)  # symmetric: half of the eigenvalues negative
    x = _grid(law.decompress(3.0))
    spec = decompress(law.curve(N0), x, 3 * N0 + 2)  # n/2 = 1501 negative eigenvalues
    ev = spec.eigvalsh()
    sign, logabs = spec.slogdet()
    assert float(sign) == float(jnp.prod(jnp.sign(ev))) == -1.0
    np.testing.assert_allclose(logabs, jnp.sum(jnp.log(jnp.abs(ev))), rtol=2e-3)
    np.testing.assert_allclose(spec.cond(), jnp.max(jnp.abs(ev)) / jnp.min(jnp.abs(ev)), rtol=1e-12)


@pytest.mark.slow
def test_support_edges_and_cusps_free_levy():
    big = D.FreeLevy([2.0, 5.5], [0.75, 0.25], 0.1, 0.0, 0.4)  # 3 bulks
    law = big.decompress(0.25)  # 1 bulk at n0; splits twice by tau = 4
    assert np.asarray(law.support()).shape[0] == 1
    x = np.linspace(-1.2, 8.2, P)
    spec = decompress(law.curve(N0), x, 4 * N0)
    np.testing.assert_allclose(spec.support(), big.support(), atol=1e-9)
    sizes = N0 * np.array([1.2, 2.5])
    for s, edges in zip(sizes, spec.edges(sizes)):
        np.testing.assert_allclose(edges, law.decompress(s / N0).support(), atol=1e-9)
    # a multi-size spectrum is read one size at a time
    many = decompress(law.curve(N0), x, sizes)
    with pytest.raises(ValueError, match="spec\\[k\\]"):
        many.eigvalsh()
    assert many[1].eigvalsh().shape == (2500,)
    cusps = spec.cusps(num=16)
    assert cusps.shape == (2, 2)
    for xc, nc in cusps:
        before = np.asarray(law.decompress(nc / N0 * (1 - 1e-4)).support())
        after = np.asarray(law.decompress(nc / N0 * (1 + 1e-4)).support())
        assert after.shape[0] == before.shape[0] + 1
        gap = after[:-1, 1], after[1:, 0]
        assert np.any((gap[0] < xc + 1e-3) & (gap[1] > xc - 1e-3))


@pytest.mark.slow
def test_deformed_support_and_merge():
    law = D.DeformedMarchenkoPastur([1.0, 4.0], [0.5, 0.5], 0.05)  # 2 bulks that merge as c = tau c0 grows
    target = law.decompress(16.0)
    x = np.linspace(0.0, 12.0, P)
    spec = decompress(law.curve(N0), x, 16 * N0, fdj.Deformed(0.05))
    np.testing.assert_allclose(spec.support(), target.support(), atol=1e-9)
    cusps = spec.cusps(num=12)
    assert cusps.shape == (1, 2)
    xc, nc = cusps[0]
    before = np.asarray(law.decompress(nc / N0 * (1 - 1e-4)).support())
    after = np.asarray(law.decompress(nc / N0 * (1 + 1e-4)).support())
    assert before.shape[0] == after.shape[0] + 1 == 2
    assert before[0, 1] < xc + 1e-3 and before[1, 0] > xc - 1e-3


def _law_cdf(law, x):
    """CDF of a closed-form law at points x (trapezoid on a fine grid of its density, plus atoms)."""
    sup = np.asarray(law.support())
    g = np.linspace(sup.min(), sup.max(), 200001)
    rho = np.asarray(law.density(g))
    F = np.concatenate([[0.0], np.cumsum((rho[1:] + rho[:-1]) / 2 * np.diff(g))])
    pos, w = law.atoms()
    return np.interp(x, g, F) + np.sum(np.where(np.asarray(x)[:, None] >= pos[None, :], w[None, :], 0.0), axis=1)


def _w1_to_law(ev, law):
    """Wasserstein-1 distance between n sorted values and a law: mean |ev_k - Q((k - 1/2)/n)|."""
    pos, _ = law.atoms()
    sup = np.asarray(law.support())
    g = np.unique(np.concatenate([np.linspace(sup.min(), sup.max(), 200001), pos, pos - 1e-12]))
    F = _law_cdf(law, g)
    q = (np.arange(ev.size) + 0.5) / ev.size
    return np.mean(np.abs(np.sort(np.asarray(ev)) - np.interp(q, F, g)))


def test_eigvalsh_one_liner_from_exact_quantiles():
    from freedecomp_jax._select import eigvalsh

    law = D.MarchenkoPastur(0.3)  # an atom of 7/12 at 0 is born by n = 8 m
    m, n = 1000, 8000
    q = (np.arange(m) + 0.5) / m
    g = np.linspace(*np.asarray(law.support())[0], 20001)
    eigs = np.interp(q, _law_cdf(law, g), g)
    ev = eigvalsh(eigs, n, deg=(1, 2))
    assert ev.shape == (n,) and np.all(np.diff(np.asarray(ev)) >= 0)
    spec = fdj.predict(eigs, n, deg=(1, 2))  # the same pipeline, returning the checked Spectrum
    assert isinstance(spec, fdj.Spectrum) and float(spec.size) == n and spec.law.coeffs.shape == (2, 3)
    np.testing.assert_array_equal(np.asarray(spec.eigvalsh()), np.asarray(ev))
    assert np.all(np.abs(np.asarray(spec.moment_errors())) <= 1e-3)
    np.testing.assert_allclose(float(spec.atoms[1][np.isfinite(np.asarray(spec.atoms[0]))].sum()), 7 / 12, atol=1e-4)
    target = law.decompress(n / m)
    std = np.sqrt(float(target.curve().moments(2)[2]) - float(target.curve().moments(1)[1]) ** 2)
    assert _w1_to_law(ev, target) / std <= 1e-3


@pytest.mark.slow
@pytest.mark.parametrize(
    "law",
    [D.MarchenkoPastur(0.1), D.FreeLevy([2.0, 5.5], [0.75, 0.25], 0.1, 0.0, 0.4), D.CompoundFreePoisson([2.0, 5.5], [0.75, 0.25], 0.1)],
)
def test_eigvalsh_from_a_sampled_submatrix(law, getkey):
    """Fit the leading 1000 x 1000 block (automatic degrees), predict the 8000 x 8000 spectrum."""
    from freedecomp_jax._fit_problem import zero_tolerance
    from freedecomp_jax._select import eigvalsh

    a = np.asarray(law.sample_matrix(getkey(), 8000))
    full = np.linalg.eigvalsh(a)
    full = np.where(np.abs(full) <= float(zero_tolerance(full)), 0.0, full)  # structural zeros are exact zeros
    small = np.linalg.eigvalsh(a[:1000, :1000])
    ev = np.asarray(eigvalsh(small, 8000))
    assert stats.ks_2samp(ev, full).statistic <= 0.02


def test_zero_rows_of_a_matrix_input_keep_their_share(getkey):
    """A matrix with zero rows/columns is 0_k (+) B: a principal submatrix keeps a fraction k/m of
    zeros at every size (a free atom would grow to 1 - (1 - k/m) m/n); predict and eigvalsh both
    keep them as a fixed atom and decompress B (whose own law, MP(0.3) grown 4x, is MP(1.2) with
    an atom of 1/6 at 0: exact)."""
    law = D.MarchenkoPastur(0.3)
    b = np.asarray(law.sample_matrix(getkey(), 400))
    a = np.zeros((500, 500))
    perm = np.random.default_rng(0).permutation(500)
    keep = np.sort(perm[:400])
    a[np.ix_(keep, keep)] = b
    n = 2000
    spec, report = fdj.predict(a, n, deg=(1, 2), return_report=True)
    assert isinstance(spec.law, fdj.ZeroRows) and report.zero_rows == 100
    # B's principal submatrices are free compressions of it (a Wishart matrix): the report says so
    assert report.compression is not None and abs(report.compression[0]) <= 0.03 and "free compression" in str(report)
    pos, w = np.asarray(spec.atoms[0]), np.asarray(spec.atoms[1])
    assert pos[0] == 0.0 and w[0] == pytest.approx(0.2, abs=1e-15)  # the fixed atom: k/m, exactly
    # B (MP(0.3), 400 -> 1600) is MP(1.2): it grows an atom of 1/6 at 0 (its fit to a 400-sample, about)
    assert abs(w[1:].sum() / 0.8 - 1 / 6) <= 0.04 and np.all(np.abs(pos[1:][w[1:] > 0]) <= 0.05)
    ev = np.asarray(fdj.eigvalsh(a, n, deg=(1, 2)))
    assert ev.shape == (n,) and np.all(np.diff(ev) >= 0)
    assert abs(np.sum(ev == 0) - 0.2 * n) <= 1
    # the rest against the law of B at 1600, MP(1.2): W1 over its standard deviation
    rest = np.sort(ev[ev != 0])[: 1600]
    k = round(1600 / 6)
    truth = np.sort(np.concatenate([np.zeros(k), np.interp((np.arange(1600 - k) + 0.5) / (1600 - k), *_nonzero_cdf(D.MarchenkoPastur(1.2)))]))
    assert np.mean(np.abs(np.sort(rest) - truth[: rest.size])) / np.std(truth) <= 0.05


def test_atoms_at_one_position_are_stacked():
    """Zero rows (a fixed atom at 0) around a block whose own law has an atom at exactly 0: the two
    atoms share a position and the quantiles must give 0 to their summed weight. B = MP(2) at 100,
    grown 4x, is MP(8) with an atom of 1 - 1/8 at 0 (closed form); with a fraction 0.2 of zero rows
    the whole law has 0.2 + 0.8 * 7/8 = 0.9 of its mass at 0."""
    law = fdj.ZeroRows(D.MarchenkoPastur(2.0, n0=100.0), 0.2, 125.0)
    n = 500
    spec = fdj.decompress(law, law.grid(fdj.Free(), n, 512), float(n))
    pos, w = (np.asarray(a) for a in spec.atoms)
    assert np.count_nonzero((pos == 0) & (w > 0)) == 2  # two slots at one position
    assert float(spec.cdf(0.0)) == pytest.approx(0.9, abs=1e-3)
    ev = np.asarray(spec.eigvalsh(n))
    assert np.sum(ev == 0) == pytest.approx(0.9 * n, abs=1)
    q = np.asarray(spec.quantile(np.array([0.05, 0.5, 0.89, 0.95])))
    assert np.all(q[:3] == 0) and q[3] > 0


def _nonzero_cdf(law):
    """(CDF, x) of the absolutely continuous part of `law`, normalised."""
    lo, hi = np.asarray(law.support())[0]
    g = np.linspace(lo, hi, 20001)
    rho = np.asarray(law.density(g))
    F = np.concatenate([[0.0], np.cumsum((rho[1:] + rho[:-1]) / 2 * np.diff(g))])
    return F / F[-1], g
