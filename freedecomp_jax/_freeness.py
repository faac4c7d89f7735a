r"""Is a principal submatrix a free compression? Free decompression's premise, checked on the observed matrix.

Free decompression assumes that the $m \times m$ principal submatrix is distributed like the free
compression of the $n \times n$ matrix: the leading $m \times m$ block of $QA_nQ^\top$, $Q$ Haar. The
observed matrix carries its own test of that premise one scale down: its random principal $q \times q$
submatrices ($q = m/4$) must look like free compressions of it. For each of `draws` random index sets
$S$ of size $q$, the Kolmogorov–Smirnov distance between

- the spectrum of the submatrix $A_{SS}$, and
- the spectrum of a free compression $V^\top\Lambda V$ of $A$ to size $q$ ($V$: $q$ orthonormal
  columns of a Haar matrix, $\Lambda$ the eigenvalues of $A$),

is compared with the distance between two free compressions (what sampling alone gives at size $q$).
With the **diagonal profile** (a positive diagonal $D$, $A = D^{1/2}CD^{1/2}$, the model of
[`fit_levy`][] for a matrix) the compression is $D_S^{1/2}(V^\top\Lambda_CV)D_S^{1/2}$: $C$ freely
compressed, each kept row on its own scale. The **excess**, mean KS(submatrix, compression) minus mean
KS(compression, compression'), for the better of the two models, estimates the share of the spectrum
that free compression misplaces already between $q$ and $m$. Where it exceeds `EXCESS_TOL` no free
model of the matrix describes how its spectrum changes with its size, and [`predict`][] says so instead
of decompressing (docs/method.md, "Is a principal submatrix a free compression?"). Local kernels of a
short bandwidth and sparse graphs do this: a principal submatrix loses each row's few neighbours, which
a Haar rotation does not model. Eigenvalues alone cannot show it.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from ._custom_types import Array, Float

EXCESS_TOL = 0.1  # a tenth of the spectrum misplaced at the observed scale (docs/method.md)
DRAWS = 32
ROWS = 384  # a larger matrix is checked on a random principal submatrix of this size (cost O(ROWS^3), not O(m^3))


def _ks(a, b):
    """KS distance between two samples of equal size (sorted here)."""
    a, b = jnp.sort(a), jnp.sort(b)
    grid = jnp.concatenate([a, b])
    fa = jnp.searchsorted(a, grid, side="right")
    fb = jnp.searchsorted(b, grid, side="right")
    return jnp.max(jnp.abs(fa - fb)) / a.shape[0]


@functools.partial(jax.jit, static_argnums=(2, 3))
def _excess(a, key, q: int, draws: int):
    """`(excess, ks, level)` per model (plain, diagonal profile): `(2,)` arrays (module docstring).
    Draw $i$ takes rows $S_i$ and a Haar frame $V_i$; the submatrix on $S_i$ is compared with the
    compression through $V_i$ on the previous draw's rows (with the profile, each compression is scaled
    by its own rows' diagonal), and the sampling level compares that compression with the one through
    the previous frame on $S_i$: four independent draws of the model's law, so under the model both
    distances have the same mean."""
    k = a.shape[0]
    d = jnp.diagonal(a)
    profile = jnp.all(d > 0)
    d = jnp.where(profile, d, 1.0)
    eigs = jnp.linalg.eigvalsh(a)
    tol = jnp.finfo(a.dtype).eps * k * jnp.max(jnp.abs(eigs))
    snap = lambda e: jnp.where(jnp.abs(e) <= tol, 0.0, e)  # noqa: E731  (round-off zeros are zeros)
    models = ((eigs, jnp.ones(k)), (jnp.linalg.eigvalsh(a / jnp.sqrt(jnp.outer(d, d))), d))

    def frame(key):  # the first q columns of a Haar matrix
        v, r = jnp.linalg.qr(jax.random.normal(key, (k, q)))
        return v * jnp.sign(jnp.diagonal(r))

    def compressed(v, s):
        return jnp.stack([snap(jnp.linalg.eigvalsh(((v.T * ev) @ v) * jnp.sqrt(jnp.outer(scale[s], scale[s])))) for ev, scale in models])

    def rows(key):
        return jax.random.permutation(key, k)[:q]

    def one(before, key):  # a scan, not `vmap`: batched QR of 32 lanes hung in XLA on the 2-core CPU (jax 0.10.2)
        v_before, s_before = before
        k_s, k_v = jax.random.split(key)
        s, v = rows(k_s), frame(k_v)
        sub = snap(jnp.linalg.eigvalsh(a[jnp.ix_(s, s)]))
        model, other = compressed(v, s_before), compressed(v_before, s)
        return (v, s), jnp.stack([jax.vmap(_ks, (None, 0))(sub, model), jax.vmap(_ks)(model, other)])  # (2: ks, level; 2 models)

    k_v, k_s, key = jax.random.split(key, 3)
    _, figures = jax.lax.scan(one, (frame(k_v), rows(k_s)), jax.random.split(key, draws))
    ks, level = jnp.mean(figures, axis=0)
    excess = (ks - level).at[1].set(jnp.where(profile, ks[1] - level[1], jnp.inf))
    return excess, ks, level


def compression_excess(a: Float[Array, "m m"] | np.ndarray, seed: int = 0, draws: int = DRAWS) -> tuple[float, float, float, bool]:
    """`(excess, ks, level, profile)` of the symmetric matrix `a` (zero rows already set aside): the
    better model's excess KS over the sampling level at a quarter of its size (of `ROWS` of its rows, a
    random principal submatrix, when it has more), its mean KS to the submatrices, the sampling level,
    and whether that model is the diagonal profile's (module docstring)."""
    a = np.asarray(a, dtype=np.float64)
    key, k_rows = jax.random.split(jax.random.PRNGKey(seed))
    if a.shape[0] > ROWS:
        rows = np.sort(np.asarray(jax.random.permutation(k_rows, a.shape[0]))[:ROWS])
        a = a[np.ix_(rows, rows)]
    q = max(8, a.shape[0] // 4)
    excess, ks, level = (np.asarray(v) for v in _excess(jnp.asarray(a), key, q, draws))
    best = int(np.argmin(excess))
    return float(excess[best]), float(ks[best]), float(level[best]), best == 1


def not_free_message(freeness: tuple[float, float, float, bool], q: int) -> str:
    """Why a matrix whose principal submatrices are not free compressions of it is not decompressed."""
    excess, ks, level, profile = freeness
    return (
        f"free decompression does not apply to this matrix: its random principal submatrices of size {q} are not free "
        f"compressions of it (KS {ks:.3f} to free compressions{' with the diagonal profile' if profile else ''}, against {level:.3f} "
        f"between two compressions: {excess:.3f} of the spectrum misplaced at the observed scale, above {EXCESS_TOL:g}). Dropping rows "
        "changes this matrix in a way no free (Haar) compression models, as it does a kernel of short bandwidth or a sparse graph "
        "(each row loses its few neighbours), so no free model extrapolates its spectrum to a larger size. Eigenvalues alone cannot "
        "show this: predict(numpy.linalg.eigvalsh(a), n) decompresses them without the check, at your own risk."
    )
