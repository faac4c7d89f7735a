r"""`OneOf`: one law of several, picked by an index that may be traced.

A model choice made inside one compiled program (a traced [`predict`][] of automatic degrees) cannot
return laws of different families from different lanes of a batch: a pytree has one structure. It
returns all of them and the index of the chosen one. Every method of the law is the chosen member's:
where the result is an array, each member's is computed and the chosen one taken (atom slots padded to
the largest member's, empty slots of weight 0); where it is plain Python (the support, the grid, the
exact edge equations), the index must be concrete (a lane of a batch read outside `jit`: `spec[k]`).
"""

import jax
import jax.numpy as jnp
import numpy as np

from ._custom_types import Array, ArrayLike, Complex, Float, Int, Real
from ._edge_flow import AbstractEdgeSystem
from ._kinds import AbstractDecompression, Free
from ._law import AbstractSpectralLaw
from ._x64 import is_concrete


def pick(index: Int[ArrayLike, ""], options):
    """The `index`-th of pytrees of one structure (arrays of one shape per leaf), `index` traced or not."""
    return jax.tree.map(lambda *leaves: jnp.stack(leaves)[index], *options)


def padded_atoms(atoms: tuple[Array, Array], slots: int) -> tuple[Array, Array]:
    """`(positions, weights)` with `slots` slots along the last axis, the new ones empty (position NaN, weight 0)."""
    pos, w = atoms
    extra = slots - pos.shape[-1]
    widths = [(0, 0)] * (pos.ndim - 1) + [(0, extra)]
    return jnp.pad(pos, widths, constant_values=jnp.nan), jnp.pad(w, widths)


class OneOf(AbstractSpectralLaw):
    """The law `laws[index]`, `index` an integer array that may be traced: what a traced [`predict`][] of
    automatic degrees returns as its spectrum's law (a curve or a free Lévy–Khintchine law of either sign,
    chosen in the program). The array-valued methods (`stieltjes`, `density`, `atoms`, `moments`,
    `evolve`, `solve_grid`, `exact_moments`) are the chosen member's, for a traced index too (atom slots
    padded to the largest member's); the plain-Python ones (`support`, `grid`, the exact edge equations)
    need a concrete index: read one lane of a batch outside `jit` (`spec[k]`) first."""

    laws: tuple[AbstractSpectralLaw, ...]
    index: Int[Array, ""]

    def __init__(self, laws: tuple[AbstractSpectralLaw, ...], index: Int[ArrayLike, ""]):
        self.laws = tuple(laws)
        self.index = jnp.asarray(index, dtype=jnp.int32)

    @property
    def n0(self) -> Float[Array, ""]:
        return pick(self.index, [jnp.asarray(law.n0, dtype=jnp.float64) for law in self.laws])

    def _chosen(self, what: str) -> AbstractSpectralLaw:
        if not is_concrete(self.index):
            raise ValueError(f"{what} of a law chosen inside jit/vmap is plain Python; read one lane outside jit (spec[k]) first.")
        return self.laws[int(self.index)]

    def _slots(self) -> int:
        return max(law.atoms()[0].shape[-1] for law in self.laws)

    @property
    def log_grid(self) -> bool:
        return self._chosen("log_grid").log_grid if is_concrete(self.index) else any(law.log_grid for law in self.laws)

    def stieltjes(self, z: Complex[ArrayLike, "*shape"]) -> Complex[Array, "*shape"]:
        return pick(self.index, [law.stieltjes(z) for law in self.laws])

    def density(self, x: Real[ArrayLike, "*shape"]) -> Float[Array, "*shape"]:
        return pick(self.index, [law.density(x) for law in self.laws])

    def atoms(self) -> tuple[Float[Array, " A"], Float[Array, " A"]]:
        slots = self._slots()
        return pick(self.index, [padded_atoms(law.atoms(), slots) for law in self.laws])

    def moments(self, k: int) -> Float[Array, " k_plus_1"]:
        return pick(self.index, [law.moments(k) for law in self.laws])

    def support(self) -> np.ndarray:
        return self._chosen("support()").support()

    def evolve(self, t: Real[ArrayLike, ""], kind: AbstractDecompression = Free()) -> "OneOf":
        return OneOf(tuple(law.evolve(t, kind) for law in self.laws), self.index)

    def grid(self, kind: AbstractDecompression, n: Real[ArrayLike, ""], size: int, solver=None):
        return self._chosen("grid").grid(kind, n, size, solver)

    def grid_and_solved(self, kind: AbstractDecompression, n: Real[ArrayLike, ""], size: int, solver=None):
        return self._chosen("grid").grid_and_solved(kind, n, size, solver)

    def solve_grid(self, kind: AbstractDecompression, x: Float[Array, " P"], ts: Float[Array, " S"], solver):
        slots = self._slots()
        outs = []
        for law in self.laws:
            m, density, pos, w, result = law.solve_grid(kind, x, ts, solver)
            outs.append((m, density, *padded_atoms((pos, w), slots), result))
        return pick(self.index, outs)

    def exact_moments(self, kind: AbstractDecompression, t: Real[ArrayLike, ""], order: int):
        return pick(self.index, [law.exact_moments(kind, t, order) for law in self.laws])

    def edge_system(self, kind: AbstractDecompression) -> AbstractEdgeSystem | None:
        return self._chosen("edge_system").edge_system(kind) if is_concrete(self.index) else None

    def refine_cusps(self, kind: AbstractDecompression, x_seed, m_seed, tau_seed):
        if is_concrete(self.index):
            return self._chosen("refine_cusps").refine_cusps(kind, x_seed, m_seed, tau_seed)
        return super().refine_cusps(kind, x_seed, m_seed, tau_seed)

