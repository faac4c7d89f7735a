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
