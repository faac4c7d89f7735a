"""Closed-form spectral laws: mass, Stieltjes transform, curve, support, samplers, decompression."""

import functools

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import scipy.special

import freedecomp_jax.distributions as fdd

# (id, factory, power of the map s -> s**q at a hard left edge (1 = square-root edges))
LAWS = [
    ("mp", lambda: fdd.MarchenkoPastur(0.5, 1.5), 1),
    ("mp-atom", lambda: fdd.MarchenkoPastur(2.0), 1),
    ("wigner", lambda: fdd.Wigner(2.0), 1),
    ("freelevy", lambda: fdd.FreeLevy([2.0, 5.5], [0.75, 0.25], 0.1, 0.0, 0.4), 1),
    ("freelevy-atom", lambda: fdd.FreeLevy([1.0, 3.0], [0.4, 0.6], 0.5, 1.0, 0.0), 1),
    ("freelevy-dense", lambda: fdd.FreeLevy([1.0, 3.0, 9.0], [0.3, 0.3, 0.4], 2.5, -1.0, 0.7), 1),
    ("cfp", lambda: fdd.CompoundFreePoisson([2.0, 5.5], [0.75, 0.25], 0.1), 1),
    ("cfp-dense", lambda: fdd.CompoundFreePoisson([1.0, 4.0], [0.5, 0.5], 3.0), 1),
    ("dw", lambda: fdd.DeformedWigner([-2.0, 0.5, 3.0], [0.3, 0.3, 0.4], 0.5), 1),
    ("dmp", lambda: fdd.DeformedMarchenkoPastur([1.0, 4.0], [0.3, 0.7], 0.6), 1),
    ("dmp-atom", lambda: fdd.DeformedMarchenkoPastur([1.0, 3.0, 8.0], [0.2, 0.5, 0.3], 2.5), 1),
    ("km3", lambda: fdd.KestenMcKay(3), 1),
    ("km6", lambda: fdd.KestenMcKay(6.0), 1),
    ("wachter", lambda: fdd.Wachter(2.0, 3.0), 1),
    ("wachter-atoms", lambda: fdd.Wachter(0.6, 0.8), 1),
    ("fc1", lambda: fdd.FussCatalan(1), 2),
    ("fc2", lambda: fdd.FussCatalan(2), 3),
    ("fc3", lambda: fdd.FussCatalan(3), 4),
]
LAW_IDS = [name for name, _, _ in LAWS]
# A subset for the (costly) sampler test: one law per class, with the atom and Gaussian branches.
SAMPLED = ["mp-atom", "wigner", "freelevy", "cfp", "dw", "dmp-atom", "km3", "wachter-atoms", "fc2"]


def _law(name):
    return next(f() for n, f, _ in LAWS if n == name)


def _hard_power(name):
    return next(q for n, _, q in LAWS if n == name)


_BUCKETS = (64, 1216, 4032)


def _padded(fn, values):
    """fn(values), evaluated on a copy padded to one of a few sizes (few shapes, few compilations)."""
    values = np.asarray(values).ravel()
    size = next((b for b in _BUCKETS if b >= values.size), values.size)
    padded = np.concatenate([values, np.full(size - values.size, values[-1] if values.size else 0.0)])
    return np.asarray(fn(jnp.asarray(padded)))[: values.size]


def _density(law, x):
    return _padded(law.density, x)


def _stieltjes(law, z):
    return _padded(law.stieltjes, np.asarray(z, dtype=complex))


@functools.cache
def _legendre(n):
    """Gauss-Legendre nodes and weights on [0, pi]."""
    th, gw = scipy.special.roots_legendre(n)
    return 0.5 * np.pi * (th + 1), 0.5 * np.pi * gw


def _quadrature(law, q_left=1, n=1200):
    """Nodes x and weights v with sum(v g(x)) ~ int g rho dx over the support of the AC part.

    Per interval [a, b]: x = a + (b - a) s**q, s = (1 - cos th)/2, Gauss-Legendre in th; square-root
    edges become smooth in th, and s**q absorbs a hard edge x**(-1 + 1/q) at the left.
    """
    th, gw = _legendre(n)
    s = 0.5 * (1 - np.cos(th))
    ds = 0.5 * np.sin(th)
    xs, vs = [], []
    for a, b in law.support():
        x = a + (b - a) * s**q_left
        dx = (b - a) * q_left * s ** (q_left - 1) * ds
        xs.append(x)
        vs.append(_density(law, x) * dx * gw)
    return np.concatenate(xs), np.concatenate(vs)


def _cdf(law, q_left, points):
    """The law's CDF at `points` (right limits) and just left of them, atoms included."""
    m = 4001
    th = np.linspace(0.0, np.pi, m)
    s = 0.5 * (1 - np.cos(th))
    right, left = np.zeros_like(points), np.zeros_like(points)
    for a, b in law.support():
        x = a + (b - a) * s**q_left
        dxdth = (b - a) * q_left * s ** (q_left - 1) * 0.5 * np.sin(th)
        f = _density(law, x) * dxdth
        cum = np.concatenate([[0.0], np.cumsum(0.5 * (f[1:] + f[:-1]) * np.diff(th))])
        part = np.interp(points, x, cum)
        right += part
        left += part
    pos, wts = law.atoms()
    for p, wt in zip(pos, wts):
        right += wt * (points >= p)
        left += wt * (points > p)
    return right, left


def _scale(law):
    sup = law.support()
    lo, hi = sup.min(), sup.max()
    pos, _ = law.atoms()
    if pos.size:
        lo, hi = min(lo, pos.min()), max(hi, pos.max())
    return 0.5 * (lo + hi), hi - lo


def _test_points(law):
    centre, width = _scale(law)
    return centre + width * np.array([0.3j, -0.4 + 0.5j, 0.7 + 0.2j, 0.1 + 1.5j, -1.3 + 0.05j, 0.45 - 0.35j])


# ---------------------------------------------------------------------- truths


@pytest.mark.parametrize("name", LAW_IDS)
def test_density_mass(name):
    law = _law(name)
    _, v = _quadrature(law, _hard_power(name))
    _, atom_w = law.atoms()
    assert np.all(v >= 0)
    assert abs(v.sum() - (1 - atom_w.sum())) < 1e-6


@pytest.mark.parametrize("name", LAW_IDS)
def test_stieltjes_matches_density(name):
    law = _law(name)
    x, v = _quadrature(law, _hard_power(name))
    pos, wts = law.atoms()
    z = _test_points(law)
    expected = (v / (x[None, :] - z[:, None])).sum(1) + (wts / (pos[None, :] - z[:, None])).sum(1)
    got = _stieltjes(law, z)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6 * np.abs(expected).max())
    # Schwarz reflection and the physical sheet (Im m has the sign of Im z).
    assert np.all(np.sign(got.imag) == np.sign(z.imag))
    np.testing.assert_allclose(_stieltjes(law, z.conj()), got.conj(), rtol=1e-14, atol=1e-14)


def _residual(curve, z, m):
    c = np.asarray(curve.coeffs)
    i = np.arange(c.shape[0])[:, None]
    j = np.arange(c.shape[1])[None, :]
    terms = c[None] * z[:, None, None] ** i * m[:, None, None] ** j
    return np.abs(terms.sum((1, 2))) / np.abs(terms).sum((1, 2))


@pytest.mark.parametrize("name", LAW_IDS)
def test_curve_annihilates_stieltjes(name):
    law = _law(name)
    sup = law.support()
    centre, width = _scale(law)
    inside = sup.mean(1)  # z = x + i0 inside the bulks
    gaps = 0.5 * (sup[1:, 0] + sup[:-1, 1])
    outside = np.array([sup.min() - 0.3 * width, sup.max() + 0.2 * width])
    z = np.concatenate([_test_points(law), inside, gaps, outside]).astype(complex)
    pos, _ = law.atoms()
    z = z[np.min(np.abs(z[:, None] - pos[None, :]), axis=1, initial=np.inf) > 1e-9 * width]
    m = _stieltjes(law, z)
    assert np.all(np.isfinite(m))
    assert _residual(law.curve(), z, m).max() < 1e-12
    # Plemelj: on the axis Im m(x + i0) = pi rho(x), and the real-axis branch is the limit from above.
    on_axis = z.imag == 0
    np.testing.assert_allclose(m[on_axis].imag, np.pi * _density(law, z[on_axis].real), atol=1e-10)
    near = _stieltjes(law, z[on_axis] + 1e-10j * width)
    np.testing.assert_allclose(near, m[on_axis], rtol=1e-7, atol=1e-7 * np.abs(m[on_axis]).max())


@pytest.mark.parametrize("name", LAW_IDS)
def test_support_edges(name):
    law = _law(name)
    sup = law.support()
    assert sup.ndim == 2 and sup.shape[1] == 2 and np.all(sup[:, 1] > sup[:, 0])
    assert np.all(sup[1:, 0] > sup[:-1, 1])
    _, width = _scale(law)
    eps = 1e-7 * width
    outside = np.concatenate([sup[:, 0] - eps, sup[:, 1] + eps, 0.5 * (sup[1:, 0] + sup[:-1, 1])])
    inside = np.concatenate([sup[:, 0] + 1e-4 * width, sup[:, 1] - 1e-4 * width, sup.mean(1)])
    edges = sup.ravel()
    if _hard_power(name) > 1:  # the left edge of Fuss-Catalan is a hard edge (density -> infinity)
        edges = edges[1:]
    grid = np.linspace(sup.min(), sup.max(), 1000)
    rho = _density(law, np.concatenate([outside, inside, edges, grid]))
    rho_out, rho_in, rho_edge, rho_grid = np.split(rho, np.cumsum([outside.size, inside.size, edges.size]))
    assert np.all(rho_out == 0)
    assert np.all(rho_in > 0)
    assert np.all(rho_edge <= 1e-6 * rho_grid.max())


@pytest.mark.parametrize("name", SAMPLED)
def test_sampler_ks(name, getkey):
    law = _law(name)
    n = 1500
    a = law.sample_matrix(getkey(), n)
    assert a.shape == (n, n)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(a).T)
    eigs = np.linalg.eigvalsh(np.asarray(a))
    _, width = _scale(law)
    pos, _ = law.atoms()
    for p in pos:  # rounding puts exact atoms at p +- 1e-13; snap them back
        eigs[np.abs(eigs - p) < 1e-8 * width] = p
    eigs = np.sort(eigs)
    right, left = _cdf(law, _hard_power(name), eigs)
    emp_right = np.searchsorted(eigs, eigs, side="right") / n
    emp_left = np.searchsorted(eigs, eigs, side="left") / n
    ks = max(np.abs(emp_right - right).max(), np.abs(emp_left - left).max())
    assert ks <= 0.03


# ---------------------------------------------------------------------- curves: the closed-form curves of the reference (its finite-n constructions)


def test_free_levy_test_vector():
    c = np.asarray(fdd.FreeLevy([2.0, 5.5], [0.75, 0.25], 0.1, 0.0, 0.4).curve().coeffs)
    expected = np.array([[1, 7.2125, 10.06, 1.2, 1.76], [0, 1, 7.5, 11, 0]])
    np.testing.assert_allclose(c / c[0, 0], expected, rtol=1e-13, atol=1e-13)


def test_compound_free_poisson_test_vector():
    c = np.asarray(fdd.CompoundFreePoisson([2.0, 5.5], [0.75, 0.25], 0.1).curve().coeffs)
    expected = np.array([[1, 7.2125, 9.9, 0], [0, 1, 7.5, 11]])
    np.testing.assert_allclose(c / c[0, 0], expected, rtol=1e-13, atol=1e-13)
    # Without a Gaussian part FreeLevy drops the zero m**(r+2) column and equals CFP.
    c_fl = np.asarray(fdd.FreeLevy([2.0, 5.5], [0.75, 0.25], 0.1).curve().coeffs)
    np.testing.assert_allclose(c_fl, c, rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("c", [0.35, 1.7])
def test_deformed_mp_curve_r2(c):
    t1, t2, w1, w2 = 1.5, 4.0, 0.3, 0.7
    got = np.asarray(fdd.DeformedMarchenkoPastur([t1, t2], [w1, w2], c).curve().coeffs)
    ref = np.zeros((3, 4))  # the reference closed form, r = 2
    ref[0, 0] = (c - 1) * (t1 * w2 + t2 * w1)
    ref[0, 1] = t1 * t2 * (c - 1) ** 2
    ref[1, 0] = 1
    ref[1, 1] = c * (t1 + t2 + t1 * w2 + t2 * w1) - (t1 + t2)
    ref[1, 2] = 2 * c * (c - 1) * t1 * t2
    ref[2, 1] = 1
    ref[2, 2] = c * (t1 + t2)
    ref[2, 3] = c**2 * t1 * t2
    assert got.shape == ref.shape
    np.testing.assert_allclose(got / got[1, 0], ref, rtol=1e-13, atol=1e-13)


def test_deformed_mp_c1_is_compound_free_poisson():
    # c = 1: the companion transform is m itself, the common factor z**(r-1) is removed.
    t, w = [1.0, 3.0, 8.0], [0.2, 0.5, 0.3]
    got = np.asarray(fdd.DeformedMarchenkoPastur(t, w, 1.0).curve().coeffs)
    ref = np.asarray(fdd.CompoundFreePoisson(t, w, 1.0).curve().coeffs)
    assert got.shape == ref.shape
    np.testing.assert_allclose(got / got[0, 0], ref / ref[0, 0], rtol=1e-13, atol=1e-13)


def test_companion_identity():
    # docs/method.md, "The free Levy-Khintchine law": CFP(lam, H) = lam DMP(H, lam) + (1 - lam) delta_0 for lam <= 1.
    t, w, lam = [1.0, 4.0], [0.3, 0.7], 0.4
    cfp, dmp = fdd.CompoundFreePoisson(t, w, lam), fdd.DeformedMarchenkoPastur(t, w, lam)
    np.testing.assert_allclose(cfp.support(), dmp.support(), rtol=1e-10)
    x = np.linspace(cfp.support().min(), cfp.support().max(), 101)
    np.testing.assert_allclose(np.asarray(cfp.density(x)), lam * np.asarray(dmp.density(x)), atol=1e-10)


# ---------------------------------------------------------------------- decompression


def _mean_var(law, q_left=1):
    x, v = _quadrature(law, q_left)
    pos, wts = law.atoms()
    xs, vs = np.concatenate([x, pos]), np.concatenate([v, wts])
    mean = (vs * xs).sum()
    return mean, (vs * (xs - mean) ** 2).sum()


FREE = [
    ("mp", lambda: fdd.MarchenkoPastur(0.5, 1.5), {"lam": lambda p, tau: p["lam"] * tau}),
    ("wigner", lambda: fdd.Wigner(2.0), {"r": lambda p, tau: p["r"] * np.sqrt(tau)}),
    (
        "cfp",
        lambda: fdd.CompoundFreePoisson([2.0, 5.5], [0.75, 0.25], 0.5),
        {"t": lambda p, tau: p["t"] * tau, "w": lambda p, tau: p["w"], "lam": lambda p, tau: p["lam"] / tau},
    ),
    (
        "freelevy",
        lambda: fdd.FreeLevy([1.0, 3.0], [0.4, 0.6], 0.5, 1.0, 0.3),
        {
            "t": lambda p, tau: p["t"] * tau,
            "w": lambda p, tau: p["w"],
            "lam": lambda p, tau: p["lam"] / tau,
            "a": lambda p, tau: p["a"],
            "sigma": lambda p, tau: p["sigma"] * np.sqrt(tau),
        },
    ),
]


@pytest.mark.parametrize("name, factory, maps", FREE, ids=[f[0] for f in FREE])
def test_free_decompression(name, factory, maps):
    tau = 3.0
    law = factory()
    big = law.decompress(tau)
    assert type(big) is type(law)
    before = {k: np.asarray(getattr(law, k)) for k in maps}
    for k, f in maps.items():
        np.testing.assert_allclose(np.asarray(getattr(big, k)), f(before, tau), rtol=1e-15)
    mean0, var0 = _mean_var(law)
    mean1, var1 = _mean_var(big)
    np.testing.assert_allclose(mean1, mean0, rtol=0, atol=1e-7 * np.sqrt(var0))
    np.testing.assert_allclose(var1, tau * var0, rtol=1e-7)


def test_decompression_atom_mass():
    # docs/method.md, "Atoms under free decompression": w(t) = 1 - (1 - w0)/tau at a fixed location.
    law = fdd.CompoundFreePoisson([2.0, 5.5], [0.75, 0.25], 0.1)
    (_,), (w0,) = law.atoms()
    (_,), (w1,) = law.decompress(8.0).atoms()
    np.testing.assert_allclose(w1, 1 - (1 - w0) / 8.0, rtol=1e-14)
    levy = fdd.FreeLevy([1.0, 3.0], [0.4, 0.6], 0.5, 1.0, 0.0)
    pos, wts = levy.decompress(1.5).atoms()
    np.testing.assert_allclose(pos, [1.0])
    np.testing.assert_allclose(wts, [1 - 0.5 / 1.5], rtol=1e-14)


def test_deformed_decompression():
    tau = 2.0
    law = fdd.DeformedMarchenkoPastur([1.0, 4.0], [0.3, 0.7], 0.6)
    big = law.decompress(tau)
    np.testing.assert_allclose(float(big.c), tau * 0.6, rtol=1e-15)
    np.testing.assert_allclose(np.asarray(big.t), np.asarray(law.t))
    # H ⊠ MP_c: mean E_H t (invariant), variance Var_H t + c (E_H t)^2.
    e1 = 0.3 * 1.0 + 0.7 * 4.0
    mean0, var0 = _mean_var(law)
    mean1, var1 = _mean_var(big)
    np.testing.assert_allclose([mean0, mean1], [e1, e1], rtol=1e-7)
    np.testing.assert_allclose(var1 - var0, (tau - 1) * 0.6 * e1**2, rtol=1e-7)
    pos, wts = big.atoms()
    assert pos.size == 1 and np.isclose(wts[0], 1 - 1 / (tau * 0.6))


@pytest.mark.parametrize("name", ["dw", "km3", "wachter", "fc2"])
def test_no_closed_form_decompression(name):
    with pytest.raises(NotImplementedError, match="no closed-form"):
        _law(name).decompress(2.0)


# ---------------------------------------------------------------------- validation and transforms


INVALID = [
    lambda: fdd.MarchenkoPastur(0.0),
    lambda: fdd.MarchenkoPastur(-1.0),
    lambda: fdd.MarchenkoPastur(0.5, sigma=0.0),
    lambda: fdd.MarchenkoPastur(np.nan),
    lambda: fdd.Wigner(-2.0),
    lambda: fdd.Wigner(np.inf),
    lambda: fdd.CompoundFreePoisson([1.0, 2.0], [0.5, 0.6], 1.0),  # weights do not sum to 1
    lambda: fdd.CompoundFreePoisson([1.0, 2.0], [1.2, -0.2], 1.0),  # negative weight
    lambda: fdd.CompoundFreePoisson([1.0, 2.0], [1.0], 1.0),  # mismatched lengths
    lambda: fdd.CompoundFreePoisson([1.0, -2.0], [0.5, 0.5], 1.0),  # negative scale
    lambda: fdd.CompoundFreePoisson([1.0, 1.0], [0.5, 0.5], 1.0),  # repeated atom
    lambda: fdd.CompoundFreePoisson([1.0, 2.0], [0.5, 0.5], 0.0),
    lambda: fdd.FreeLevy([1.0], [1.0], 1.0, sigma=-0.1),
    lambda: fdd.FreeLevy([1.0], [1.0], 1.0, a=np.nan),
    lambda: fdd.DeformedWigner([0.0, 1.0], [0.5, 0.5], 0.0),
    lambda: fdd.DeformedWigner([0.0, np.nan], [0.5, 0.5], 1.0),
    lambda: fdd.DeformedMarchenkoPastur([0.0, 1.0], [0.5, 0.5], 0.5),
    lambda: fdd.DeformedMarchenkoPastur([1.0, 2.0], [0.5, 0.5], -0.5),
    lambda: fdd.KestenMcKay(1.5),
    lambda: fdd.Wachter(0.3, 0.5),  # a + b <= 1
    lambda: fdd.Wachter(-1.0, 3.0),
    lambda: fdd.FussCatalan(0),
    lambda: fdd.FussCatalan(2.5),
    lambda: fdd.MarchenkoPastur(0.5).decompress(0.0),
]


@pytest.mark.parametrize("make", INVALID)
def test_invalid_parameters(make):
    with pytest.raises(ValueError):
        make()


def test_kesten_mckay_sampler_needs_integer_degree(getkey):
    with pytest.raises(ValueError, match="integer degree"):
        fdd.KestenMcKay(2.5).sample_matrix(getkey(), 10)


@pytest.mark.parametrize("name", ["freelevy", "dmp", "wachter-atoms", "fc2"])
def test_jit(name):
    law = _law(name)
    z = jnp.asarray(_test_points(law))
    x = jnp.linspace(law.support().min(), law.support().max(), 7)
    m = eqx.filter_jit(lambda lw, zz: lw.stieltjes(zz))(law, z)
    rho = eqx.filter_jit(lambda lw, xx: lw.density(xx))(law, x)
    np.testing.assert_allclose(np.asarray(m), np.asarray(law.stieltjes(z)), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(rho), np.asarray(law.density(x)), rtol=1e-12, atol=1e-14)
    assert law.curve(n0=100.0).n0 == 100.0


def test_decompress_traced_tau():
    law = fdd.FreeLevy([1.0, 3.0], [0.4, 0.6], 0.5, 1.0, 0.3)
    z = jnp.asarray([0.5 + 0.5j, 3.0 + 0.1j])
    m = eqx.filter_jit(lambda tau: law.decompress(tau).stieltjes(z))(jnp.asarray(2.0))
    np.testing.assert_allclose(np.asarray(m), np.asarray(law.decompress(2.0).stieltjes(z)), rtol=1e-12)


def test_sample_shapes_and_keys(getkey):
    key = getkey()
    law = fdd.DeformedMarchenkoPastur([1.0, 4.0], [0.3, 0.7], 0.6)
    a1, a2 = law.sample_matrix(key, 40), law.sample_matrix(key, 40)
    np.testing.assert_array_equal(np.asarray(a1), np.asarray(a2))
    assert not np.allclose(np.asarray(law.sample_matrix(jr.split(key)[0], 40)), np.asarray(a1))
