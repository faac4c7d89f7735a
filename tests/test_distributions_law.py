"""The closed-form laws of `fdj.distributions` are `AbstractSpectralLaw`s: `decompress`,
`Spectrum` and its quantities take them as they take a fitted law.

Truths independent of the library's code paths:
- the Marchenko-Pastur density and atom written out here from the textbook formula (free
  decompression by tau takes the ratio lam to tau lam);
- free cumulants under free decompression, kappa_j -> tau^(j-1) kappa_j, applied to the
  moments of the law's closed-form density (integrated here with scipy) through the
  moment-cumulant recursion, for laws whose decompression has no closed form (the library
  then evolves their curve).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate

import freedecomp_jax as fdj

D = fdj.distributions


def _mp_density(x, lam, s2=1.0):
    a, b = s2 * (1 - np.sqrt(lam)) ** 2, s2 * (1 + np.sqrt(lam)) ** 2
    inside = (x > a) & (x < b)
    out = np.zeros_like(x)
    out[inside] = np.sqrt((b - x[inside]) * (x[inside] - a)) / (2 * np.pi * lam * s2 * x[inside])
    return out


@pytest.mark.parametrize("lam", [0.3, 2.0])
def test_marchenko_pastur_decompressed_through_the_interface(lam):
    law = D.MarchenkoPastur(lam, n0=100.0)
    tau = 8.0
    b = (1 + np.sqrt(tau * lam)) ** 2
    x = np.linspace(1e-3, 1.05 * b, 801)
    spec = fdj.decompress(law, x, 100.0 * tau)
    want = _mp_density(x, tau * lam)
    assert np.max(np.abs(np.asarray(spec.density) - want)) <= 1e-10 * np.max(want)
    pos, w = (np.asarray(a) for a in spec.atoms)
    want_atom = max(0.0, 1 - 1 / (tau * lam))
    assert abs(float(np.sum(w[pos == 0.0])) - want_atom) <= 1e-12
    # the Spectrum's CDF against scipy's integral of the textbook density (plus the atom)
    for xq in (0.5 * b, 0.8 * b):
        cdf = integrate.quad(lambda s: _mp_density(np.array([s]), tau * lam)[0], 0, xq, limit=200)[0] + want_atom
        assert abs(float(spec.cdf(xq)) - cdf) <= 2e-4
    assert abs(float(spec.size) - 800.0) <= 1e-9


def _moments_from_density(law, k):
    (lo, hi), = law.support()
    pos, w = (np.asarray(a) for a in law.atoms())
    ac = [integrate.quad(lambda s: s**j * float(law.density(s)), lo, hi, limit=400)[0] for j in range(k + 1)]
    return np.array(ac) + np.array([np.sum(w * pos**j) for j in range(k + 1)])


def _free_cumulants(m):
    """kappa_1..kappa_K from moments m_0..m_K by m_n = sum_s kappa_s [z^(n-s)] M(z)^s, M = sum m_j z^j."""
    K = len(m) - 1
    kappa = np.zeros(K + 1)
    for n in range(1, K + 1):
        total = 0.0
        power = np.zeros(K + 1)
        power[0] = 1.0
        for s in range(1, n + 1):
            power = np.convolve(power, m)[: K + 1]
            if s < n:
                total += kappa[s] * power[n - s]
        kappa[n] = m[n] - total  # the s = n term is kappa_n (coefficient [z^0] M^n = 1)
    return kappa


def _moments_from_cumulants(kappa):
    K = len(kappa) - 1
    m = np.zeros(K + 1)
    m[0] = 1.0
    for n in range(1, K + 1):
        power = np.zeros(K + 1)
        power[0] = 1.0
        total = 0.0
        for s in range(1, n + 1):
            power = np.convolve(power, m)[: K + 1]
            total += kappa[s] * power[n - s]
        m[n] = total
    return m


@pytest.mark.parametrize("law", [pytest.param(D.KestenMcKay(3.0), marks=pytest.mark.slow), D.Wachter(1.6, 2.0)], ids=["kesten-mckay", "wachter"])
def test_law_without_closed_form_decompresses_by_its_curve(law):
    # A law is decompressible only while kappa_j tau^(j-1) stay the cumulants of a measure;
    # for Kesten-McKay(3), m4 >= m2^2 fails beyond tau = 3, so stay well inside.
    tau = 1.25
    m = _moments_from_density(law, 4)
    kappa = _free_cumulants(m)
    want = _moments_from_cumulants(kappa * tau ** (np.arange(5) - 1.0))
    x = np.asarray(law.grid(fdj.Free(), tau, 1536))  # the evolved curve's support, padded
    spec = fdj.decompress(law, x, tau)
    assert abs(float(spec.mass()) - 1.0) <= 1e-3
    rho = np.asarray(spec.density)  # the density on the grid itself (spec.moment is the law's exact moments)
    got = np.array([np.trapezoid(x**j * rho, x) / np.trapezoid(rho, x) for j in range(1, 5)])
    scale = want[2] ** (np.arange(1, 5) / 2)
    np.testing.assert_allclose(got / scale, want[1:] / scale, atol=2e-3)


def test_moments_match_the_density():
    for law in (D.MarchenkoPastur(0.5), D.Wigner(2.0), D.CompoundFreePoisson([1.0, 4.0], [0.5, 0.5], 0.6)):
        np.testing.assert_allclose(np.asarray(law.moments(4)), _moments_from_density(law, 4), rtol=1e-7, atol=1e-9)


def test_jit_vmap_grad():
    x = jnp.linspace(1e-3, 6.0, 600)

    def second_moment(lam):
        return fdj.decompress(D.MarchenkoPastur(lam), x, 8.0).moment(2)

    lams = jnp.array([0.03, 0.05, 0.06])  # lam' = 8 lam <= 0.48: soft edges, well resolved
    got = jax.jit(jax.vmap(second_moment))(lams)
    np.testing.assert_allclose(np.asarray(got), 1 + 8 * np.asarray(lams), rtol=2e-3)  # E x^2 = 1 + lam'
    # the moments are the law's exact ones at size n: d(1 + 8 lam)/d lam = 8, also against finite differences
    h = 1e-6
    fd = (float(second_moment(0.05 + h)) - float(second_moment(0.05 - h))) / (2 * h)
    g = float(jax.grad(second_moment)(0.05))
    assert abs(g - 8.0) <= 1e-8 and abs(fd - 8.0) <= 1e-6
