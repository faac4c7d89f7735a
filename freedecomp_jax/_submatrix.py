r"""Random principal submatrices of matrices too big to form: a loss's Hessian and a kernel's Gram matrix.

Free decompression takes as input the spectrum of an $m \times m$ *principal* submatrix
$A_m = S^\top A S$ of the huge $N \times N$ matrix $A$, where $S \in \{0, 1\}^{N \times m}$ selects
$m$ distinct indices drawn uniformly at random. These helpers build $A_m$ without ever forming
$A$: the Hessian's rows come from $m$ Hessian-vector products, the Gram matrix from $m^2$ kernel
evaluations. Both are pure JAX, keep the dtype of their inputs (no 64-bit mode needed: cast the
result before [`predict`][freedecomp_jax.predict]) and `jit` with `m` and `chunk` static.
"""

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax.flatten_util import ravel_pytree
from jaxtyping import PRNGKeyArray, PyTree

from ._custom_types import Array, Float, Int, Shaped


def hessian_submatrix(
    loss: Callable[..., Any],
    params: PyTree,
    m: int | np.integer,
    key: PRNGKeyArray,
    *,
    chunk: int | np.integer = 32,
) -> tuple[Float[Array, "m m"], Int[Array, " m"]]:
    r"""The Hessian of `loss` at `params` restricted to $m$ random parameters, by Hessian-vector products.

    With $H = \nabla^2 L(\theta) \in \mathbb{R}^{N \times N}$ over the $N$ flattened parameters
    and $S = [e_{i_1}, \dots, e_{i_m}]$ for $m$ distinct indices $i_1 < \dots < i_m$ drawn
    uniformly, returns the principal submatrix

    $$H_{\mathrm{sub}} = S^\top H S, \qquad (H_{\mathrm{sub}})_{jk} = H_{i_j i_k},$$

    which is what free decompression takes as input. Column $k$ is $S^\top (H e_{i_k})$, one
    forward-over-reverse Hessian-vector product (`jax.linearize` of `jax.grad`, so the primal
    pass runs once), vmapped over batches of at most `chunk` of them that run one after the
    other (`jax.lax.map`), so memory is $O(\mathrm{chunk} \cdot N)$ on top of one gradient's,
    and the cost is $m$ HVPs (plus fewer than $m/\mathrm{chunk}$ to fill the last batch). The result
    is symmetrised, $(H_{\mathrm{sub}} + H_{\mathrm{sub}}^\top)/2$, against rounding.

    **Arguments:**

    - `loss`: `loss(params) -> scalar`, twice differentiable.
    - `params`: any pytree of float arrays (e.g. an Equinox model's
      `eqx.filter(model, eqx.is_inexact_array)`); $N$ is its total number of entries.
    - `m`: the submatrix size, an int with $2 \le m \le N$. Static under `jit`.
    - `key`: a PRNG key for the indices.
    - `chunk`: Hessian-vector products per batch (any int $\ge 1$; need not divide `m`). Static.

    **Returns:** `(H_sub, idx)`: the symmetric `(m, m)` matrix in the parameters' dtype and the
    sorted int indices `(m,)` into the flattened parameters (`jax.flatten_util.ravel_pytree`
    order). `jit`, `vmap` over keys and `grad` with respect to `params` go through.

    !!! example

        ```python
        H_sub, idx = fdj.hessian_submatrix(loss, params, 1024, jax.random.key(0))
        N = jax.flatten_util.ravel_pytree(params)[0].size
        lam = fdj.eigvalsh(H_sub, N)    # the predicted spectrum of the full N x N Hessian
        # under jit: jax.jit(fdj.hessian_submatrix, static_argnums=(0, 2),
        #                    static_argnames="chunk")(loss, params, 1024, key)
        ```
    """
    size = _check_params(params)
    m = _check_int("m", m, 2, size, f"the number of parameters N = {size}")
    chunk = _check_int("chunk", chunk, 1, None, None)
    out = jax.eval_shape(loss, params)
    if not isinstance(out, jax.ShapeDtypeStruct) or out.shape != () or not jnp.issubdtype(out.dtype, jnp.floating):
        raise ValueError(f"loss must return a float scalar (shape ()); got {out}. Fix: reduce it, e.g. with jnp.mean or jnp.sum.")

    return _hessian(loss, params, m, key, min(chunk, m))


def kernel_submatrix(
    kernel: Callable[..., Any],
    data: PyTree,
    m: int | np.integer,
    key: PRNGKeyArray,
    *,
    chunk: int | np.integer = 128,
) -> tuple[Shaped[Array, "m m"], Int[Array, " m"]]:
    r"""The Gram matrix of `kernel` on $m$ random points of `data`: a principal submatrix of the $N \times N$ one.

    For $N$ points $x_1, \dots, x_N$ (the rows of `data`) and $m$ distinct indices
    $i_1 < \dots < i_m$ drawn uniformly, returns

    $$K_{\mathrm{sub}} = S^\top K S, \qquad (K_{\mathrm{sub}})_{jk} = k(x_{i_j}, x_{i_k}),$$

    built by a double `vmap` of `kernel`, in batches of at most `chunk` rows (`jax.lax.map`),
    and symmetrised, $(K_{\mathrm{sub}} + K_{\mathrm{sub}}^\top)/2$. The Gram
    matrix of features $F \in \mathbb{R}^{N \times d}$ (an NTK's Jacobian rows, random features,
    last-layer activations), $K = FF^\top$, is `kernel_submatrix(lambda x, y: x @ y, F, m, key)`.

    **Arguments:**

    - `kernel`: `kernel(x, y) -> scalar` for two points, each one row of `data` (a pytree of
      rows when `data` is a pytree).
    - `data`: an array whose leading axis indexes the $N$ points, or a pytree of arrays sharing
      that leading axis.
    - `m`: the submatrix size, an int with $2 \le m \le N$. Static under `jit`.
    - `key`: a PRNG key for the indices.
    - `chunk`: rows computed at a time (memory $O(\mathrm{chunk} \cdot m)$ kernel evaluations). Static.

    **Returns:** `(K_sub, idx)`: the symmetric `(m, m)` matrix and the sorted int indices `(m,)`.

    !!! example

        ```python
        rbf = lambda x, y: jnp.exp(-jnp.sum((x - y) ** 2) / 2)
        K_sub, idx = fdj.kernel_submatrix(rbf, X, 1024, jax.random.key(0))   # X: (N, d)
        lam = fdj.eigvalsh(K_sub, X.shape[0])   # the predicted spectrum of the N x N Gram matrix
        ```
    """
    leaves = jax.tree_util.tree_leaves(data)
    sizes = {jnp.shape(leaf)[0] if jnp.ndim(leaf) else None for leaf in leaves}
    if not leaves or None in sizes or len(sizes) != 1:
        raise ValueError(
            f"data must be an array, or a pytree of arrays, whose leading axis indexes the points; got leading sizes {sorted(map(str, sizes))}. Fix: stack the points along axis 0 in every leaf."
        )
    (n,) = sizes
    m = _check_int("m", m, 2, n, f"the number of points N = {n}")
    chunk = _check_int("chunk", chunk, 1, None, None)
    row = jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct(jnp.shape(a)[1:], jnp.result_type(a)), data)
    out = jax.eval_shape(kernel, row, row)
    if not isinstance(out, jax.ShapeDtypeStruct) or out.shape != ():
        raise ValueError(f"kernel must return a scalar for two points kernel(x, y); got {out}. Fix: reduce it, e.g. x @ y for feature vectors.")

    return _kernel(kernel, data, m, key, min(chunk, m))


# compiled once per (loss or kernel, shapes, m, chunk): eager calls with the same function reuse it
@eqx.filter_jit
def _hessian(loss, params, m: int, key, chunk: int):
    flat, unravel = ravel_pytree(params)
    idx = _draw(key, flat.size, m)
    _, hvp = jax.linearize(lambda p: ravel_pytree(jax.grad(loss)(unravel(p)))[0], flat)
    cols = _map(lambda i: hvp(jax.nn.one_hot(i, flat.size, dtype=flat.dtype))[idx], idx, chunk)
    return (cols + cols.T) / 2, idx


@eqx.filter_jit
def _kernel(kernel, data, m: int, key, chunk: int):
    idx = _draw(key, jax.tree_util.tree_leaves(data)[0].shape[0], m)
    sub = jax.tree_util.tree_map(lambda a: jnp.asarray(a)[idx], data)
    rows = _map(lambda j: jax.vmap(lambda y: kernel(jax.tree_util.tree_map(lambda a: a[j], sub), y))(sub), jnp.arange(m), chunk)
    return (rows + rows.T) / 2, idx


def _map(f: Callable, xs: Int[Array, " n"], chunk: int) -> PyTree:
    """`jax.vmap(f)(xs)` in k = ceil(n / chunk) equal batches of at most `chunk` entries.

    The last entry is repeated to fill the last batch (fewer than k extra calls), so one batch
    body is compiled, where `lax.map`'s `batch_size` would compile a second for the remainder.
    """
    n = xs.shape[0]
    k = -(-n // chunk)
    if k == 1:
        return jax.vmap(f)(xs)
    size = -(-n // k)
    padded = jnp.concatenate([xs, jnp.repeat(xs[-1:], k * size - n)])
    out = jax.lax.map(jax.vmap(f), padded.reshape(k, size))
    return jax.tree_util.tree_map(lambda a: a.reshape(k * size, *a.shape[2:])[:n], out)


def _draw(key: PRNGKeyArray, n: int, m: int) -> Int[Array, " m"]:
    """`m` distinct indices of `range(n)`, uniform without replacement, sorted."""
    return jnp.sort(jr.choice(key, n, shape=(m,), replace=False))


def _check_params(params: PyTree) -> int:
    """The number of entries of `params`, or `ValueError` unless it is a pytree of float arrays with >= 2 of them."""
    leaves = jax.tree_util.tree_leaves(params)
    bad = [jnp.result_type(leaf) for leaf in leaves if not jnp.issubdtype(jnp.result_type(leaf), jnp.floating)]
    size = sum(int(np.prod(jnp.shape(leaf))) for leaf in leaves)
    if bad or size < 2:
        got = f"leaves of dtypes {bad}" if bad else f"{size} parameter(s)"
        raise ValueError(
            f"params must be a pytree of float arrays with at least 2 entries in all; got {got}. Fix: pass only the float leaves, e.g. eqx.filter(model, eqx.is_inexact_array), and close over the rest in loss."
        )
    return size


def _check_int(name: str, value, low: int, high: int | None, what: str | None) -> int:
    r"""`value` as a Python int in `[low, high]`, or `ValueError` naming `name` and the range."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low or (high is not None and value > high):
        bound = f"{low} <= {name} <= {high} ({what})" if high is not None else f"{name} >= {low}"
        raise ValueError(f"{name} must be an int with {bound}; got {value!r}. Fix: pass a Python int in that range (static under jit).")
    return int(value)
