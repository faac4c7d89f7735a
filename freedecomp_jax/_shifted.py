r"""`Shifted`: the law of $A + cI$ from the law of $A$, for a law written about its own centre.

A curve $P(z, m) = \sum c_{ij}z^im^j$ of a spectrum far from 0 (an NTK shifted by $10^6$, a
covariance about a large mean) loses digits in its raw coefficients: the monomials $z^i$ at
$z \approx c$ cancel to $(c/\text{width})^{L}$ times rounding. Written about the centre $c$ of the
data, the same law keeps them. Shifting commutes with free decompression: a principal
submatrix of $A + cI$ is the submatrix of $A$ plus $cI$, so the law of $A + cI$ at every size
is the law of $A$ shifted by $c$, $m_{A+cI}(z) = m_A(z - c)$. (It does not commute with the
deformed kind, whose Gram structure makes 0 special.) `frame` says where [`predict`][] writes a
spectrum's curves, `shifted_inputs` moves the observed spectra there.
"""

import math

import jax.numpy as jnp
import numpy as np

from ._custom_types import Array, ArrayLike, Complex, Float, Real
from ._edge_flow import AbstractEdgeSystem
from ._fit_config import FitConfig
from ._fit_problem import zero_tolerance
from ._fit_refine import _data_jit
from ._inputs import _Inputs, _Spectrum
from ._kinds import AbstractDecompression, Free
from ._law import AbstractSpectralLaw


class Shifted(AbstractSpectralLaw):
    r"""The law `law` moved by `shift`: $\mu(\cdot - c)$, $m(z) = m_{\rm law}(z - c)$, under [`Free`][] decompression."""

    law: AbstractSpectralLaw
    shift: Float[Array, ""]

    def __init__(self, law: AbstractSpectralLaw, shift: Real[ArrayLike, ""]):
        self.law = law
        self.shift = jnp.asarray(shift, dtype=jnp.float64)

    @property
    def n0(self) -> Float[Array, ""]:  # pyright: ignore[reportIncompatibleVariableOverride]
        return self.law.n0

    @property
    def log_grid(self) -> bool:
        return self.law.log_grid

    def stieltjes(self, z: Complex[ArrayLike, "*shape"]) -> Complex[Array, "*shape"]:
        return self.law.stieltjes(jnp.asarray(z, dtype=jnp.complex128) - self.shift)

    def density(self, x: Real[ArrayLike, "*shape"]) -> Float[Array, "*shape"]:
        return self.law.density(jnp.asarray(x, dtype=jnp.float64) - self.shift)

    def atoms(self):
        pos, w = self.law.atoms()
        return pos + self.shift, w

    def moments(self, k: int) -> Float[Array, " k_plus_1"]:
        inner = self.law.moments(k)
        j = np.arange(k + 1)
        binom = np.array([[math.comb(i, q) if q <= i else 0 for q in range(k + 1)] for i in range(k + 1)], dtype=float)
        return jnp.stack([jnp.sum(binom[i, : i + 1] * inner[: i + 1] * self.shift ** (i - j[: i + 1])) for i in range(k + 1)])

    def support(self) -> np.ndarray:
        return np.asarray(self.law.support()) + float(self.shift)

    def _free(self, kind: AbstractDecompression) -> None:
        if not isinstance(kind, Free):
            raise ValueError(f"a shifted law decompresses only under Free() (got {kind!r}): a shift does not commute with {type(kind).__name__}.")

    def evolve(self, t: Real[ArrayLike, ""], kind: AbstractDecompression = Free()) -> "Shifted":
        self._free(kind)
        return Shifted(self.law.evolve(t, kind), self.shift)

    def grid(self, kind: AbstractDecompression, n: Real[ArrayLike, ""], size: int, solver=None) -> Float[Array, " size"]:
        self._free(kind)
        return jnp.asarray(self.law.grid(kind, n, size, solver)) + self.shift

    def solve_grid(self, kind: AbstractDecompression, x, ts, solver=None):
        self._free(kind)
        m, density, pos, w, result = self.law.solve_grid(kind, x - self.shift, ts, solver)
        return m, density, pos + self.shift, w, result

    def exact_moments(self, kind: AbstractDecompression, t, order: int):
        mean, central = self.law.exact_moments(kind, t, order)
        return mean + self.shift, central

    def edge_system(self, kind: AbstractDecompression) -> "_ShiftedEdges | None":
        inner = self.law.edge_system(kind)
        return None if inner is None else _ShiftedEdges(inner, self.shift)

    def refine_cusps(self, kind: AbstractDecompression, x_seed, m_seed, tau_seed):
        x, tau, ok = self.law.refine_cusps(kind, x_seed - self.shift, m_seed, tau_seed)
        return x + self.shift, tau, ok


class _ShiftedEdges(AbstractEdgeSystem):
    """The edges of the unshifted law, moved by the shift."""

    inner: AbstractEdgeSystem
    shift: Float[Array, ""]

    def seed(self, t, x_seed, m_seed):
        return self.inner.seed(t, x_seed - self.shift, m_seed)

    def residual(self, u, t, s):
        return self.inner.residual(u, t, s)

    def x(self, u, t, s):
        return self.inner.x(u, t, s) + self.shift


FAR = 8.0  # a spectrum centred further from 0 than FAR half-widths gets its curves written about its centre


def centre(eigs, weights, eps: float, log, config: FitConfig) -> Float[Array, ""]:
    r"""Where the curves of one spectrum are written (`_shifted.py`), as an array (pure JAX, traced or not):
    the centre $c$ of the data interval when the spectrum lies far from 0 ($|c| >$ `FAR` half-widths $s$,
    where raw coefficients would lose $\log_{10}(1 + |c|/s)^{L}$ digits) and 0 is not special to the model
    (linear mode, no exact zeros, none made by the shift: no eigenvalue of positive weight moved by $-c$
    within the zero tolerance); else 0. The fit itself works in the scaled variables $(z - c)/s$ either way, so the choice
    moves no result beyond rounding."""
    data = _data_jit(eigs, weights, log, eps, config)
    moved = jnp.asarray(eigs) - data.cz
    far = ~data.log & (data.w0 <= 0) & (jnp.abs(data.cz) > FAR * data.sz)
    zero = (jnp.asarray(weights) > 0) & (jnp.abs(moved) <= zero_tolerance(moved, weights, eps))  # an entry of weight 0 is no eigenvalue
    return jnp.where(far & ~jnp.any(zero), data.cz, 0.0)


def frame(inputs: _Inputs, kind: AbstractDecompression, log: bool | None, config: FitConfig) -> float:
    """`centre` of the base spectrum of `inputs` under [`Free`][] decompression (a shift does not commute with
    the other kinds) when no spectrum of the input (base, joint, nested) has an eigenvalue the shift makes an
    exact zero; else 0. Plain Python."""
    if not isinstance(kind, Free):
        return 0.0
    b = inputs.base
    c = float(centre(b.eigs, b.weights, b.eps, log, config))
    moved = [(np.asarray(s.eigs) - c, s) for s in inputs.joint + inputs.nested]
    return 0.0 if any(np.any(np.abs(e) <= float(zero_tolerance(e, s.weights, s.eps))) for e, s in moved) else c


def shifted_inputs(inputs: _Inputs, c: float) -> _Inputs:
    """Every spectrum of the input moved by -c (a principal submatrix of A - cI is the submatrix of A minus cI)."""

    def move(s: _Spectrum) -> _Spectrum:
        return _Spectrum(jnp.asarray(s.eigs) - c, s.weights, s.eps, s.t)

    return _Inputs(move(inputs.base), inputs.n0, tuple(map(move, inputs.joint)), tuple(map(move, inputs.nested)))
