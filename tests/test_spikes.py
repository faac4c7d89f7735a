"""Outliers set aside (`_spikes.py`): the rule that finds them, the law `Spikes` against closed
forms (Marchenko-Pastur bulk), and `predict` on a bulk with outliers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import mp_quantiles

import freedecomp_jax as fdj
from freedecomp_jax import distributions as D
from freedecomp_jax._spikes import isolated

M, N = 1000, 8000


def _mp_with(top=(), bottom=()):
    x = mp_quantiles([0.1], M, points=20001)[0].copy()
    x[len(x) - len(top) :] = top
    x[: len(bottom)] = bottom
    return x


def test_isolated_finds_the_outliers_at_both_ends_and_nothing_in_a_bulk():
    assert not isolated(mp_quantiles([0.1], M, points=20001)[0]).any()
    assert not isolated(np.linspace(0.0, 1.0, 200)).any()
    x = _mp_with(top=(50.0, 1e6), bottom=(-30.0,))
    assert np.array_equal(np.flatnonzero(isolated(x)), [0, M - 2, M - 1])
    # exact zeros are an atom, not the bulk an outlier stands out from: ten eigenvalues in [1, 2] beside
    # 990 zeros are the bulk (test_arguments.py: the rank-10 matrix)
    x = np.concatenate([np.zeros(990), np.linspace(1.0, 2.0, 10)])
    assert not isolated(x, 1e-12).any()
    # a group of outliers close to each other is set aside whole
    x = _mp_with(top=(40.0, 41.0, 42.0, 43.0, 44.0))
    assert np.array_equal(np.flatnonzero(isolated(x)), np.arange(M - 5, M))


def test_isolated_is_a_group_of_at_most_sqrt_m():
    # 40 > sqrt(1000) eigenvalues far away are a second bulk, not a finite-rank part
    x = _mp_with(top=np.linspace(100.0, 101.0, 40))
    assert not isolated(x).any()
    x = _mp_with(top=np.linspace(100.0, 101.0, 31))
    assert isolated(x).sum() == 31


@pytest.mark.parametrize("c, b", [(1e-9, 0.0), (1e9, 3.0), (-2.0, 1e6)])
def test_isolated_does_not_depend_on_scale_shift_or_sign(c, b):
    x = _mp_with(top=(50.0,), bottom=(-30.0, -29.0))
    assert np.array_equal(isolated(c * x + b), isolated(x))


def test_isolated_under_jit_and_vmap_with_absent_entries():
    # the same mask traced; entries not present (a ragged lane's padding, a matrix's zero rows) are never outliers
    # and do not count towards m, so the spectrum padded with junk gives the mask of the spectrum alone
    x = _mp_with(top=(50.0, 1e6), bottom=(-30.0,))
    padded = np.concatenate([x, np.full(60, 1e9), np.full(40, -7.0)])
    present = np.arange(padded.size) < M
    masks = jax.jit(jax.vmap(isolated, in_axes=(0, None, 0)))(np.stack([padded, padded]), 0.0, np.stack([present, present]))
    np.testing.assert_array_equal(np.asarray(masks[0]), np.concatenate([np.asarray(isolated(x)), np.zeros(100, bool)]))
    # at most sqrt(m) of the m present entries: 31 far away are outliers of 1000 present entries, not of 960
    x = _mp_with(top=np.linspace(100.0, 101.0, 31))
    assert int(isolated(x).sum()) == 31
    assert not np.asarray(isolated(x, 0.0, np.arange(M) >= 40)).any()


def test_spikes_slots_not_present_add_nothing():
    # a traced predict keeps its outliers in fixed slots: the law of two present slots beside two absent ones is the
    # law of the two, its atoms with two empty slots (position NaN, weight 0)
    bulk = D.MarchenkoPastur(0.25, n0=198.0)
    two = fdj.Spikes(bulk, np.array([40.0, 45.0]), 200.0)
    slots = fdj.Spikes(bulk, np.array([40.0, 0.0, 45.0, 2.0]), 200.0, present=np.array([True, False, True, False]))
    x = jnp.linspace(0.1, 4.0, 64)
    a, b = (fdj.Spectrum.solve(law, fdj.Free(), x, 1600.0) for law in (two, slots))
    np.testing.assert_array_equal(np.asarray(b.m), np.asarray(a.m))
    np.testing.assert_array_equal(np.asarray(b.density), np.asarray(a.density))
    pos, w = (np.asarray(v) for v in b.atoms)
    np.testing.assert_array_equal(w[w > 0], np.asarray(a.atoms[1])[np.asarray(a.atoms[1]) > 0])
    assert np.sum(np.isnan(pos)) >= 2 and float(slots.count) == 2.0
    np.testing.assert_allclose(np.asarray(slots.moments(3)), np.asarray(two.moments(3)), rtol=1e-15)
    z = np.array([0.5 + 0.3j, 44.0 + 1j])
    np.testing.assert_array_equal(np.asarray(slots.stieltjes(z)), np.asarray(two.stieltjes(z)))


def _law(k=1, curve=False, lam=0.25):
    bulk = D.MarchenkoPastur(lam, n0=200.0 - k)
    return fdj.Spikes(bulk.curve() if curve else bulk, np.linspace(40.0, 45.0, k), 200.0)


def test_spikes_against_the_closed_form():
    """MP(1/4) at 199 plus one spike at 40: at n = 1600 the bulk is MP(1/4 x 1599/199) at 1599, the
    spike one eigenvalue at 40 x 8 (mass 1/1600)."""
    law, n = _law(), 1600
    spec = fdj.decompress(law, law.grid(fdj.Free(), n, 2048), float(n))
    lam = 0.25 * (n - 1) / 199
    truth = D.MarchenkoPastur(lam)
    x = np.asarray(spec.x)
    np.testing.assert_allclose(np.asarray(spec.density), (1 - 1 / n) * np.asarray(truth.density(x)), rtol=0, atol=1e-9)
    pos, w = (np.asarray(a) for a in spec.atoms)
    assert np.any(np.isclose(pos, 320.0, rtol=1e-14, atol=0) & np.isclose(w, 1 / n, rtol=1e-12, atol=0))
    assert float(spec.mass()) == pytest.approx(1.0, abs=2e-3)
    assert float(spec.quantile(1.0 - 0.5 / n)) == pytest.approx(320.0)
    # exact moments, by hand: MP(lam) has mean 1 and second moment 1 + lam
    mean, central = law.exact_moments(fdj.Free(), np.log(n / 200), 2)
    raw = (1 - 1 / n) * np.array([1.0, 1.0, 1.0 + lam]) + np.array([1.0, 320.0, 320.0**2]) / n
    assert float(mean) == pytest.approx(raw[1], rel=1e-12)
    assert float(central[2]) == pytest.approx(raw[2] - raw[1] ** 2, rel=1e-10)
    # the Stieltjes transform off the axis, against the closed forms
    z = np.array([0.5 + 0.3j, 5.0 + 1j, 300.0 + 2j])
    got = law.evolve(np.log(n / 200)).stieltjes(z)
    want = (1 - 1 / n) * np.asarray(truth.stieltjes(z)) + (1 / n) / (320.0 - z)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10)


def test_spikes_edges_follow_the_bulk():
    """Through a curve (edge equations refined by Newton and flowed by diffrax): the bulk's edges are
    the closed-form MP edges at n - k, whatever the spikes (no atom is born between the sizes)."""
    law = _law(k=2, curve=True, lam=0.05)
    spec = fdj.decompress(law, law.grid(fdj.Free(), 1600, 1024), 1600.0)
    sizes = [400.0, 800.0, 1600.0]
    for size, got in zip(sizes, spec.edges(sizes)):
        lam = 0.05 * (size - 2) / 198
        np.testing.assert_allclose(got, [[(1 - lam**0.5) ** 2, (1 + lam**0.5) ** 2]], rtol=1e-7)


def test_predict_sets_outliers_aside():
    """MP(0.1) at 1000 with one eigenvalue at 1e6 and one at -40: the (1, 2) curve fits the other 998
    (free decompression of MP(0.1) at 998 to 7998: MP(0.1 x 7998/998)); the outliers stay two
    eigenvalues, at 8 times their place."""
    x = _mp_with(top=(1e6,), bottom=(-40.0,))
    spec, report = fdj.predict(x, N, deg=(1, 2), return_report=True)
    assert report.chosen == "SpectralCurve(1, 2) + 2 outliers"
    out = np.asarray(spec.eigvalsh())
    assert out[0] == pytest.approx(-320.0) and out[-1] == pytest.approx(8e6)
    truth = mp_quantiles([0.1 * (N - 2) / (M - 2)], N - 2, points=20001)[0]
    assert np.max(np.abs(out[1:-1] - truth)) <= 1e-2 * (truth[-1] - truth[0])


@pytest.mark.slow  # the whole automatic scan, twice, and the Levy law: 110 s on 2 cores
def test_no_model_passing_beside_outliers_says_to_give_degrees():
    # MP(0.1) + 1e6 with automatic degrees: no curve (with or without the outlier) and no Levy law
    # passes; the message names the outlier and the way out
    x = _mp_with(top=(1e6,))
    with pytest.raises(ValueError, match=r"(?s)no candidate model passed its check.*SpectralCurve\(1, 2\) \+ 1 outlier.*The 1 isolated outlier of the spectrum.*pass deg="):
        fdj.predict(x, N)


def test_jit_vmap_grad():
    bulk = D.MarchenkoPastur(0.25, n0=199.0)
    x = jnp.linspace(0.1, 4.0, 64)

    def density(c, n):
        return fdj.Spectrum.solve(fdj.Spikes(bulk, c, 200.0), fdj.Free(), x, n).m

    eager = density(jnp.array([40.0]), 800.0)
    np.testing.assert_allclose(np.asarray(jax.jit(density)(jnp.array([40.0]), 800.0)), np.asarray(eager), rtol=1e-12)
    batch = jax.vmap(density, in_axes=(0, None))(jnp.array([[40.0], [60.0]]), 800.0)
    np.testing.assert_allclose(np.asarray(batch[0]), np.asarray(eager), rtol=1e-12)

    def second_moment(c):
        _, central = fdj.Spikes(bulk, c, 200.0).exact_moments(fdj.Free(), jnp.log(4.0), 2)
        return central[2]

    g = jax.grad(second_moment)(jnp.array([40.0]))
    h = 1e-4
    fd = (second_moment(jnp.array([40.0 + h])) - second_moment(jnp.array([40.0 - h]))) / (2 * h)
    assert float(g[0]) == pytest.approx(float(fd), rel=1e-6)


@pytest.mark.slow
def test_spikes_cusps_are_the_bulks_at_k_more_rows():
    """A bulk that splits as the matrix grows (cusps near 1.3 and 2 times its size): with one spike set
    aside, each cusp is the bulk's own cusp at one row more, at the same place."""
    bulk = D.FreeLevy([2.0, 5.5], [0.75, 0.25], 0.1, 0.0, 0.4).decompress(0.25).curve(999.0)
    law = fdj.Spikes(bulk, np.array([100.0]), 1000.0)
    x = jnp.linspace(-1.0, 10.0, 512)
    got = fdj.decompress(law, x, 4000.0).cusps(16)
    want = fdj.decompress(bulk, x, 3999.0).cusps(16)
    assert got.shape == want.shape == (2, 2)
    np.testing.assert_allclose(got, want + np.array([0.0, 1.0]), rtol=1e-9)
