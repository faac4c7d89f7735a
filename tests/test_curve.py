import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import normalized

import freedecomp_jax as fdj
from freedecomp_jax import distributions as D

FL = dict(t=[2.0, 5.5], w=[0.75, 0.25], lam=0.1, a=0.0, sigma=0.4)
CFP = dict(t=[2.0, 5.5], w=[0.75, 0.25], lam=0.1)


def test_evaluation_and_derivatives():
    c = np.array([[1.0, -0.5, 0.0], [0.0, 1.0, 0.5]])  # MP(0.5)
    cur = fdj.SpectralCurve(c)
    z, m = 0.3 + 0.7j, -0.2 + 0.4j
    P = lambda z, m: 1 - 0.5 * m + z * m + 0.5 * z * m**2  # noqa: E731
    assert cur.P(z, m) == pytest.approx(P(z, m))
    h = 1e-6
    assert cur.P_z(z, m) == pytest.approx((P(z + h, m) - P(z - h, m)) / (2 * h), rel=1e-8)
    assert cur.P_m(z, m) == pytest.approx((P(z, m + h) - P(z, m - h)) / (2 * h), rel=1e-8)
    assert cur.P_mm(z, m) == pytest.approx(z, rel=1e-12)
    assert cur.P_zm(z, m) == pytest.approx(1 + 2 * 0.5 * m, rel=1e-12)
    assert cur.P_zz(z, m) == 0


@pytest.mark.parametrize("tau", [2.0, 8.0, 64.0])
@pytest.mark.parametrize(
    "law",
    [D.FreeLevy(**FL), D.CompoundFreePoisson(**CFP), D.MarchenkoPastur(0.3), D.Wigner(1.5)],
    ids=["FreeLevy", "CFP", "MP", "Wigner"],
)
def test_free_evolution_is_exact(law, tau):
    evolved = law.curve().evolve(np.log(tau))
    exact = law.decompress(tau).curve()
    np.testing.assert_allclose(normalized(evolved.coeffs), normalized(exact.coeffs), atol=1e-10)
    assert float(evolved.n0) == pytest.approx(tau)


@pytest.mark.parametrize("tau", [2.0, 8.0, 64.0])
@pytest.mark.parametrize("c0", [0.1 / 32, 0.1, 0.6])
def test_deformed_evolution_is_exact(tau, c0):
    law = D.DeformedMarchenkoPastur([2.0, 5.5], [0.75, 0.25], c0)
    evolved = law.curve().evolve(np.log(tau), fdj.Deformed(c0))
    exact = law.decompress(tau).curve()
    np.testing.assert_allclose(normalized(evolved.coeffs), normalized(exact.coeffs), atol=1e-10)


def test_evolution_is_a_semigroup_and_vanishes_on_the_exact_branch():
    cur = D.FreeLevy(**FL).curve()
    a = cur.evolve(0.4).evolve(0.9)
    b = cur.evolve(1.3)
    np.testing.assert_allclose(normalized(a.coeffs), normalized(b.coeffs), atol=1e-10)
    z = np.array([0.5 + 0.1j, 3.0 + 0.01j, -1.0 + 2.0j])
    m = np.asarray(D.FreeLevy(**FL).decompress(np.exp(1.3)).stieltjes(z))
    c = np.asarray(b.coeffs)
    i, j = np.indices(c.shape)
    terms = np.abs(c)[None] * np.abs(z)[:, None, None] ** i * np.abs(m)[:, None, None] ** j
    assert np.all(np.abs(np.asarray(b.P(z, m))) <= 1e-12 * terms.sum(axis=(1, 2)))


def test_laurent_series_moments():
    lam = 0.3
    mp = D.MarchenkoPastur(lam).curve()
    mu = np.asarray(mp.moments(4))
    np.testing.assert_allclose(mu, [1, 1, 1 + lam, 1 + 3 * lam + lam**2, 1 + 6 * lam + 6 * lam**2 + lam**3], rtol=1e-12)
    km = D.KestenMcKay(3).curve()
    np.testing.assert_allclose(np.asarray(km.moments(6)), [1, 0, 3, 0, 15, 0, 87], atol=1e-10)
    # series agrees with the law's Stieltjes transform far from the support
    z = 40.0 + 30.0j
    S = np.asarray(mp.laurent(30))
    series = np.sum(S * z ** (-np.arange(1, 31)))
    assert series == pytest.approx(complex(D.MarchenkoPastur(lam).stieltjes(z)), rel=1e-13)


def test_branch_points_are_the_edges():
    law = D.FreeLevy(**FL)
    bp = np.asarray(law.curve().branch_points())
    real = np.sort(bp[np.abs(bp.imag) < 1e-8].real)
    edges = np.sort(np.asarray(law.support()).ravel())
    for e in edges:
        assert np.abs(real - e).min() <= 1e-8 * (1 + abs(e))


def test_jit_vmap_grad_of_evolve():
    cur = D.MarchenkoPastur(0.3).curve()
    f = jax.jit(lambda c, t: fdj.SpectralCurve(c).evolve(t).coeffs)
    np.testing.assert_allclose(f(cur.coeffs, 0.5), cur.evolve(0.5).coeffs, atol=1e-15)
    ts = jnp.array([0.1, 0.5, 2.0])
    out = jax.vmap(lambda t: cur.evolve(t).coeffs)(ts)
    for k, t in enumerate(ts):
        np.testing.assert_allclose(out[k], cur.evolve(float(t)).coeffs, atol=1e-15)
    g = jax.grad(lambda t: cur.evolve(t).coeffs[0, 1])(0.5)
    h = 1e-6
    fd = (cur.evolve(0.5 + h).coeffs[0, 1] - cur.evolve(0.5 - h).coeffs[0, 1]) / (2 * h)
    assert float(g) == pytest.approx(float(fd), rel=1e-6)


@pytest.mark.parametrize(
    "coeffs, match",
    [
        ([[1.0, np.nan], [0.0, 1.0]], "NaN or inf"),
        ([[1.0, np.inf], [0.0, 1.0]], "NaN or inf"),
        (np.zeros((2, 3)), "all zero"),
        (np.ones(4), "2-D array"),
        (np.ones((1, 3)), "2-D array"),
        (np.ones((2, 2)) * (1 + 1j), "real"),
    ],
)
def test_bad_coefficients(coeffs, match):
    with pytest.raises(ValueError, match=match):
        fdj.SpectralCurve(coeffs)


def test_bad_evolution_arguments():
    cur = D.MarchenkoPastur(0.3).curve()
    with pytest.raises(ValueError, match="n >= n0"):
        cur.evolve(-0.1)
    with pytest.raises(ValueError, match="positive finite scalar ratio"):
        cur.evolve(0.1, fdj.Deformed(-1.0))
    with pytest.raises(ValueError, match="n0"):
        fdj.SpectralCurve(cur.coeffs, n0=-5)


def test_x64_required():
    """Importing never flips x64; using the library without it fails with the one-line fix."""
    code = (
        "import jax, freedecomp_jax as fdj\n"
        "assert not jax.config.jax_enable_x64\n"
        "try:\n    fdj.SpectralCurve([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])\n"
        "except ValueError as e:\n    print(e)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert "jax.config.update('jax_enable_x64', True)" in out.stdout
