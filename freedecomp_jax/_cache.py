"""Opt-in persistent compilation cache, so later processes skip XLA compilation."""

import os
import pathlib

import jax
from jax.experimental.compilation_cache import compilation_cache

CACHE_ENV = "FREEDECOMP_JAX_CACHE"
"""Environment variable naming the default cache directory."""


def default_cache_dir() -> pathlib.Path:
    """`$FREEDECOMP_JAX_CACHE` if set, else `$XDG_CACHE_HOME/freedecomp_jax/xla` (`~/.cache/...`)."""
    if os.environ.get(CACHE_ENV):
        return pathlib.Path(os.environ[CACHE_ENV]).expanduser()
    base = pathlib.Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser()
    return base / "freedecomp_jax" / "xla"


def enable_compilation_cache(path: str | os.PathLike | None = None) -> pathlib.Path:
    r"""Turn on JAX's persistent compilation cache, for this process and the ones that follow.

    Compiled XLA executables are written to `path` and read back by any later process that
    compiles the same program (same shapes, dtypes, options, JAX version and device), so
    the first call of a pipeline costs a file read instead of a compilation. This sets
    `jax_compilation_cache_dir` and lowers JAX's thresholds so that every compilation is
    stored, however short (`jax_persistent_cache_min_compile_time_secs = 0`,
    `jax_persistent_cache_min_entry_size_bytes = -1`). It changes global JAX configuration
    (for every library in the process), so it is never called on import; call it once, early.
    An explicit `jax_enable_compilation_cache=False` (or `JAX_ENABLE_COMPILATION_CACHE=0`)
    is respected: the directory is set but nothing is stored.

    JAX never stores a program that holds host callbacks (every `eqx.error_if` inside a
    compiled function is one). The compiled programs of the default pipeline ([`fit`][],
    [`decompress`][] to one size, the [`Spectrum`][] methods) hold none: their input checks
    run outside the compiled code. Traced sizes (`decompress` inside your own `jit`) or
    several sizes per solve bring checks with callbacks back; with `EQX_ON_ERROR=nan` set
    before equinox is imported, those are cached as well (failed checks then give NaN, and
    [`decompress`][] still reports failures in `Spectrum.status`).

    **Arguments:**

    - `path`: the cache directory (created if missing). Default: `$FREEDECOMP_JAX_CACHE`,
      else `$XDG_CACHE_HOME/freedecomp_jax/xla`, i.e. `~/.cache/freedecomp_jax/xla`.

    **Returns:** the absolute cache directory.

    !!! warning

        The cache is trusted code: a process loads whatever executables it finds there. Keep
        the directory private to you (never world-writable). Its size is unbounded unless
        `jax_compilation_cache_max_size` is set; deleting the directory is always safe.
    """
    directory = (pathlib.Path(path).expanduser() if path is not None else default_cache_dir()).resolve()
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"the compilation cache path {str(directory)!r} is a file; pass a directory (or a path that does not exist yet).")
    directory.mkdir(parents=True, exist_ok=True)
    if jax.config.jax_compilation_cache_dir != str(directory):  # pyright: ignore[reportAttributeAccessIssue]
        jax.config.update("jax_compilation_cache_dir", str(directory))
        compilation_cache.reset_cache()  # a cache already opened elsewhere is re-opened here on the next compile
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    return directory
