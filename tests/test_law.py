"""A new law is one file: a semicircle written from scratch against `AbstractSpectralLaw` gets
`decompress`, `Spectrum` (quantiles, moments, support) and `predict`'s check for free.

The truth is the closed form: free decompression of a semicircle of variance v by tau is the
semicircle of variance tau v (free cumulants kappa_2 -> tau kappa_2), with CDF
F(x) = 1/2 + (u sqrt(1 - u^2) + arcsin u) / pi, u = x / (2 sqrt v).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import freedecomp_jax as fdj
from freedecomp_jax._select import _check


class Semicircle(fdj.AbstractSpectralLaw):
    """Wigner's semicircle of variance `variance` at size `n0`: m(z) = (-z + sqrt(z^2 - 4v)) / (2v)."""

    variance: jax.Array
    n0: jax.Array

    def __init__(self, variance, n0):
        self.variance = jnp.asarray(variance, dtype=jnp.float64)
        self.n0 = jnp.asarray(n0, dtype=jnp.float64)

    def stieltjes(self, z):
        z = jnp.asarray(z, dtype=jnp.complex128)
        v = self.variance
        # the branch of sqrt(z - 2 sqrt v) sqrt(z + 2 sqrt v) that behaves like z at infinity
        r = jnp.sqrt(z - 2 * jnp.sqrt(v)) * jnp.sqrt(z + 2 * jnp.sqrt(v))
        return (-z + r) / (2 * v)  # a real z inside the support is read as z + i0: Im m > 0

    def density(self, x):
        x = jnp.asarray(x, dtype=jnp.float64)
        d = 4 * self.variance - x**2
        inside = d > 0
        return jnp.where(inside, jnp.sqrt(jnp.where(inside, d, 1.0)), 0.0) / (2 * jnp.pi * self.variance)

    def atoms(self):
        return jnp.zeros(0), jnp.zeros(0)

    def moments(self, k):
        from math import comb

        out = [comb(j, j // 2) / (j // 2 + 1) * self.variance ** (j // 2) if j % 2 == 0 else 0.0 * self.variance for j in range(k + 1)]
        return jnp.stack([jnp.asarray(v, dtype=jnp.float64) for v in out])

    def support(self):
        r = 2 * float(np.sqrt(self.variance))
        return np.array([[-r, r]])

    def evolve(self, t, kind=fdj.Free()):
        if not isinstance(kind, fdj.Free):
            raise ValueError("a semicircle is decompressed freely only")
        tau = jnp.exp(jnp.asarray(t, dtype=jnp.float64))
        return Semicircle(tau * self.variance, tau * self.n0)


def _cdf(x, v):
    r = 2 * np.sqrt(v)
    u = np.clip(x / r, -1, 1)
    return 0.5 + (u * np.sqrt(1 - u**2) + np.arcsin(u)) / np.pi


def test_new_law_gets_the_pipeline_for_free():
    law = Semicircle(1.0, 500)
    n = 4000  # tau = 8: variance 8, radius 2 sqrt 8
    x = np.asarray(law.grid(fdj.Free(), n, 1024))
    assert x.min() < -2 * np.sqrt(8) and x.max() > 2 * np.sqrt(8)
    spec = fdj.decompress(law, x, n)
    assert np.all(np.asarray(spec.result == fdj.RESULTS.successful))
    truth = np.sqrt(np.maximum(32 - x**2, 0)) / (16 * np.pi)
    np.testing.assert_allclose(np.asarray(spec.density), truth, atol=1e-12)
    q = np.array([0.01, 0.25, 0.5, 0.9])
    got = np.asarray(spec.quantile(q))
    np.testing.assert_allclose(_cdf(got, 8.0), q, atol=2e-4)  # piecewise-linear density on the grid
    assert np.max(np.abs(np.asarray(spec.moment_errors()))) <= 1e-3
    np.testing.assert_allclose(spec.support(), [[-2 * np.sqrt(8), 2 * np.sqrt(8)]], atol=2 * np.diff(x).max())
    assert _check(spec)[0] is None  # predict's check passes it
    ev = np.asarray(spec.eigvalsh())
    assert ev.shape == (n,) and np.all(np.diff(ev) >= 0)


def test_new_law_under_jit_vmap_grad():
    x = jnp.linspace(-7.0, 7.0, 257)

    def total(v):
        return jnp.sum(fdj.decompress(Semicircle(v, 100.0), x, 800.0, throw=False).density) * (x[1] - x[0])

    vs = jnp.array([0.5, 1.0, 2.0])
    batched = jax.jit(jax.vmap(total))(vs)
    np.testing.assert_allclose(batched, [total(v) for v in vs], rtol=1e-12)
    g = jax.grad(total)(1.0)
    fd = (total(1.0 + 1e-6) - total(1.0 - 1e-6)) / 2e-6
    np.testing.assert_allclose(g, fd, rtol=1e-5)


def test_new_law_refuses_a_kind_it_has_not():
    with pytest.raises(ValueError, match="freely only"):
        fdj.decompress(Semicircle(1.0, 100), np.linspace(-3, 3, 9), 200, fdj.Deformed(0.5))
