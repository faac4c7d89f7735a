import os
import shutil
import tempfile

import jax
import jax.random as jr
import pytest

jax.config.update("jax_enable_x64", True)

# The workers of one `pytest -n` run share compiled programs through a persistent XLA cache in a
# temporary directory (removed at the end of the run): a program one worker compiled, the other loads.
# Keyed by the controller's process id (a worker's parent).
_WORKER = "PYTEST_XDIST_WORKER" in os.environ
_CACHE = os.path.join(tempfile.gettempdir(), f"freedecomp_jax_tests_{os.getppid() if _WORKER else os.getpid()}")
jax.config.update("jax_compilation_cache_dir", _CACHE)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Drop the compiled programs of a test module when it ends (a later module loads what it shares from the
    persistent cache above). Each program held by a process keeps about 18 memory maps; a worker that kept
    every program of its modules passed Linux's default limit of 65530 maps (56257 measured on the other
    worker), and XLA's next compilation crashed the process (segfault or abort, 2026-12-07)."""
    yield
    jax.clear_caches()


def pytest_sessionfinish(session):
    if not _WORKER:  # the controller (or a run without workers), after every test is done
        shutil.rmtree(_CACHE, ignore_errors=True)


@pytest.fixture
def getkey():
    """A fresh PRNG key each call, deterministic per test."""
    state = {"key": jr.PRNGKey(0)}

    def _getkey():
        state["key"], sub = jr.split(state["key"])
        return sub

    return _getkey
