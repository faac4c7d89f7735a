"""`Shifted`: the law of A + cI, against the closed forms of the semicircle and the Marchenko–Pastur law.

Free decompression of a semicircle of radius r by tau is the semicircle of radius r sqrt(tau);
shifted by c, its density is 2 sqrt(R^2 - (x - c)^2) / (pi R^2) and its moments are the
binomial mixtures of the centred ones. The Marchenko–Pastur law of ratio 2 has an atom of
weight 1/2 at 0, which the shift moves to c.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import freedecomp_jax as fdj
from freedecomp_jax import distributions as D


def _semicircle(x, c, radius):
    u = np.asarray(x) - c
    return 2 * np.sqrt(np.maximum(radius**2 - u**2, 0.0)) / (np.pi * radius**2)


@pytest.mark.parametrize("c", [3.0, -2.5e6])
def test_decompressed_density_is_the_shifted_semicircle(c):
    law = fdj.Shifted(D.Wigner(2.0).curve(100.0), c)
    n = 800.0  # radius 2 sqrt 8
    x = np.asarray(law.grid(fdj.Free(), n, 513))
    assert x.min() < c - 2 * np.sqrt(8) and x.max() > c + 2 * np.sqrt(8)
    spec = fdj.decompress(law, x, n)
    np.testing.assert_allclose(np.asarray(spec.density), _semicircle(x, c, 2 * np.sqrt(8)), atol=1e-10)
    np.testing.assert_allclose(spec.support(), [[c - 2 * np.sqrt(8), c + 2 * np.sqrt(8)]], atol=2 * np.diff(x).max())
    assert np.max(np.abs(np.asarray(spec.moment_errors()))) <= 1e-3


def test_law_at_n0_against_the_closed_form():
    c = 7.0
    law = fdj.Shifted(D.Wigner(2.0).curve(), c)
    x = np.linspace(c - 1.9, c + 1.9, 11)
    np.testing.assert_allclose(np.asarray(law.density(x)), _semicircle(x, c, 2.0), atol=1e-12)
    z = x + 0.5j
    truth = np.array([2 / (-(w - c) - np.sqrt(w - c - 2) * np.sqrt(w - c + 2)) for w in z])
    np.testing.assert_allclose(np.asarray(law.stieltjes(z)), truth, rtol=1e-12)
    # raw moments of c + X, X semicircle of variance 1: E X^2 = 1, E X^4 = 2
    centred = [1.0, 0.0, 1.0, 0.0, 2.0]
    truth = [sum(math.comb(k, j) * centred[j] * c ** (k - j) for j in range(k + 1)) for k in range(5)]
    np.testing.assert_allclose(np.asarray(law.moments(4)), truth, rtol=1e-12)
    mean, central = law.exact_moments(fdj.Free(), 0.0, 4)
    assert float(mean) == pytest.approx(c, abs=1e-12)
    np.testing.assert_allclose(np.asarray(central), centred, atol=1e-12)


def test_atom_moves_with_the_shift():
    c = -40.0
    law = fdj.Shifted(D.MarchenkoPastur(2.0).curve(), c)
    pos, w = (np.asarray(a) for a in law.atoms())
    keep = w > 0
    np.testing.assert_allclose(pos[keep], [c], atol=1e-12)
    np.testing.assert_allclose(w[keep], [0.5], atol=1e-12)
    spec = fdj.decompress(law, law.grid(fdj.Free(), 4.0, 513), 4.0)  # tau = 4: the atom holds 1 - (1 - 1/2)/4
    pos, w = (np.asarray(a) for a in spec.atoms)
    keep = w > 0
    np.testing.assert_allclose(pos[keep], [c], atol=1e-9)
    np.testing.assert_allclose(w[keep], [0.875], atol=1e-9)


def test_only_free_decompression():
    law = fdj.Shifted(D.Wigner(2.0).curve(), 1.0)
    with pytest.raises(ValueError, match="Free"):
        law.evolve(1.0, fdj.Deformed(0.5))


def test_jit_vmap_grad():
    x = jnp.linspace(-20.0, 20.0, 1025)
    dx = x[1] - x[0]
    curve = D.Wigner(2.0).curve(100.0)

    def mean(c):  # the mean of the law at n = 400 on the grid: c
        spec = fdj.decompress(fdj.Shifted(curve, c), x, 400.0, throw=False)
        return jnp.sum(x * spec.density) * dx

    cs = jnp.array([-3.0, 0.5, 4.0])
    batched = jax.jit(jax.vmap(mean))(cs)
    np.testing.assert_allclose(batched, [mean(c) for c in cs], rtol=1e-12)
    np.testing.assert_allclose(batched, cs, atol=1e-3)
    fd = (mean(0.5 + 1e-5) - mean(0.5 - 1e-5)) / 2e-5
    np.testing.assert_allclose(jax.grad(mean)(0.5), fd, rtol=1e-6)


def test_predict_writes_a_far_spectrum_about_its_centre():
    # exact quantiles of the semicircle of radius 2 at m = 500, moved to 1e6: the prediction at
    # n = 4000 is the semicircle of radius 2 sqrt 8 about 1e6
    q = (np.arange(500) + 0.5) / 500
    grid = np.linspace(-2, 2, 200001)
    cdf = 0.5 + (grid / 2 * np.sqrt(1 - (grid / 2) ** 2) + np.arcsin(grid / 2)) / np.pi
    x = 1e6 + np.interp(q, cdf, grid)
    spec, report = fdj.predict(x, 4000, deg=(1, 2), return_report=True)
    assert isinstance(spec.law, fdj.Shifted) and float(spec.law.shift) == pytest.approx(1e6, rel=1e-6)
    g = np.asarray(spec.x)
    np.testing.assert_allclose(np.asarray(spec.density), _semicircle(g, 1e6, 2 * np.sqrt(8)), atol=2e-3)
    assert report.candidates[0].fit_ks is not None and report.candidates[0].fit_ks <= 0.01
