"""Float64 guard: the numerics need x64, but we never flip the global flag for users."""

import jax
from jax.core import Tracer

X64_MESSAGE = (
    "freedecomp_jax needs 64-bit floats, but JAX's x64 mode is off. Fix: run "
    "`jax.config.update('jax_enable_x64', True)` before creating arrays "
    "(or set the environment variable JAX_ENABLE_X64=1)."
)


def check_x64() -> None:
    """Raise `ValueError` with the one-line fix when `jax_enable_x64` is off."""
    if not jax.config.jax_enable_x64:  # pyright: ignore[reportAttributeAccessIssue]  (sees the scoped jax.enable_x64 too)
        raise ValueError(X64_MESSAGE)


def is_concrete(*xs) -> bool:
    """True when none of `xs` is a tracer, so Python-level value checks are possible."""
    return not any(isinstance(x, Tracer) for x in jax.tree_util.tree_leaves(xs))
