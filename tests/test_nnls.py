"""`_nnls.nnls` against SciPy's Lawson–Hanson solver, under `jit` and `vmap`, and its derivative against finite differences."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import nnls as scipy_nnls

from freedecomp_jax._nnls import nnls


@pytest.mark.parametrize("rows, cols, seed", [(40, 12, 0), (400, 30, 1), (30, 30, 2)])
def test_equals_scipy(rows, cols, seed):
    rng = np.random.default_rng(seed)
    A, b = rng.standard_normal((rows, cols)), rng.standard_normal(rows)
    x = np.asarray(jax.jit(nnls, static_argnums=2)(A, b, 200))
    expected, _ = scipy_nnls(A, b)
    assert np.all(x >= 0) and np.any(x > 0) and np.any(x == 0)  # some bounds active, some not
    np.testing.assert_allclose(x, expected, atol=1e-10)


def test_dependent_columns():
    # a repeated column and one that is a sum of two others: the fitted values A x equal SciPy's (x itself is not
    # unique), finite and non-negative
    rng = np.random.default_rng(4)
    A = rng.standard_normal((50, 8))
    A = np.concatenate([A, A[:, :1], A[:, 1:2] + A[:, 2:3]], axis=1)
    b = A @ np.abs(rng.standard_normal(10)) + 0.1 * rng.standard_normal(50)
    x = np.asarray(jax.jit(nnls, static_argnums=2)(A, b, 200))
    expected, _ = scipy_nnls(A, b)
    assert np.all(np.isfinite(x)) and np.all(x >= 0)
    np.testing.assert_allclose(A @ x, A @ expected, atol=1e-9)


def test_vmap_equals_single_calls_and_grad_equals_finite_differences():
    rng = np.random.default_rng(3)
    A, bs = rng.standard_normal((60, 10)), rng.standard_normal((4, 60))
    batched = jax.jit(jax.vmap(lambda b: nnls(A, b, 100)))(bs)
    np.testing.assert_allclose(batched, np.stack([scipy_nnls(A, b)[0] for b in bs]), atol=1e-10)

    def f(b):  # a smooth functional of the solution at its active set
        return jnp.sum(nnls(A, b, 100) ** 2)

    b, h = bs[0], 1e-6
    g = jax.jit(jax.grad(f))(b)
    fd = jax.jit(jax.vmap(lambda e: (f(b + h * e) - f(b - h * e)) / (2 * h)))(np.eye(b.size))
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)


def test_grad_in_the_matrix_equals_finite_differences():
    rng = np.random.default_rng(5)
    A, b = rng.standard_normal((60, 10)), rng.standard_normal(60)

    def f(A):
        x = nnls(A, b, 100)
        return jnp.sum(x**2) + jnp.sum(A @ x)

    V, h = rng.standard_normal(A.shape), 1e-6
    g = jax.jit(jax.grad(f))(A)
    fd = (f(A + h * V) - f(A - h * V)) / (2 * h)
    np.testing.assert_allclose(jnp.sum(g * V), fd, rtol=1e-6)
