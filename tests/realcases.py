r"""Real-matrix test cases built from data that ships with scikit-learn (no downloads).

Each builder returns a `RealCase`: a full symmetric float64 matrix, its exact spectrum
(`numpy.linalg.eigvalsh`), and the near-zero structure predicted *from the construction*
(not read off the eigenvalues), so that tests can check that exact zeros (an atom) and a
bulk of tiny but nonzero eigenvalues are told apart.

An eigenvalue counts as an exact zero when $|\lambda| \le \varepsilon\, n\, \|A\|_2$
(`RealCase.zero_tol`, float64 $\varepsilon$, $\|A\|_2 = \max|\lambda|$), the size of the
rounding error of the matrix construction and of `eigvalsh`. Measured for seed 0 (2-core CPU):

| case | n | exact zeros (theory = measured) | smallest nonzero $|\lambda|/\|A\|$ | tiny bulk |
|---|---|---|---|---|
| `mlp_hessian` | 2410 | 470 (symmetries + rank of the active inputs per unit) | 2.4e-11 | yes, both signs: 10.6 decades, 216 negative |
| `mlp_gauss_newton` | 2410 | 1258 = P − N(C−1), N = 128 samples | 7.4e-8 | yes, positive: 7 decades |
| `rbf_gram` | 1797 | 0 | 1.0e-6 | yes, positive: 6 decades, no atom |
| `random_feature_gram` | 1797 | 773 = N − D, D = 1024 features | 2.4e-11 | yes, positive: 10.6 decades |

The structural zeros sit at $|\lambda| \lesssim 2\varepsilon\|A\|$, at least 30 times below
`zero_tol`; the smallest genuine eigenvalue is at least 30 times above it.

More kinds (conv-net and tanh-net Hessians, Laplacian kernels, activation, NTK and Gauss-Newton
Grams, a graph Laplacian) are in `realcases_more.py`, appended to `ALL_CASES`.

Nested random principal submatrices (the free-decompression setting): see
`nested_submatrix_spectra`.

Tests get float64 from `tests/conftest.py`; other callers must enable `jax_enable_x64`.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

EPS = float(np.finfo(np.float64).eps)
N_CLASSES = 10


@dataclasses.dataclass(frozen=True)
class RealCase:
    """A real symmetric test matrix with its spectrum and its predicted near-zero structure.

    - `name`, `description`: what the matrix is.
    - `matrix`: (n, n) float64, exactly symmetric.
    - `eigenvalues`: (n,) ascending, `numpy.linalg.eigvalsh(matrix)`.
    - `n_structural_zeros`: number of exact zero eigenvalues predicted by the construction
      (rank deficiency, symmetries, dead parameters); compare with `count_zeros()`.
    - `zero_tol`: eps * n * ||A||_2; |lambda| <= zero_tol is an exact zero.
    - `psd`: whether the matrix is positive semidefinite by construction.
    - `tiny_bulk`: whether there is a bulk of tiny but nonzero eigenvalues (many decades
      below ||A|| yet above `zero_tol`), which must NOT be mistaken for an atom.
    - `gram_ratio`: for Gram matrices X X^T with X of shape (n, p), the aspect ratio n / p at
      the full size (a principal submatrix of size m has ratio `gram_ratio * m / n`, the
      `ratio` of deformed decompression); None otherwise.
    - `info`: construction details (sizes, seed, training loss, ...).
    """

    name: str
    description: str
    matrix: np.ndarray
    eigenvalues: np.ndarray
    n_structural_zeros: int
    zero_tol: float
    psd: bool
    tiny_bulk: bool
    gram_ratio: float | None
    info: dict

    @property
    def n(self) -> int:
        return self.matrix.shape[0]

    @property
    def scale(self) -> float:
        """||A||_2 = max |lambda|."""
        return float(np.max(np.abs(self.eigenvalues)))

    def count_zeros(self) -> int:
        """Measured number of eigenvalues with |lambda| <= `zero_tol`."""
        return int(np.sum(np.abs(self.eigenvalues) <= self.zero_tol))

    def smallest_nonzero(self) -> float:
        """Smallest |lambda| above `zero_tol`, relative to ||A||_2."""
        a = np.abs(self.eigenvalues)
        return float(np.min(a[a > self.zero_tol]) / self.scale)


def _check_x64() -> None:
    if not jax.config.jax_enable_x64:
        raise ValueError(
            "realcases needs float64: run jax.config.update('jax_enable_x64', True) first "
            "(tests/conftest.py does this)."
        )


def _finish(name, description, a, n_zeros, psd, tiny_bulk, gram_ratio, info) -> RealCase:
    a = np.asarray(a, dtype=np.float64)
    a = 0.5 * (a + a.T)  # exact symmetry; the constructions are symmetric up to rounding
    eigs = np.linalg.eigvalsh(a)
    tol = EPS * a.shape[0] * float(np.max(np.abs(eigs)))
    return RealCase(name, description, a, eigs, int(n_zeros), tol, psd, tiny_bulk, gram_ratio, info)


# ------------------------------------------------------------------------------ data


@functools.cache
def digits() -> tuple[np.ndarray, np.ndarray]:
    """sklearn's bundled 8x8 digits: inputs (1797, 64) in [0, 1] (pixel / 16), labels (1797,).

    Three pixels (features 0, 32, 39) are zero in every image.
    """
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return x.astype(np.float64) / 16.0, y.astype(np.int64)


# ---------------------------------------------------------------- a small trained MLP


@dataclasses.dataclass(frozen=True)
class TrainedMLP:
    """A 64-`hidden`-10 ReLU network trained on digits with label-smoothed cross-entropy."""

    params: dict
    loss: float
    train_accuracy: float
    hidden: int
    seed: int


def _logits(params, x):
    return jax.nn.relu(x @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"]


def _loss(params, x, targets):
    return jnp.mean(optax.softmax_cross_entropy(_logits(params, x), targets))


def _targets(y) -> jax.Array:
    # Label smoothing keeps the softmax away from one-hot (probabilities >= ~1e-5 after
    # training), so the curvature of confidently classified samples stays above float
    # precision: tiny but genuine eigenvalues instead of numerical zeros.
    return optax.smooth_labels(jax.nn.one_hot(jnp.asarray(y), N_CLASSES), 0.1)


def train_mlp(seed: int = 0, hidden: int = 32, steps: int = 300, learning_rate: float = 1e-2) -> TrainedMLP:
    """Full-batch Adam on all 1797 digits; He-normal weights, zero biases (deterministic)."""
    _check_x64()
    x, y = digits()
    k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
    params = {
        "W1": jax.random.normal(k1, (64, hidden)) * np.sqrt(2.0 / 64),
        "b1": jnp.zeros(hidden),
        "W2": jax.random.normal(k2, (hidden, N_CLASSES)) * np.sqrt(1.0 / hidden),
        "b2": jnp.zeros(N_CLASSES),
    }
    xj, tj = jnp.asarray(x), _targets(y)
    opt = optax.adam(learning_rate)

    def step(carry, _):
        p, s = carry
        value, grads = jax.value_and_grad(_loss)(p, xj, tj)
        updates, s = opt.update(grads, s, p)
        return (optax.apply_updates(p, updates), s), value

    (params, _), _ = jax.jit(lambda p: jax.lax.scan(step, (p, opt.init(p)), None, length=steps))(params)
    params = jax.tree.map(np.asarray, params)
    acc = float(np.mean(np.argmax(np.asarray(_logits(params, xj)), axis=1) == y))
    return TrainedMLP(params, float(_loss(params, xj, tj)), acc, hidden, seed)


@functools.lru_cache(maxsize=4)
def _trained(seed: int) -> TrainedMLP:
    return train_mlp(seed)


def mlp_null_dimension(params: dict, x: np.ndarray) -> int:
    r"""Dimension of the exact null space of the loss Hessian on inputs `x`, from structure.

    The cross-entropy of a 64-H-10 ReLU network is exactly invariant, or exactly flat, along:
    - the softmax shift: b2 += s 1 and W2 += u 1^T for u supported on the live units
      (logits move by a per-sample constant): 1 + (#live units) directions;
    - a dead unit (pre-activation <= 0 on every input): its 64 + 1 incoming and 10 outgoing
      weights;
    - a live unit j active on the inputs A_j: the incoming directions (w, b) orthogonal to
      every row [x_i, 1], i in A_j, i.e. 65 - rank([X_{A_j}, 1]) (this covers pixels that are
      zero on A_j).
    """
    w1, b1 = np.asarray(params["W1"]), np.asarray(params["b1"])
    active = (x @ w1 + b1) > 0
    d_in = x.shape[1]
    dim = 1
    for j in range(w1.shape[1]):
        rows = active[:, j]
        if not rows.any():
            dim += d_in + 1 + N_CLASSES
        else:
            xa = np.concatenate([x[rows], np.ones((int(rows.sum()), 1))], axis=1)
            dim += d_in + 1 - int(np.linalg.matrix_rank(xa)) + 1
    return dim


def mlp_hessian(seed: int = 0) -> RealCase:
    r"""Exact Hessian of the training loss of a 64-32-10 MLP on digits (P = 2410 parameters).

    Trained for 300 full-batch Adam steps (`train_mlp`); the Hessian of the mean
    label-smoothed cross-entropy over all 1797 images w.r.t. the flattened parameters is
    computed exactly as jvp-of-grad against every basis vector.

    Near zero: indefinite. Exact zeros = `mlp_null_dimension` (470 for seed 0: softmax
    shift, dead units, inputs never seen by a unit). Above them a tiny-but-nonzero bulk of
    both signs spanning ~10 decades below ||H||.
    """
    net = _trained(seed)
    x, y = digits()
    xj, tj = jnp.asarray(x), _targets(y)
    flat, unravel = ravel_pytree(jax.tree.map(jnp.asarray, net.params))
    grad = jax.grad(lambda th: _loss(unravel(th), xj, tj))

    @jax.jit
    def hessian(th):
        return jax.lax.map(lambda v: jax.jvp(grad, (th,), (v,))[1], jnp.eye(th.size), batch_size=128)

    h = np.asarray(hessian(flat))
    zeros = mlp_null_dimension(net.params, x)
    info = {"n_params": int(flat.size), "n_samples": len(x), "hidden": net.hidden, "seed": seed,
            "train_loss": net.loss, "train_accuracy": net.train_accuracy}
    return _finish("mlp_hessian", "Hessian of a trained 64-32-10 MLP's loss on digits", h, zeros,
                   psd=False, tiny_bulk=True, gram_ratio=None, info=info)


def mlp_gauss_newton(seed: int = 0, n_samples: int = 128) -> RealCase:
    r"""Gauss–Newton matrix G = (1/N) sum_i J_i^T H_i J_i of the same network on N digits.

    J_i is the (10, P) Jacobian of the logits of sample i, H_i = diag(p_i) - p_i p_i^T the
    softmax Hessian. With the exact factorisation H_i = F_i^T F_i,
    F_i = diag(sqrt p_i)(I - 1 p_i^T), G is formed as M^T M / N with M_i = F_i J_i: PSD by
    construction, and each sample contributes rank <= C - 1 = 9 (F_i 1 = 0).

    Near zero: exact zeros = P - min(N (C - 1), P - null) where `null` is
    `mlp_null_dimension` on the N samples (1258 = 2410 - 128 * 9 for seed 0: the rank cap).
    G is a Gram matrix of its P columns with N (C - 1) effective rows, so `gram_ratio` is
    P / (N (C - 1)). Above the zeros a positive tiny bulk (confidently classified samples)
    spanning ~7 decades.
    """
    net = _trained(seed)
    x_all, _ = digits()
    idx = np.sort(np.random.default_rng(seed).choice(len(x_all), size=n_samples, replace=False))
    x = x_all[idx]
    xj = jnp.asarray(x)
    flat, unravel = ravel_pytree(jax.tree.map(jnp.asarray, net.params))
    jac = np.asarray(jax.jacrev(lambda th: _logits(unravel(th), xj))(flat))  # (N, C, P)
    p = np.asarray(jax.nn.softmax(_logits(net.params, xj)))  # (N, C)
    mean_row = np.einsum("nc,ncp->np", p, jac)
    m = np.sqrt(p)[:, :, None] * (jac - mean_row[:, None, :])
    m = m.reshape(-1, flat.size)
    g = m.T @ m / n_samples
    n_params = int(flat.size)
    rank = min(n_samples * (N_CLASSES - 1), n_params - mlp_null_dimension(net.params, x))
    info = {"n_params": n_params, "n_samples": n_samples, "seed": seed, "rank": rank,
            "min_probability": float(p.min())}
    return _finish("mlp_gauss_newton", "Gauss-Newton matrix of a trained 64-32-10 MLP on 128 digits",
                   g, n_params - rank, psd=True, tiny_bulk=True,
                   gram_ratio=n_params / (n_samples * (N_CLASSES - 1)), info=info)


# ------------------------------------------------------------------------ kernel Grams


def _subset(seed: int, n_samples: int | None) -> np.ndarray:
    x, _ = digits()
    if n_samples is None or n_samples >= len(x):
        return x
    idx = np.sort(np.random.default_rng(seed).choice(len(x), size=n_samples, replace=False))
    return x[idx]


def rbf_gram(seed: int = 0, n_samples: int | None = None) -> RealCase:
    r"""RBF kernel Gram K_ij = exp(-|x_i - x_j|^2 / h) over digits, h = median squared distance.

    All 1797 images by default (then `seed` has no effect; otherwise it picks the subset).
    Near zero: no exact zeros (the images are distinct and the kernel is strictly positive
    definite), but the spectrum decays over ~6 decades: a tiny positive bulk with no atom.
    """
    _check_x64()
    x = _subset(seed, n_samples)
    sq = np.sum(x * x, axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * x @ x.T, 0.0)
    np.fill_diagonal(d2, 0.0)
    h = float(np.median(d2[np.triu_indices(len(x), k=1)]))
    k = np.exp(-d2 / h)
    info = {"n_samples": len(x), "bandwidth_h": h, "seed": seed}
    return _finish("rbf_gram", "RBF kernel Gram matrix over digits", k, 0,
                   psd=True, tiny_bulk=True, gram_ratio=None, info=info)


def random_feature_gram(seed: int = 0, n_features: int = 1024, n_samples: int | None = None) -> RealCase:
    r"""NTK-like Gram K = F F^T of D random tanh features of the digits images.

    F = tanh(X W + b) / sqrt(D), W ~ N(0, 4/64), b ~ N(0, 1), D = 1024. F is dense, so
    rank K = min(N, D) and there are N - D = 773 exact zeros (all 1797 images), the atom of
    a Gram matrix with aspect ratio N / D > 1 (`gram_ratio`). A principal submatrix of size
    m < D has no atom: it is born as the matrix grows past D (deformed decompression).
    Above the zeros a positive tiny bulk spanning ~10 decades.
    """
    _check_x64()
    x = _subset(seed, n_samples)
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((x.shape[1], n_features)) * np.sqrt(4.0 / x.shape[1])
    b = rng.standard_normal(n_features)
    f = np.tanh(x @ w + b) / np.sqrt(n_features)
    n = len(x)
    info = {"n_samples": n, "n_features": n_features, "seed": seed}
    return _finish("random_feature_gram", "Gram of 1024 random tanh features of digits", f @ f.T,
                   n - min(n, n_features), psd=True, tiny_bulk=True, gram_ratio=n / n_features, info=info)


ALL_CASES = {
    "mlp_hessian": mlp_hessian,
    "mlp_gauss_newton": mlp_gauss_newton,
    "rbf_gram": rbf_gram,
    "random_feature_gram": random_feature_gram,
}
# ALL_CASES continues with the cases of `realcases_more.py` (issue 14), registered at its import
# below (either module may be imported first).


# ------------------------------------------------------------------ nested submatrices


def nested_submatrix_spectra(a: np.ndarray, sizes, key) -> dict[int, np.ndarray]:
    """Eigenvalues of nested random principal submatrices of `a` (the FD setting).

    One random permutation `perm` of range(n) is drawn from the JAX PRNG `key`; the
    submatrix of size s keeps the rows and columns `perm[:s]`, so smaller submatrices are
    principal submatrices of larger ones. Returns {s: ascending eigenvalues (s,)} for each
    s in `sizes` (each 1 <= s <= n).
    """
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"need a square matrix, got shape {a.shape}")
    n = a.shape[0]
    sizes = [int(s) for s in sizes]
    if any(not 1 <= s <= n for s in sizes):
        raise ValueError(f"sizes must lie in [1, {n}], got {sizes}")
    perm = np.asarray(jax.random.permutation(key, n))
    return {s: np.linalg.eigvalsh(a[np.ix_(perm[:s], perm[:s])]) for s in sizes}


import realcases_more  # noqa: E402, F401  (registers its cases in ALL_CASES)
