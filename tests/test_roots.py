import jax
import jax.numpy as jnp
import numpy as np
import pytest

from freedecomp_jax import Aberth, polyroots


def _backward_error(a, r):
    p = np.polynomial.polynomial.polyval(r, a)
    s = np.polynomial.polynomial.polyval(np.abs(r), np.abs(a))
    return np.abs(p) / s


@pytest.mark.parametrize("K", [1, 2, 3, 5, 8, 12, 16])
def test_backward_error_random(K):
    rng = np.random.default_rng(K)
    A = rng.normal(size=(64, K + 1)) + 1j * rng.normal(size=(64, K + 1))
    res = jax.jit(jax.vmap(polyroots))(A)
    assert bool(res.converged.all())
    for a, r in zip(A, np.asarray(res.roots)):
        assert _backward_error(a, r).max() <= 1e-12
        # the roots are the polynomial's: compare with numpy's companion matrix
        ref = np.roots(a[::-1])
        d = np.abs(r[:, None] - ref[None, :])
        assert d.min(axis=1).max() <= 1e-8 * max(1.0, np.abs(ref).max())


def test_widely_spread_real_roots():
    roots = np.array([1e-10, 3e-6, 1e-2, 1.0, 7e2, -4e3])
    a = np.polynomial.polynomial.polyfromroots(roots)
    res = polyroots(a)
    got = np.sort(np.asarray(res.roots).real)
    np.testing.assert_allclose(got, np.sort(roots), rtol=1e-9)
    assert bool(res.converged)


def test_vanishing_leading_coefficient_gives_root_at_infinity():
    res = polyroots(jnp.array([2.0, -3.0, 1.0, 0.0]))  # (x-1)(x-2) padded
    r = np.asarray(res.roots)
    finite = np.sort(r[np.abs(r) < 1e6].real)
    np.testing.assert_allclose(finite, [1.0, 2.0], rtol=1e-12)
    assert np.sum(np.abs(r) > 1e100) == 1


def test_status_reports_non_convergence():
    a = np.polynomial.polynomial.polyfromroots(np.arange(1, 13) * (1 + 0.1j))
    res = polyroots(a, Aberth(max_steps=1, polish=0))
    assert not bool(res.converged)


def test_grad_free_and_bad_input():
    with pytest.raises(ValueError, match="coefficient array"):
        polyroots(jnp.ones((2, 3)))


def test_roots_are_differentiable():
    a = jnp.array([2.0, -3.0, 1.0, 0.5])

    def f(a):
        return jnp.sum(jnp.abs(polyroots(a).roots) ** 2)

    g = jax.grad(f)(a)
    h = 1e-6
    for i in range(4):
        e = jnp.zeros(4).at[i].set(h)
        fd = (np.sum(np.abs(np.roots((a + e)[::-1])) ** 2) - np.sum(np.abs(np.roots((a - e)[::-1])) ** 2)) / (2 * h)
        assert float(g[i]) == pytest.approx(fd, rel=1e-6)
