r"""More real-matrix test cases (issue 14): kinds not in `realcases.py`, from bundled data only.

Every builder returns a `realcases.RealCase` (same conventions: exact zeros are
$|\lambda| \le \varepsilon n \|A\|_2$, counted in advance from the construction) and is
registered in `realcases.ALL_CASES` after the original four. Data: sklearn's bundled digits,
diabetes and sample images (`load_sample_image`, 427 x 640 photos) and its `make_regression`
generator; nothing is downloaded. Measured for seed 0 (2-core CPU):

| case | kind | n | exact zeros (theory = measured) | `gram_ratio` | tiny bulk |
|---|---|---|---|---|---|
| `cnn_hessian` | Hessian, ReLU conv net on digits | 1418 | 345 (dead units, unseen patches, softmax shift) | - | yes, both signs |
| `laplace_gram_narrow` | Laplacian kernel, h = 0.3 median | 1500 | 0 | - | no |
| `laplace_gram` | Laplacian kernel, h = median | 1500 | 0 | - | yes |
| `laplace_gram_wide` | Laplacian kernel, h = 3 median | 1500 | 0 | - | yes |
| `activation_gram` | ReLU activations F F^T, 64-512-10 MLP | 1797 | 1340 = n - 457 live units | 3.93 | yes |
| `knn_laplacian` | normalized 3-NN graph Laplacian | 1500 | 2 = connected components (+ atom at 1) | - | no |
| `ntk_gram` | empirical NTK J J^T, tanh 30-24-1 MLP | 1500 | 731 = n - P | 1.95 | no |
| `tanh_gauss_newton` | Gauss-Newton J^T J, tanh 10-128-1 MLP | 1537 | 1095 = P - N | 3.48 | yes |
| `tanh_hessian` | Hessian of the same MSE loss | 1537 | 0 | - | yes, both signs |

Tiny bulk: at least 20% of the nonzero eigenvalues lie in (`zero_tol`, 1e-4 ||A||]. Seed 1 gives
the same zero counts except where they depend on training or sampling: `cnn_hessian` 99,
`activation_gram` 1345 (452 live units), `knn_laplacian` 2 (atom at 1: 69). The structural
zeros lie below 1e-2 `zero_tol`; the smallest genuine eigenvalue at least 50 times above it
(the closest calls: `activation_gram` seed 0, 59x, units active on a few images; `tanh_hessian`
seed 1, 100x, an indefinite spectrum has eigenvalues near 0 by chance).

The patch-based builders are cached (`functools.lru_cache`): treat the arrays of a case as read-only.
Tests get float64 from `tests/conftest.py`; other callers must enable `jax_enable_x64`.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import realcases
from jax.flatten_util import ravel_pytree
from realcases import (
    N_CLASSES,
    RealCase,
    _check_x64,
    _finish,
    _targets,
    digits,
    train_mlp,
)

# ---------------------------------------------------------------------------- helpers


def _adam(loss, params, steps: int, learning_rate: float):
    """`steps` full-batch Adam steps on `loss(params)`: (trained params as numpy, final loss)."""
    opt = optax.adam(learning_rate)

    def step(carry, _):
        p, s = carry
        value, grads = jax.value_and_grad(loss)(p)
        updates, s = opt.update(grads, s, p)
        return (optax.apply_updates(p, updates), s), value

    (params, _), values = jax.jit(lambda p: jax.lax.scan(step, (p, opt.init(p)), None, length=steps))(params)
    return jax.tree.map(np.asarray, params), float(values[-1])


def _dense_hessian(loss, params) -> np.ndarray:
    """Exact Hessian of `loss(params)` w.r.t. the flattened params: jvp-of-grad on every basis vector."""
    flat, unravel = ravel_pytree(jax.tree.map(jnp.asarray, params))
    grad = jax.grad(lambda th: loss(unravel(th)))
    hvps = jax.jit(lambda th: jax.lax.map(lambda v: jax.jvp(grad, (th,), (v,))[1], jnp.eye(th.size), batch_size=128))
    return np.asarray(hvps(flat))


def _free_directions(rows: np.ndarray) -> int:
    """Number of directions (w, b) with w . r + b = 0 for every row r: len(w) + 1 - rank([rows, 1])."""
    a = np.concatenate([rows, np.ones((len(rows), 1))], axis=1)
    return a.shape[1] - (int(np.linalg.matrix_rank(a)) if len(rows) else 0)


def _distances(x: np.ndarray) -> np.ndarray:
    """Euclidean distance matrix, exactly 0 on the diagonal."""
    sq = np.sum(x * x, axis=1)
    d = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * x @ x.T, 0.0))
    np.fill_diagonal(d, 0.0)
    return d


@functools.cache
def _gray(image: str) -> np.ndarray:
    from sklearn.datasets import load_sample_image

    return load_sample_image(image).astype(np.float64).mean(axis=2) / 255.0


def image_patches(seed: int, n: int = 1500, size: int = 8, image: str = "flower.jpg") -> np.ndarray:
    """`n` distinct grayscale `size` x `size` patches (values in [0, 1]) of a bundled sklearn
    sample image, at seeded random positions; exact repeats (flat saturated areas) are dropped,
    so kernel Grams over them have no zero eigenvalue from duplicated points."""
    img = _gray(image)
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, img.shape[0] - size + 1, 2 * n)
    cols = rng.integers(0, img.shape[1] - size + 1, 2 * n)
    x = np.stack([img[i : i + size, j : j + size].ravel() for i, j in zip(rows, cols)])
    _, first = np.unique(x, axis=0, return_index=True)
    keep = np.sort(first)[:n]
    if len(keep) < n:
        raise ValueError(f"only {len(keep)} distinct patches drawn, need {n}")
    return x[keep]


# ------------------------------------------------------------ a small conv net on digits

CNN_CHANNELS = (8, 16)


def _patches3(h):
    """(N, H, W, C) -> (N, H - 2, W - 2, 9 C): the 3 x 3 VALID neighbourhoods, tap-major."""
    hh, ww = h.shape[1] - 2, h.shape[2] - 2
    return jnp.concatenate([h[:, i : i + hh, j : j + ww, :] for i in range(3) for j in range(3)], axis=-1)


def _cnn_layers(params, x):
    """Pre-activations of the two conv layers (im2col matmuls: float64 convolutions are slow on CPU)."""
    z1 = _patches3(x) @ params["K1"] + params["c1"]  # (N, 6, 6, C1)
    z2 = _patches3(jax.nn.relu(z1)) @ params["K2"] + params["c2"]  # (N, 4, 4, C2)
    return z1, z2


def _cnn_logits(params, x):
    return jnp.mean(jax.nn.relu(_cnn_layers(params, x)[1]), axis=(1, 2)) @ params["W"] + params["b"]


def _images() -> np.ndarray:
    return digits()[0].reshape(-1, 8, 8, 1)


@functools.lru_cache(maxsize=4)
def train_cnn(seed: int = 0, steps: int = 200, learning_rate: float = 1e-2):
    """conv3x3(1 -> 8) - ReLU - conv3x3(8 -> 16) - ReLU - global mean - dense(16 -> 10), both
    convolutions VALID (8x8 -> 6x6 -> 4x4); full-batch Adam on all digits with the label-smoothed
    cross-entropy of `realcases`. Returns (params, final loss, train accuracy)."""
    _check_x64()
    c1, c2 = CNN_CHANNELS
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(seed), 3)
    params = {
        "K1": jax.random.normal(k1, (9, c1)) * np.sqrt(2.0 / 9),
        "c1": jnp.zeros(c1),
        "K2": jax.random.normal(k2, (9 * c1, c2)) * np.sqrt(2.0 / (9 * c1)),
        "c2": jnp.zeros(c2),
        "W": jax.random.normal(k3, (c2, N_CLASSES)) * np.sqrt(1.0 / c2),
        "b": jnp.zeros(N_CLASSES),
    }
    x, y = _images(), digits()[1]
    xj, tj = jnp.asarray(x), _targets(y)
    params, loss = _adam(lambda p: jnp.mean(optax.softmax_cross_entropy(_cnn_logits(p, xj), tj)), params, steps, learning_rate)
    acc = float(np.mean(np.argmax(np.asarray(_cnn_logits(params, xj)), axis=1) == y))
    return params, loss, acc


def cnn_null_dimension(params: dict, x: np.ndarray) -> int:
    r"""Dimension of the exact null space of the conv net's loss Hessian on images `x`, from structure.

    Directions along which the loss is exactly invariant or locally flat:
    - softmax shift: b += s 1 and W += u 1^T (logits move by a per-sample constant):
      1 + (#live layer-2 channels); a dead layer-2 channel (pre-activation <= 0 at every position
      of every image) adds its 10 outgoing weights;
    - a layer-2 channel: the incoming directions orthogonal to every [layer-1 patch, 1] at its
      active (image, position) pairs (a dead layer-1 feature is a zero coordinate there);
    - a layer-1 channel: the directions orthogonal to every [pixel patch, 1] at the pairs where
      it is active AND feeds an active layer-2 unit (elsewhere a change cannot reach the output).
    """
    z1, z2 = (np.asarray(z) for z in _cnn_layers(jax.tree.map(jnp.asarray, params), jnp.asarray(x)))
    p1 = np.asarray(_patches3(jnp.asarray(x)))
    p2 = np.asarray(_patches3(jnp.asarray(np.maximum(z1, 0.0))))
    active2 = z2 > 0
    live2 = active2.any(axis=(0, 1, 2))
    dim = 1 + int(live2.sum()) + N_CLASSES * int((~live2).sum())
    dim += sum(_free_directions(p2[active2[..., c]]) for c in range(z2.shape[-1]))
    fed = np.zeros(z1.shape[:3], bool)  # layer-1 position inside the field of an active layer-2 unit
    any2 = active2.any(axis=-1)
    for i in range(3):
        for j in range(3):
            fed[:, i : i + any2.shape[1], j : j + any2.shape[2]] |= any2
    dim += sum(_free_directions(p1[(z1[..., c] > 0) & fed]) for c in range(z1.shape[-1]))
    return dim


def cnn_hessian(seed: int = 0, n_samples: int = 256) -> RealCase:
    r"""Exact Hessian of a trained ReLU conv net's loss on a batch of digits (P = 1418 parameters).

    `train_cnn` (200 full-batch Adam steps on all 1797 images); the Hessian is that of the mean
    label-smoothed cross-entropy over `n_samples` seeded images (a minibatch Hessian).
    Near zero: indefinite; exact zeros = `cnn_null_dimension` (345 for seed 0: four dead
    layer-2 channels, 4 x (73 + 10), and the softmax shift, 1 + 12); above them a tiny bulk of
    both signs. The count holds while the batch is large enough: the Gauss-Newton part has rank
    <= 9 N and the residual part (the net is piecewise multilinear in its layers) a bounded rank,
    measured rank H = 9 N + 304 for N <= 64, so below N ~ 90 images this cap makes more zeros.
    """
    params, loss, acc = train_cnn(seed)
    idx = np.sort(np.random.default_rng(seed).choice(len(_images()), size=n_samples, replace=False))
    x = _images()[idx]
    xj, tj = jnp.asarray(x), _targets(digits()[1][idx])
    h = _dense_hessian(lambda p: jnp.mean(optax.softmax_cross_entropy(_cnn_logits(p, xj), tj)), params)
    info = {"n_params": h.shape[0], "n_samples": n_samples, "channels": CNN_CHANNELS, "seed": seed,
            "train_loss": loss, "train_accuracy": acc}
    return _finish("cnn_hessian", "Hessian of a trained 2-conv-layer ReLU net's loss on 256 digits", h,
                   cnn_null_dimension(params, x), psd=False, tiny_bulk=True, gram_ratio=None, info=info)


# -------------------------------------------------------- kernels and graphs on image patches

LAPLACE_BANDWIDTHS = {"laplace_gram_narrow": 0.3, "laplace_gram": 1.0, "laplace_gram_wide": 3.0}


@functools.lru_cache(maxsize=6)
def laplace_gram(seed: int = 0, scale: float = 1.0, n_samples: int = 1500) -> RealCase:
    r"""Laplacian kernel Gram K_ij = exp(-|x_i - x_j| / h) over 8x8 patches of flower.jpg.

    h = `scale` x the median pairwise distance; registered at scale 0.3, 1 and 3
    (`LAPLACE_BANDWIDTHS`). The patches are distinct and the kernel is strictly positive
    definite, so no exact zeros; the kernel is not smooth, so its spectrum decays polynomially
    (the smallest eigenvalue stays ~1e6 x above `zero_tol` even at scale 3). Tiny bulk
    (<= 1e-4 ||K||): none at scale 0.3, ~60% of the spectrum at 1, ~80% at 3.
    """
    _check_x64()
    d = _distances(image_patches(seed, n_samples))
    h = scale * float(np.median(d[np.triu_indices(len(d), k=1)]))
    name = next((k for k, v in LAPLACE_BANDWIDTHS.items() if v == scale), f"laplace_gram_x{scale:g}")
    info = {"n_samples": len(d), "bandwidth_h": h, "scale": scale, "seed": seed}
    return _finish(name, f"Laplacian kernel Gram over image patches, h = {scale:g} x median distance",
                   np.exp(-d / h), 0, psd=True, tiny_bulk=scale >= 1.0, gram_ratio=None, info=info)


def knn_adjacency(x: np.ndarray, k: int) -> np.ndarray:
    """0/1 adjacency of the symmetrized k-nearest-neighbour graph (i ~ j if either is among the
    other's k nearest)."""
    d = _distances(x)
    np.fill_diagonal(d, np.inf)
    nearest = np.argsort(d, axis=1)[:, :k]
    w = np.zeros_like(d)
    w[np.repeat(np.arange(len(x)), k), nearest.ravel()] = 1.0
    return np.maximum(w, w.T)


@functools.lru_cache(maxsize=2)
def knn_laplacian(seed: int = 0, k: int = 3, n_samples: int = 1500) -> RealCase:
    r"""Normalized graph Laplacian L = I - D^{-1/2} W D^{-1/2} of the k-NN graph of 8x8 patches
    of china.jpg (W: `knn_adjacency`, k = 3, D = diag of degrees >= k).

    Eigenvalues in [0, 2]. Exact zeros = the number of connected components (one per
    component, eigenvector D^{1/2} 1 on it): 2 for seed 0. Also an exact atom at 1 of size
    n - rank(W) (twin vertices with the same neighbours; 70 for seed 0: `info["atom_at_one"]`).
    The Fiedler value ~4e-4 is far above `zero_tol`: no tiny bulk.
    """
    from scipy.sparse.csgraph import connected_components

    _check_x64()
    w = knn_adjacency(image_patches(seed, n_samples, image="china.jpg"), k)
    inv_sqrt = 1.0 / np.sqrt(w.sum(axis=1))
    lap = np.eye(len(w)) - inv_sqrt[:, None] * w * inv_sqrt[None, :]
    components = int(connected_components(w, directed=False)[0])
    info = {"n_samples": len(w), "k": k, "seed": seed, "components": components,
            "atom_at_one": len(w) - int(np.linalg.matrix_rank(w, hermitian=True)), "edges": int(w.sum() // 2)}
    return _finish("knn_laplacian", "normalized 3-NN graph Laplacian of image patches", lap, components,
                   psd=True, tiny_bulk=False, gram_ratio=None, info=info)


# ------------------------------------------------------------- Gram matrices of trained nets


@functools.lru_cache(maxsize=4)
def _wide_mlp(seed: int):
    return train_mlp(seed, hidden=512)


def activation_gram(seed: int = 0) -> RealCase:
    r"""Activation Gram K = F F^T / d of the hidden ReLU layer of a trained 64-512-10 MLP over
    all 1797 digits (F = relu(X W1 + b1), d = 512; `realcases.train_mlp`, 300 Adam steps).

    rank F = the number of live units (active on at least one image; dead columns are zero,
    live ones generic), so exact zeros = n - live (1340 = 1797 - 457 for seed 0) and
    `gram_ratio` = n / live. Above the atom a positive tiny bulk.
    """
    net = _wide_mlp(seed)
    x, _ = digits()
    f = np.maximum(x @ net.params["W1"] + net.params["b1"], 0.0)
    live = int(np.sum(np.any(f > 0, axis=0)))
    info = {"n_samples": len(x), "hidden": net.hidden, "live_units": live, "seed": seed,
            "train_loss": net.loss, "train_accuracy": net.train_accuracy}
    return _finish("activation_gram", "Gram of the 512 hidden ReLU activations of a trained MLP over digits",
                   f @ f.T / net.hidden, len(x) - live, psd=True, tiny_bulk=True, gram_ratio=len(x) / live, info=info)


def _tanh_mlp(params, x):
    """Scalar-output one-hidden-layer tanh network, (N, d) -> (N,)."""
    return (jnp.tanh(x @ params["W1"] + params["b1"]) @ params["w2"] + params["b2"])[:, 0]


def train_tanh_regressor(x, y, seed: int, hidden: int, steps: int = 300, learning_rate: float = 3e-3):
    """A d-`hidden`-1 tanh MLP fitted to (x, y) by full-batch Adam on 0.5 mean squared error.
    Returns (params, loss function of the params, final loss)."""
    _check_x64()
    xj, yj = jnp.asarray(x), jnp.asarray(y)
    k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
    params = {"W1": jax.random.normal(k1, (x.shape[1], hidden)) * np.sqrt(1.0 / x.shape[1]), "b1": jnp.zeros(hidden),
              "w2": jax.random.normal(k2, (hidden, 1)) * np.sqrt(1.0 / hidden), "b2": jnp.zeros(1)}

    def loss(p):
        return 0.5 * jnp.mean((_tanh_mlp(p, xj) - yj) ** 2)

    params, final = _adam(loss, params, steps, learning_rate)
    return params, loss, final


def _jacobian(params, x) -> np.ndarray:
    """(N, P) per-sample gradients of the scalar output of `_tanh_mlp`."""
    flat, unravel = ravel_pytree(jax.tree.map(jnp.asarray, params))
    return np.asarray(jax.jacrev(lambda th: _tanh_mlp(unravel(th), jnp.asarray(x)))(flat))


def ntk_gram(seed: int = 0, n_samples: int = 1500, hidden: int = 24) -> RealCase:
    r"""Empirical NTK Gram K = J J^T / P of a trained 30-24-1 tanh MLP over N = 1500 samples of
    `make_regression` (30 Gaussian features, 10 informative; y standardized).

    J is the (N, P) matrix of per-sample gradients of the output, P = 769 < N, and tanh
    features of Gaussian inputs are generic, so rank K = P: exact zeros N - P = 731,
    `gram_ratio` = N / P. The nonzero spectrum spans ~7 decades, but few eigenvalues lie below
    1e-4 ||K||: no tiny bulk.
    """
    from sklearn.datasets import make_regression

    x, y = make_regression(n_samples=n_samples, n_features=30, n_informative=10, noise=1.0, random_state=seed)
    params, _, final = train_tanh_regressor(x, (y - y.mean()) / y.std(), seed, hidden)
    jac = _jacobian(params, x)
    n, p = jac.shape
    info = {"n_samples": n, "n_params": p, "hidden": hidden, "seed": seed, "train_loss": final}
    return _finish("ntk_gram", "empirical NTK Gram of a trained tanh MLP over make_regression data", jac @ jac.T / p,
                   n - min(n, p), psd=True, tiny_bulk=False, gram_ratio=n / p, info=info)


@functools.cache
def diabetes() -> tuple[np.ndarray, np.ndarray]:
    """sklearn's bundled diabetes regression data, standardized: inputs (442, 10), target (442,)."""
    from sklearn.datasets import load_diabetes

    x, y = load_diabetes(return_X_y=True)
    return (x - x.mean(axis=0)) / x.std(axis=0), (y - y.mean()) / y.std()


@functools.lru_cache(maxsize=4)
def _diabetes_net(seed: int, hidden: int = 128):
    return train_tanh_regressor(*diabetes(), seed, hidden)


def tanh_gauss_newton(seed: int = 0) -> RealCase:
    r"""Gauss-Newton matrix G = J^T J / N of a trained 10-128-1 tanh MLP on the N = 442 diabetes
    samples (mean squared error; P = 1537 parameters; J: per-sample output gradients).

    rank G = rank J = N < P (generic tanh features): exact zeros P - N = 1095 and
    `gram_ratio` = P / N. Above them a positive tiny bulk.
    """
    params, _, final = _diabetes_net(seed)
    jac = _jacobian(params, diabetes()[0])
    n, p = jac.shape
    info = {"n_params": p, "n_samples": n, "seed": seed, "train_loss": final}
    return _finish("tanh_gauss_newton", "Gauss-Newton matrix of a trained 10-128-1 tanh MLP on diabetes", jac.T @ jac / n,
                   p - min(n, p), psd=True, tiny_bulk=True, gram_ratio=p / n, info=info)


def tanh_hessian(seed: int = 0) -> RealCase:
    r"""Exact Hessian of the same network's loss on diabetes (P = 1537): the Gauss-Newton matrix
    of `tanh_gauss_newton` plus the residual term (1/N) sum_i r_i grad^2 f_i.

    The residual term is full rank (tanh has no dead units, the inputs have no constant
    feature, there is no continuous symmetry): no exact zeros although G has 1095. Indefinite
    (about a third negative), with a tiny bulk of both signs.
    """
    params, loss, final = _diabetes_net(seed)
    h = _dense_hessian(loss, params)
    info = {"n_params": h.shape[0], "n_samples": len(diabetes()[0]), "seed": seed, "train_loss": final}
    return _finish("tanh_hessian", "Hessian of a trained 10-128-1 tanh MLP's loss on diabetes", h, 0,
                   psd=False, tiny_bulk=True, gram_ratio=None, info=info)


MORE_CASES = {
    "cnn_hessian": cnn_hessian,
    **{name: functools.partial(laplace_gram, scale=s) for name, s in LAPLACE_BANDWIDTHS.items()},
    "activation_gram": activation_gram,
    "knn_laplacian": knn_laplacian,
    "ntk_gram": ntk_gram,
    "tanh_gauss_newton": tanh_gauss_newton,
    "tanh_hessian": tanh_hessian,
}

realcases.ALL_CASES.update(MORE_CASES)
