"""The scoped float64 mode the README recommends: `with jax.enable_x64(True):` inside a float32 program.

conftest.py turns x64 on for the whole test session, so this runs in a fresh interpreter.
"""

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import jax, jax.numpy as jnp, numpy as np
    import freedecomp_jax as fdj
    from freedecomp_jax import distributions as D

    assert not jax.config.jax_enable_x64 and jnp.ones(1).dtype == jnp.float32
    x = np.linspace(0.0, 3.0, 64)
    with jax.enable_x64(True):
        spec = fdj.decompress(D.MarchenkoPastur(0.25).curve(1000), x, 2000)  # 0.25 -> 0.5
        assert spec.density.dtype == jnp.float64 and spec.x.dtype == jnp.float64, spec.density.dtype
        exact = np.asarray(D.MarchenkoPastur(0.5).density(x))
        assert np.max(np.abs(np.asarray(spec.density) - exact)) < 1e-8
        assert abs(float(spec.mass()) - 1.0) < 1e-2
    assert not jax.config.jax_enable_x64 and jnp.ones(1).dtype == jnp.float32  # the flag is restored
    try:
        D.MarchenkoPastur(0.25)
    except ValueError as err:
        assert "64-bit" in str(err)
    else:
        raise AssertionError("outside the block the library must refuse to run in float32")
    print("ok")
    """
)


def test_scoped_enable_x64():
    _run(SCRIPT)


PREDICT = textwrap.dedent(
    """
    import jax, jax.numpy as jnp, numpy as np
    import freedecomp_jax as fdj

    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 3000))
    small = np.linalg.eigvalsh(x @ x.T / 3000)  # Marchenko-Pastur 0.1 -> 0.4 at n = 1200
    with jax.enable_x64(True):
        spec = fdj.predict(small, 1200, deg=(1, 2), grid_size=256)
        eigs = np.asarray(spec.eigvalsh())
    assert eigs.dtype == np.float64 and eigs.shape == (1200,)
    assert abs(eigs[-1] - (1 + 0.4**0.5) ** 2) < 0.15
    assert not jax.config.jax_enable_x64 and jnp.ones(1).dtype == jnp.float32
    print("ok")
    """
)


def _run(script):
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(os.path.dirname(os.path.abspath(__file__))), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]


@pytest.mark.slow
def test_scoped_enable_x64_predict():
    """The README's snippet: the whole predict pipeline (fit, decompress, check, quantiles) inside the block."""
    _run(PREDICT)
