r"""The checks of the public arguments: each rule and its message are written once, here.

Every check looks at concrete values (outside `jit`, or static arguments); a traced value passes
with its shape checked, and the numerics then report through [`RESULTS`][]. A failed check raises
`ValueError` with one message that names the argument and the value, states the rule and says
how to fix it. Integer and float32 arrays are accepted wherever real numbers are (they are
converted to float64 once checked); bools and strings are never numbers.
"""

import operator
from typing import NoReturn

import jax.numpy as jnp
import numpy as np

from ._custom_types import Array
from ._kinds import AbstractDecompression
from ._law import AbstractSpectralLaw
from ._x64 import is_concrete


def _show(value) -> str:
    text = repr(value) if not isinstance(value, np.ndarray) or value.size <= 6 else f"array of shape {value.shape}, dtype {value.dtype}"
    return text if len(text) <= 80 else text[:77] + "..."


def fail(name: str, value, rule: str, fix: str) -> NoReturn:
    """Raise the one `ValueError` form: `name = value: rule. Fix: fix.`"""
    raise ValueError(f"{name} = {_show(value)}: {rule}. Fix: {fix}.")


def _is_number(value) -> bool:
    return not isinstance(value, (bool, np.bool_, str, bytes)) and isinstance(value, (int, float, np.integer, np.floating))


def real_scalar(name: str, value, *, lower: float | None = None, strict: bool = True, fix: str = "") -> Array:
    """`value` as a 0-d float64 array; when concrete: a real finite number, above `lower` if given."""
    if is_concrete(value):
        arr = np.asarray(value) if not isinstance(value, (str, bytes)) else np.asarray(np.nan)
        if isinstance(value, (bool, np.bool_, str, bytes)) or arr.shape != () or not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
            fail(name, value, "must be a real number", fix or "pass a float")
        v = float(arr)
        if not np.isfinite(v):
            fail(name, value, "must be finite", fix or "pass a finite float")
        if lower is not None and (v <= lower if strict else v < lower):
            fail(name, value, f"must be {'>' if strict else '>='} {lower:g}", fix or f"pass a value {'>' if strict else '>='} {lower:g}")
    return jnp.asarray(value, dtype=jnp.float64)


def integer(name: str, value, *, lower: int, fix: str = "") -> int:
    """`value` as a Python int >= `lower` (a count, an order, a degree); integral floats are accepted."""
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and float(value).is_integer():
        v = int(value)
    elif isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        v = operator.index(value)
    else:
        fail(name, value, f"must be an integer >= {lower}", fix or f"pass a Python int >= {lower}")
    if v < lower:
        fail(name, value, f"must be an integer >= {lower}", fix or f"pass a Python int >= {lower}")
    return v


def matrix_size(name: str, value, *, observed: float | None = None) -> int:
    """A matrix size: an integer (or integral float) >= 1 and >= the `observed` size."""
    fix = "pass the size of the large matrix whose spectrum you want, an integer" + (f" >= {observed:g}" if observed else "")
    rule = "must be an integer matrix size" + (f" >= the observed size n0 = {observed:g} (decompression only grows the matrix)" if observed else " >= 1")
    if not _is_number(value) or not np.isfinite(value) or not float(value).is_integer() or value < 1:
        fail(name, value, rule, fix)
    if observed is not None and value < observed * (1 - 1e-12):
        fail(name, value, rule, fix)
    return int(value)


def sizes(name: str, value, n0) -> Array:
    """Target sizes of a decompression: a real size or a 1-D array of them, each >= `n0` (real sizes
    are points on the continuous flow in $t = \\log(n/n_0)$)."""
    if is_concrete(value):
        if isinstance(value, (bool, np.bool_, str, bytes)):
            fail(name, value, "must be a size or a 1-D array of sizes", "pass numbers, e.g. n=8000 or n=[2000, 4000]")
        arr = np.asarray(value)
        if arr.ndim > 1 or arr.size == 0 or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
            fail(name, value, "must be a size or a non-empty 1-D array of real sizes", "pass numbers, e.g. n=8000 or n=[2000, 4000]")
        arr = arr.astype(float)
        if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
            fail(name, value, "must be positive finite sizes", "pass sizes >= the law's size n0")
        if is_concrete(n0) and np.any(arr < float(n0) * (1 - 1e-12)):
            fail(name, value, f"is smaller than the law's size n0 = {float(n0):g}; decompression only grows the matrix", "pass n >= n0")
    elif jnp.ndim(value) > 1:
        fail(name, f"a traced array of shape {jnp.shape(value)}", "must be a size or a 1-D array of sizes", "pass a scalar or a 1-D array")
    return jnp.asarray(value, dtype=jnp.float64)


def grid(name: str, value) -> None:
    """A grid: a non-empty, 1-D, finite, strictly increasing array of real points."""
    if isinstance(value, (bool, str, bytes)):
        fail(name, value, "must be a non-empty 1-D grid of real points", "pass e.g. np.linspace(lo, hi, 512)")
    if not is_concrete(value):
        if jnp.ndim(value) != 1 or jnp.shape(value)[0] == 0:
            fail(name, f"a traced array of shape {jnp.shape(value)}", "must be a non-empty 1-D grid", "pass a 1-D array")
        return
    arr = np.asarray(value)
    if arr.ndim != 1 or arr.size == 0 or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        fail(name, value, "must be a non-empty 1-D grid of real points", "pass e.g. np.linspace(lo, hi, 512)")
    if not np.all(np.isfinite(arr)):
        fail(name, value, "contains NaN or inf", "pass a finite grid")
    if np.any(np.diff(arr.astype(float)) <= 0):
        fail(name, value, "must be strictly increasing (the spectrum is integrated over the grid)", "sort it and drop duplicates")


def probabilities(name: str, value) -> None:
    """Probabilities: finite reals in [0, 1] (checked when concrete)."""
    real_points(name, value, within=(0.0, 1.0))


def real_points(name: str, value, *, within: tuple[float, float] | None = None) -> None:
    """Points where a function is evaluated: finite reals (in the closed interval `within`), checked when concrete."""
    rule, fix = ("must be real numbers", "pass a float or an array of floats") if within is None else ("must be probabilities in [0, 1]", "pass floats in [0, 1]")
    if isinstance(value, (bool, str, bytes)):
        fail(name, value, rule, fix)
    if is_concrete(value):
        arr = np.asarray(value)
        if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
            fail(name, value, rule, fix)
        if not np.all(np.isfinite(arr)):
            fail(name, value, "contains NaN or inf", fix)
        if within is not None and (np.any(arr < within[0]) or np.any(arr > within[1])):
            fail(name, value, rule, fix)


def law(name: str, value) -> None:
    """A spectral law: an instance of [`AbstractSpectralLaw`][]."""
    if not isinstance(value, AbstractSpectralLaw):
        fail(name, value, "must be a spectral law (an AbstractSpectralLaw)", "fit one with fdj.fit(eigs, deg) or fdj.fit_levy(eigs), or take a law of fdj.distributions")


def kind(name: str, value) -> None:
    """A decompression kind: an instance of [`AbstractDecompression`][]."""
    if not isinstance(value, AbstractDecompression):
        fail(name, value, "must be a decompression kind", "pass fdj.Free() or fdj.Deformed(ratio)")


def degrees(value) -> tuple[int, int]:
    """`deg = (deg_z, deg_m)`: integers with deg_z >= 1 and deg_m >= 2."""
    if not (isinstance(value, (tuple, list)) and len(value) == 2):
        fail("deg", value, "must be a pair of integers (deg_z, deg_m), or None for automatic degrees", "pass e.g. deg=(1, 2)")
    L = integer("deg[0] (deg_z)", value[0], lower=1, fix="pass deg_z >= 1")
    K = integer("deg[1] (deg_m)", value[1], lower=2, fix="pass deg_m >= 2 (with deg_m = 1 the transform is rational: atoms only, no density)")
    return L, K


def eigenvalues(name: str, value) -> np.ndarray:
    """A real, finite numeric array (integer and float32 accepted; converted later)."""
    if isinstance(value, (str, bytes)):
        fail(name, value, "must be a real numeric array", "pass the eigenvalues as a NumPy or JAX array")
    arr = np.asarray(value)
    if np.iscomplexobj(arr):
        fail(
            name,
            value,
            "is complex; eigenvalues of a real symmetric (or Hermitian) matrix are real",
            "pass the real eigenvalues (e.g. np.linalg.eigvalsh(A)), or np.real(...) if the imaginary parts are round-off",
        )
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)) or arr.dtype == np.bool_:
        fail(name, value, f"must be a real numeric array (got dtype {arr.dtype})", "pass float eigenvalues")
    if not np.all(np.isfinite(arr)):
        fail(name, value, "contains NaN or inf", "remove them (or recompute the eigenvalues) before fitting")
    return arr


def eps_of(arr) -> float:
    """The precision the values of `arr` were computed in (float64's for integer arrays)."""
    return float(np.finfo(arr.dtype).eps) if np.issubdtype(arr.dtype, np.floating) else float(np.finfo(np.float64).eps)


def symmetric_matrix(name: str, arr: np.ndarray) -> None:
    r"""A square, symmetric (to $100\,m\,\varepsilon$ of its largest entry) matrix, already checked finite."""
    eps = eps_of(arr)
    if arr.shape[0] != arr.shape[1]:
        fail(name, arr, "a 2-D input is read as a symmetric matrix and must be square", "pass a square matrix, or a 1-D array of eigenvalues (for a batch, jax.vmap)")
    scale = np.max(np.abs(arr), initial=0.0)
    if np.max(np.abs(arr - arr.T), initial=0.0) > 100 * eps * arr.shape[0] * scale:
        fail(name, arr, "the matrix is not symmetric", "pass (A + A.T) / 2 if the asymmetry is round-off, or the eigenvalues")


def weights(name: str, value, m: int) -> np.ndarray:
    """Weights: finite, non-negative, shape `(m,)`, at least one positive (0 marks padding)."""
    w = np.asarray(value)
    if (
        w.shape != (m,)
        or not (np.issubdtype(w.dtype, np.floating) or np.issubdtype(w.dtype, np.integer))
        or not np.all(np.isfinite(w))
        or np.any(w < 0)
        or not np.any(w > 0)
    ):
        fail(name, value, f"must be a finite non-negative array of shape ({m},), one weight per eigenvalue, with a positive entry", "pass one weight per eigenvalue (0 marks padding)")
    return w.astype(np.float64)
