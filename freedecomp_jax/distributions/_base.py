"""The interface shared by the closed-form spectral laws, parameter checks and sampling helpers."""

import abc
from collections.abc import Sequence
from typing import ClassVar, TypeAlias

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Num, PRNGKeyArray

from .. import _arguments as arguments
from .._curve import SpectralCurve
from .._custom_types import Array, ArrayLike, Complex, Float, Real, RealScalarLike
from .._edge_flow import AbstractEdgeSystem
from .._kinds import AbstractDecompression, Free
from .._law import AbstractSpectralLaw
from .._x64 import is_concrete

AtomsLike: TypeAlias = Real[ArrayLike, " _r"] | Sequence[RealScalarLike]
"""Atom locations or weights: a 1-D array or a list of reals."""


class AbstractDistribution(AbstractSpectralLaw):
    r"""A spectral law with closed-form ground truths (the reference the library is tested against).

    Every law knows its algebraic spectral curve $P(z, m) = 0$, its density and Stieltjes
    transform $m(z) = \int \rho(x)/(x - z)\,dx + \sum_a w_a/(x_a - z)$ computed *without* the
    library's branch tracker (closed forms, or the law's own functional equation), its
    support and atoms, a random-matrix sampler and, where one exists, the exact law after
    free decompression.

    It is an [`AbstractSpectralLaw`][] describing matrices of size `n0` (a keyword of every
    constructor, default 1), so [`decompress`][], [`Spectrum`][] and `predict`'s check take it
    as they take a fitted law. Its evolution to size $n_0e^t$ is the closed form where the
    family has one under the kind (`free_closed_form`, free decompression), and otherwise
    the exact evolution of its curve; moments come from the curve's Laurent series.
    """

    free_closed_form: ClassVar[bool] = False
    """Whether `decompress(tau)` gives the free decompression in closed form (same family)."""

    @abc.abstractmethod
    def curve(self, n0: RealScalarLike | None = None) -> SpectralCurve:
        """The algebraic spectral curve $P(z, m) = 0$ of the law, describing matrices of size `n0` (default `self.n0`)."""

    def density(self, x: Real[ArrayLike, "*shape"]) -> Float[Array, "*shape"]:
        """The density of the absolutely continuous part at real points `x` (atoms excluded)."""
        return _jit_density(self, as_real(x))

    def stieltjes(self, z: Num[ArrayLike, "*shape"]) -> Complex[Array, "*shape"]:
        r"""$m(z) = \int \rho(x)\,dx/(x - z)$ (atoms included) at complex `z`.

        The physical branch for $\operatorname{Im} z > 0$, extended by $m(\bar z) =
        \overline{m(z)}$; a real `z` is read as $z + i0$ (inside the support that is the
        boundary value with $\operatorname{Im} m > 0$, in a gap the real limit).
        """
        return _jit_stieltjes(self, jnp.asarray(z))

    @abc.abstractmethod
    def _density(self, x: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
        """`density` at a float64 array (runs under `jit`)."""

    @abc.abstractmethod
    def _stieltjes_upper(self, z: Complex[Array, "*shape"]) -> Complex[Array, "*shape"]:
        r"""`stieltjes` at complex `z` with $\operatorname{Im} z \ge +0$ (runs under `jit`)."""

    @abc.abstractmethod
    def support(self) -> Float[np.ndarray, "k 2"]:
        """Support of the absolutely continuous part, as sorted disjoint intervals `[[a, b], ...]`."""

    @abc.abstractmethod
    def atoms(self) -> tuple[Float[Array, " A"], Float[Array, " A"]]:
        """`(positions, weights)` of the atoms in fixed slots; weight 0 marks an empty slot (traceable)."""

    @abc.abstractmethod
    def sample_matrix(self, key: PRNGKeyArray, n: int) -> Float[Array, "n n"]:
        """A random symmetric `n x n` matrix whose spectral law tends to this law as `n` grows."""

    @abc.abstractmethod
    def decompress(self, tau: RealScalarLike) -> "AbstractDistribution":
        r"""The exact law at matrix size $\tau n$ (free decompression by $\tau = e^t$).

        Raises `NotImplementedError` where the decompressed law has no closed form in the
        same family (`law.evolve(log(tau))` then gives the exact evolved curve).
        """

    # ------------------------------------------------------------------ AbstractSpectralLaw
    def moments(self, k: int) -> Float[Array, " _k"]:
        r"""Moments $\mu_0..\mu_k$ (atoms included), from the Laurent series of the law's curve."""
        return self.curve().moments(k)

    def _closed(self, kind: AbstractDecompression) -> bool:
        return self.free_closed_form and isinstance(kind, Free)

    def evolve(self, t: Real[ArrayLike, ""], kind: AbstractDecompression = Free()) -> AbstractSpectralLaw:
        r"""The law at size $n_0e^t$: `decompress(e^t)` in closed form where the family has one under
        `kind`, else the exact evolved curve `curve().evolve(t, kind)`."""
        if self._closed(kind):
            return self.decompress(jnp.exp(jnp.asarray(t, dtype=jnp.float64)))
        return self.curve().evolve(t, kind)

    def grid(self, kind: AbstractDecompression, n: Real[ArrayLike, ""], size: int, solver=None) -> Float[ArrayLike, " size"]:
        if self._closed(kind):
            return super().grid(kind, n, size, solver)
        return self.curve().grid(kind, n, size, solver)

    def solve_grid(self, kind: AbstractDecompression, x: Float[Array, " P"], ts: Float[Array, " S"], solver):
        if self._closed(kind):
            return super().solve_grid(kind, x, ts, solver)
        return self.curve().solve_grid(kind, x, ts, solver)

    def edge_system(self, kind: AbstractDecompression) -> AbstractEdgeSystem | None:
        return None if self._closed(kind) else self.curve().edge_system(kind)

    def refine_cusps(self, kind: AbstractDecompression, x_seed, m_seed, tau_seed):
        if self._closed(kind):
            return super().refine_cusps(kind, x_seed, m_seed, tau_seed)
        return self.curve().refine_cusps(kind, x_seed, m_seed, tau_seed)


def size_param(n0) -> Array:
    """The size `n0` a law describes, checked > 0 when concrete."""
    return scalar_param("n0", n0, hint="n0 is the matrix size the law describes (default 1).")


@eqx.filter_jit
def _jit_density(law: AbstractDistribution, x: Array) -> Array:
    return law._density(x)


@eqx.filter_jit
def _jit_stieltjes(law: AbstractDistribution, z: Array) -> Array:
    z, flip = upper_half(z)
    return restore_half(law._stieltjes_upper(z), flip)


# ---------------------------------------------------------------------- parameter checks


def scalar_param(name: str, value, *, lower: float | None = 0.0, strict: bool = True, hint: str = "") -> Array:
    """`value` as a 0-d float64 array; when concrete, checked finite and above `lower` (`hint`: what it is)."""
    fix = f"{hint} Pass a finite real {'>' if strict else '>='} {lower:g}" if lower is not None else f"{hint} Pass a finite real"
    return arguments.real_scalar(name, value, lower=lower, strict=strict, fix=fix.strip())


def atom_params(t, w, *, positive_t: bool = True) -> tuple[Array, Array]:
    """Atom locations `t` and weights `w` of a discrete law H = sum_i w_i delta_{t_i}, checked when concrete."""
    if is_concrete(t, w):
        t_np = np.asarray(t, dtype=float)
        w_np = np.asarray(w, dtype=float)
        if t_np.ndim != 1 or w_np.ndim != 1 or t_np.size == 0:
            raise ValueError(f"t and w must be non-empty 1-D arrays; got shapes {t_np.shape} and {w_np.shape}.")
        if t_np.shape != w_np.shape:
            raise ValueError(
                f"t and w must have the same length (one weight per atom); got {t_np.size} and {w_np.size}."
            )
        if not (np.all(np.isfinite(t_np)) and np.all(np.isfinite(w_np))):
            raise ValueError(f"t and w must be finite; got t={t_np}, w={w_np}.")
        if positive_t and np.any(t_np <= 0):
            raise ValueError(f"t must be > 0 (positive scales); got {t_np}.")
        if np.any(w_np <= 0):
            raise ValueError(f"weights w must be > 0 (drop atoms of zero weight); got {w_np}.")
        if abs(w_np.sum() - 1.0) > 1e-12 * w_np.size:
            raise ValueError(f"weights w must sum to 1; got sum {w_np.sum()!r}. Divide w by its sum.")
        if np.unique(t_np).size != t_np.size:
            raise ValueError(f"t must have distinct values; merge equal atoms by adding their weights. Got {t_np}.")
    t = jnp.asarray(t, dtype=jnp.float64)
    w = jnp.asarray(w, dtype=jnp.float64)
    if t.ndim != 1 or t.shape != w.shape:
        raise ValueError(f"t and w must be 1-D arrays of the same length; got shapes {t.shape} and {w.shape}.")
    return t, w


def integer_param(name: str, value, *, lower: int) -> int:
    """`value` as a Python int >= `lower` (a static count or degree)."""
    return arguments.integer(name, value, lower=lower)


def tau_param(tau) -> Array:
    """The size ratio tau = n / n0 of a decompression, checked > 0 when concrete."""
    return scalar_param("tau", tau, lower=0.0, hint="tau = n / n0 is the ratio of matrix sizes.")


def concrete_float(name: str, value) -> float:
    """A parameter as a Python float, for samplers that need static sizes."""
    if not is_concrete(value):
        raise ValueError(f"sample_matrix needs a concrete {name} (matrix sizes depend on it); call it outside jit.")
    return float(np.asarray(value))


# ---------------------------------------------------------------------- numerics helpers


def upper_half(z) -> tuple[Array, Array]:
    r"""`(z_up, flip)`: `z` reflected into the closed upper half plane and where it was reflected.

    Real `z` (including imaginary part $-0$) becomes $z + i0$.
    """
    z = jnp.asarray(z)
    z = z.astype(jnp.result_type(z.dtype, jnp.complex128))
    flip = jnp.imag(z) < 0
    return jax.lax.complex(jnp.real(z), jnp.abs(jnp.imag(z))), flip


def restore_half(m: Array, flip: Array) -> Array:
    r"""Undo `upper_half` on the values: $m(\bar z) = \overline{m(z)}$."""
    return jnp.where(flip, jnp.conj(m), m)


def as_real(x) -> Array:
    """Real evaluation points as a float64 array."""
    return jnp.asarray(x, dtype=jnp.float64)


def block_counts(w, n: int) -> list[int]:
    """Integer counts n_i >= 0 with sum n and n_i ~ n w_i (largest remainders)."""
    w_np = np.asarray(w, dtype=float)
    raw = w_np * n
    counts = np.floor(raw).astype(int)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    return [int(c) for c in counts]


def shuffled_diagonal(key: PRNGKeyArray, t: Array, w, n: int) -> Array:
    """A length-`n` vector with value t_i in proportion w_i, randomly permuted (exchangeable rows)."""
    diag = jnp.concatenate([jnp.full((c,), t[i]) for i, c in enumerate(block_counts(w, n))])
    return jr.permutation(key, diag)


def haar_orthogonal(key: PRNGKeyArray, rows: int, cols: int) -> Array:
    """A `rows x cols` matrix (rows >= cols) with Haar-distributed orthonormal columns (QR with sign fix)."""
    g = jr.normal(key, (rows, cols), dtype=jnp.float64)
    q, r = jnp.linalg.qr(g)
    return q * jnp.where(jnp.diagonal(r) < 0, -1.0, 1.0)


def symmetric_gaussian(key: PRNGKeyArray, n: int) -> Array:
    """GOE-type matrix (G + G^T)/sqrt(2): off-diagonal entries of variance 1, spectrum ~ semicircle of radius 2 sqrt(n)."""
    g = jr.normal(key, (n, n), dtype=jnp.float64)
    return (g + g.T) / jnp.sqrt(2.0)


def symmetrize(a: Array) -> Array:
    """(A + A^T)/2, to remove rounding asymmetry of a product that is symmetric in exact arithmetic."""
    return 0.5 * (a + a.T)
