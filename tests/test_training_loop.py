"""A training loop whose jitted step predicts the full Hessian's spectrum every few steps, with no host callback."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.flatten_util import ravel_pytree
from sklearn.datasets import load_digits

import freedecomp_jax as fdj

HIDDEN, SUB, EVERY, DEG = 12, 64, 5, (1, 3)


def problem():
    """A tanh network on 256 of scikit-learn's digits: 64-12-10, 910 parameters. The weights of the 10
    pixels never lit in these images are zero rows of the Hessian (a fixed atom at 0, which `predict`
    sets aside from a matrix input, under jit too)."""
    x, y = load_digits(return_X_y=True)
    x, y = jnp.asarray(x[:256] / 16.0), jnp.asarray(y[:256])
    k1, k2 = jax.random.split(jax.random.key(0))
    params = {
        "w1": jax.random.normal(k1, (x.shape[1], HIDDEN)) / 8.0,
        "b1": jnp.zeros(HIDDEN),
        "w2": jax.random.normal(k2, (HIDDEN, 10)) / np.sqrt(HIDDEN),
        "b2": jnp.zeros(10),
    }

    def loss(p):
        logits = jnp.tanh(x @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"]
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    return loss, params


def make_step(loss, params):
    """One optax step; every `EVERY` steps also the predicted spectrum of the full Hessian from a
    random `SUB` x `SUB` principal submatrix (Hessian-vector products), all in one jitted program."""
    n = ravel_pytree(params)[0].size
    opt = optax.adam(1e-2)

    def spectrum_log(p, key):
        h_sub, _ = fdj.hessian_submatrix(loss, p, SUB, key)
        spec = fdj.predict(h_sub, n, deg=DEG, throw=False)  # the matrix: its zero rows set aside; a failed check is logged, not raised
        return {
            "lambda_max": spec.quantile(1.0 - 0.5 / n),
            "negative_fraction": spec.cdf(-jnp.finfo(jnp.float64).tiny),
            "trace": spec.trace(),
            "log_abs_det": spec.slogdet()[1],
            "check": spec.check._value,
        }

    def step(state, k):
        p, opt_state, key = state
        value, grads = jax.value_and_grad(loss)(p)
        updates, opt_state = opt.update(grads, opt_state)
        p = optax.apply_updates(p, updates)
        key, sub = jax.random.split(key)
        shapes = jax.eval_shape(spectrum_log, p, sub)
        skipped = jax.tree.map(lambda s: jnp.full(s.shape, -1 if s.dtype.kind == "i" else jnp.nan, s.dtype), shapes)
        logs = jax.lax.cond(k % EVERY == 0, lambda: spectrum_log(p, sub), lambda: skipped)
        return (p, opt_state, key), (value, logs)

    return jax.jit(step), (params, opt.init(params), jax.random.key(1)), n


def primitives(jaxpr) -> set[str]:
    """Every primitive of a jaxpr and of the jaxprs nested in it (cond branches, loops, custom rules)."""
    names = set()
    for eqn in jaxpr.eqns:
        names.add(eqn.primitive.name)
        for value in eqn.params.values():
            for sub in value if isinstance(value, (tuple, list)) else (value,):
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    names |= primitives(inner)
    return names


def test_the_jitted_step_has_no_host_callback():
    loss, params = problem()
    step, state, _ = make_step(loss, params)
    names = primitives(jax.make_jaxpr(step)(state, 0).jaxpr)
    assert "cond" in names and "eigh" in names  # the logging branch and the submatrix's eigenvalues are in the program
    assert not [name for name in names if "callback" in name], names


@pytest.mark.slow
def test_the_logged_spectrum_against_the_full_hessian():
    loss, params = problem()
    step, state, n = make_step(loss, params)
    logged = []
    for k in range(2 * EVERY + 1):
        state, (value, logs) = step(state, k)
        if k % EVERY == 0:
            logged.append(jax.tree.map(float, logs))
    # the never-lit pixels' zero rows make the Hessian singular: log|det| = -inf, every other figure finite
    assert all(np.isfinite(v) for log in logged for key, v in log.items() if key != "log_abs_det")
    assert all(log["log_abs_det"] == -np.inf for log in logged)
    # the truth at the last logged step: the dense Hessian of all 910 parameters (the prediction used
    # the parameters after that step's update, which the state holds after the last call)
    p = state[0]
    flat, unravel = ravel_pytree(p)
    hess = jax.hessian(lambda f: loss(unravel(f)))(flat)
    diag = np.diag(np.asarray(hess))
    assert np.linalg.slogdet(np.asarray(hess))[0] == 0.0  # singular indeed
    last = logged[-1]
    assert last["check"] == int(fdj.RESULTS.successful._value)
    # free decompression keeps the mean: the trace is n/m times the submatrix's, a sample of SUB diagonal entries
    sd = n * np.std(diag) * np.sqrt((1 - SUB / n) / SUB)
    assert abs(last["trace"] - np.trace(hess)) <= 4 * sd
    assert abs(last["trace"] - np.trace(hess)) > 0  # a prediction, not the dense value
