"""hessian_submatrix and kernel_submatrix against independent truths: the full `jax.hessian`
restricted to the drawn indices, and an explicit double loop over a kernel on real data."""

import functools

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree
from sklearn.datasets import load_iris

import freedecomp_jax as fdj


def _mlp(seed, sizes=(5, 10, 8, 1)):
    """Params of an MLP as a pytree of layers, and data: N = 50+10+80+8+8+1 = 157 for the default sizes.

    NumPy draws: eager JAX ops would each compile a kernel, the bulk of a small test's time."""
    rng = np.random.default_rng(seed)
    params = [{"w": rng.standard_normal((a, b)) / np.sqrt(a), "b": 0.1 * rng.standard_normal(b)} for a, b in zip(sizes[:-1], sizes[1:])]
    return params, rng.standard_normal((16, sizes[0])), rng.standard_normal((16, sizes[-1]))


def _loss(params, x, y, acts=(jnp.tanh, jax.nn.relu)):
    """Mean squared error of the MLP: tanh on the first hidden layer, relu on the second."""
    h = x
    for layer, act in zip(params[:-1], acts):
        h = act(h @ layer["w"] + layer["b"])
    out = h @ params[-1]["w"] + params[-1]["b"]
    return jnp.mean((out - y) ** 2)


def _truth(loss, params):
    flat, unravel = ravel_pytree(params)
    return np.asarray(jax.jit(jax.hessian(lambda p: loss(unravel(p))))(flat))


@pytest.fixture(scope="module")
def mlp():
    """An MLP's loss (tanh and relu layers), params (N = 157) and its full Hessian by `jax.hessian`, the truth."""
    params, x, y = _mlp(1)
    loss = functools.partial(_loss, x=x, y=y)
    return loss, params, _truth(loss, params)


def _check(h_sub, idx, truth, m):
    idx = np.asarray(idx)
    assert h_sub.shape == (m, m) and idx.shape == (m,) and h_sub.dtype == jnp.float64
    assert len(set(idx.tolist())) == m and idx.min() >= 0 and idx.max() < len(truth) and np.all(np.diff(idx) > 0)
    np.testing.assert_allclose(h_sub, truth[np.ix_(idx, idx)], rtol=0, atol=1e-10)
    np.testing.assert_array_equal(h_sub, h_sub.T)


def test_hessian_submatrix_matches_full_hessian(mlp):
    loss, params, truth = mlp
    h_sub, idx = fdj.hessian_submatrix(loss, params, 40, jr.key(0), chunk=7)  # a typed key; chunk does not divide m
    _check(h_sub, idx, truth, 40)
    jitted = jax.jit(fdj.hessian_submatrix, static_argnums=(0, 2), static_argnames="chunk")
    h_sub, idx = jitted(loss, params, 157, jr.PRNGKey(1), chunk=50)  # m = N: the whole Hessian
    _check(h_sub, idx, truth, 157)


def test_hessian_submatrix_vmap_over_keys(mlp):
    loss, params, truth = mlp
    many = jax.jit(lambda key: jax.vmap(lambda k: fdj.hessian_submatrix(loss, params, 20, k, chunk=6))(jr.split(key, 3)))
    h_many, idx_many = many(jr.PRNGKey(3))
    for h, i in zip(h_many, idx_many):
        _check(h, i, truth, 20)
    assert len({tuple(i) for i in np.asarray(idx_many).tolist()}) == 3  # different keys, different draws


def test_hessian_submatrix_grad_matches_finite_differences():
    params, x, y = _mlp(4, sizes=(2, 3, 1))
    loss = functools.partial(_loss, x=x, y=y)
    key = jr.PRNGKey(4)
    weight = np.random.default_rng(4).standard_normal((6, 6))

    def objective(p):
        return jnp.sum(weight * fdj.hessian_submatrix(loss, p, 6, key, chunk=4)[0])

    # one compiled program for both sides: the value at shifted points is the finite difference
    value_and_grad = jax.jit(lambda f: jax.value_and_grad(lambda g: objective(ravel_pytree(params)[1](g)))(f))
    flat = np.concatenate([np.ravel(leaf) for leaf in jax.tree_util.tree_leaves(params)])  # ravel_pytree's order
    grad = np.asarray(value_and_grad(flat)[1])
    assert np.all(np.isfinite(grad))
    eps = 1e-5
    for j in range(0, flat.size, 2):
        e = np.zeros(flat.size)
        e[j] = eps
        fd = (value_and_grad(flat + e)[0] - value_and_grad(flat - e)[0]) / (2 * eps)
        np.testing.assert_allclose(grad[j], fd, rtol=1e-6, atol=1e-8)


def test_kernel_submatrix_matches_double_loop_on_iris():
    data, _ = load_iris(return_X_y=True)
    rbf = lambda x, y: jnp.exp(-jnp.sum((x - y) ** 2) / 2.0)  # noqa: E731
    k_sub, idx = fdj.kernel_submatrix(rbf, data, 37, jr.PRNGKey(5), chunk=10)
    idx = np.asarray(idx)
    assert len(set(idx.tolist())) == 37 and idx.min() >= 0 and idx.max() < len(data)
    pts = data[idx]
    truth = np.array([[np.exp(-np.sum((a - b) ** 2) / 2.0) for b in pts] for a in pts])
    np.testing.assert_allclose(k_sub, truth, rtol=1e-13, atol=0)
    np.testing.assert_array_equal(k_sub, k_sub.T)


def test_kernel_submatrix_pytree_data_and_features_under_jit():
    feats = np.random.default_rng(6).standard_normal((50, 4))
    key = jr.PRNGKey(6)
    gram, idx = jax.jit(fdj.kernel_submatrix, static_argnums=(0, 2))(jnp.dot, feats, 12, key)
    np.testing.assert_allclose(gram, (feats @ feats.T)[np.ix_(idx, idx)], rtol=1e-13)
    data = {"f": feats, "s": np.arange(50.0)}
    kern = lambda a, b: a["f"] @ b["f"] + a["s"] * b["s"]  # noqa: E731
    gram2, idx2 = fdj.kernel_submatrix(kern, data, 12, key)
    np.testing.assert_array_equal(idx2, idx)
    np.testing.assert_allclose(gram2, np.asarray(gram) + np.outer(idx, idx), rtol=1e-13)


def test_bad_inputs_name_the_argument():
    params, x, y = _mlp(7)
    loss = functools.partial(_loss, x=x, y=y)
    key = jr.PRNGKey(7)
    for m in (1, 158, 0):
        with pytest.raises(ValueError, match="^m must be an int with 2 <= m <= 157"):
            fdj.hessian_submatrix(loss, params, m, key)
    with pytest.raises(ValueError, match="^chunk must be"):
        fdj.hessian_submatrix(loss, params, 10, key, chunk=0)
    with pytest.raises(ValueError, match="^params must be a pytree of float arrays.*int"):
        fdj.hessian_submatrix(lambda p: jnp.sum(p[0] ** 2), [np.ones(3), np.arange(3)], 2, key)
    with pytest.raises(ValueError, match="^loss must return a float scalar"):
        fdj.hessian_submatrix(lambda p: p[0]["b"] ** 2, params, 10, key)
    with pytest.raises(ValueError, match="^m must be an int with 2 <= m <= 4"):
        fdj.kernel_submatrix(jnp.dot, np.ones((4, 2)), 5, key)
    with pytest.raises(ValueError, match="^data must be an array"):
        fdj.kernel_submatrix(jnp.dot, {"a": np.ones((4, 2)), "b": np.ones(3)}, 2, key)
    with pytest.raises(ValueError, match="^kernel must return a scalar"):
        fdj.kernel_submatrix(lambda a, b: a * b, np.ones((4, 2)), 2, key)
