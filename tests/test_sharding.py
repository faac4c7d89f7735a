"""Batches split across devices (`sharded`) and the persistent compilation cache.

Multi-device runs happen in a subprocess with four host CPU devices
(`XLA_FLAGS=--xla_force_host_platform_device_count=4`), since the device count is fixed when
JAX starts; the subprocess saves its outputs with `np.savez` and the assertions run here.
The compilation cache changes global JAX state, so it too is exercised in subprocesses.
"""

import json
import os
import pathlib
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import mp_quantiles

import freedecomp_jax as fdj
from freedecomp_jax._cache import CACHE_ENV, default_cache_dir, enable_compilation_cache
from freedecomp_jax._curve import SpectralCurve
from freedecomp_jax._sharding import sharded

# MP ratios; decompressed 8x, all but the first grow an atom at 0. Three spectra over four devices:
# padded to one spectrum per device, which keeps clear of a jaxlib 0.10 CPU deadlock that batched
# LAPACK calls on every forced host device at once can hit (see the `sharded` docstring).
LAMS = (0.1, 0.35, 0.6)
M = 200


def _eigs():
    """Exact quantiles (k - 1/2)/M of each MP law, (len(LAMS), M)."""
    return mp_quantiles(LAMS, M)


def _predict(e):
    """One spectrum: the checked pipeline of degrees (1, 2) (`predict` under vmap), 8x, on its own 128-point grid."""
    spec = fdj.predict(e, 8 * M, deg=(1, 2), grid_size=128, throw=False)
    return dict(
        x=spec.x,
        density=spec.density,
        positions=spec.atoms[0],
        weights=spec.atoms[1],
        status=spec.result._value,
        check=spec.check._value,
        coeffs=spec.law.law.law.coeffs,  # the bulk's curve (Shifted by 0) beside no outlier (Spikes)
        n0=spec.law.law.law.n0,
    )


def _env(**env: str) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("XLA_", "JAX_")) and k != CACHE_ENV}
    return {**base, "JAX_PLATFORMS": "cpu", **env}


def _run(script: str, cwd, **env: str) -> dict:
    """Run `script` in a fresh CPU-only Python; return the JSON object on its last stdout line."""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=cwd, env=_env(**env), timeout=600)
    assert proc.returncode == 0, proc.stderr[-5000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------- four devices

_SHARDED_SCRIPT = """
import json, sys
import numpy as np, jax, jax.numpy as jnp
sys.path.insert(0, sys.argv[1])
from test_sharding import LAMS, _eigs, _predict
from freedecomp_jax import distributions as D
from freedecomp_jax._curve import SpectralCurve
from freedecomp_jax._sharding import sharded

eigs = _eigs()
B = len(eigs)
f = sharded(_predict)
many = f(np.concatenate([eigs, eigs[: 4 - B]]))  # a multiple of 4: no padding, outputs stay split
some = f(eigs)  # padded to 4 with copies of eigs[0]: the same executable
d = many["density"]
info = dict(
    devices=jax.device_count(),
    named=isinstance(d.sharding, jax.sharding.NamedSharding) and d.sharding.spec == jax.P("batch"),
    shard_devices=sorted(s.device.id for s in d.addressable_shards),
    shard_shapes=[list(s.data.shape) for s in d.addressable_shards],
)

# transforms with a cheap function: a replicated (in_axes=None) argument, jit around, grad through
evolve = lambda c, t: SpectralCurve(c, 1.0).evolve(t).coeffs
plain = jax.vmap(evolve, in_axes=(0, None))
coeffs = jnp.stack([D.MarchenkoPastur(lam).curve().coeffs for lam in (0.2, 0.4, 0.6, 0.8, 1.5)])
t = jnp.log(8.0)
g = sharded(evolve, in_axes=(0, None))
loss = lambda fn: (lambda c: jnp.sum(jnp.sin(fn(c, t))))
np.savez(
    "out.npz",
    **{"many_" + k: np.asarray(v) for k, v in many.items()},
    **{"some_" + k: np.asarray(v) for k, v in some.items()},
    evolve_sharded=np.asarray(g(coeffs, t)),
    evolve_jit=np.asarray(jax.jit(g)(coeffs, t)),
    evolve_plain=np.asarray(plain(coeffs, t)),
    grad_sharded=np.asarray(jax.grad(loss(g))(coeffs)),
    grad_plain=np.asarray(jax.grad(loss(plain))(coeffs)),
)
print(json.dumps(info))
"""


@pytest.mark.slow
def test_four_devices_equal_one_device(tmp_path):
    """predict(deg=(1, 2)) of MP spectra split over 4 devices equals jit(vmap) on one.

    The 4-device run is a subprocess; the single-device reference runs here meanwhile (this
    process has one CPU device), so the two compilations overlap."""
    env = _env(XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_ENABLE_X64="1")
    here = str(pathlib.Path(__file__).parent)
    with subprocess.Popen([sys.executable, "-c", _SHARDED_SCRIPT, here], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env) as proc:
        try:
            assert jax.device_count() == 1
            ref = jax.jit(jax.vmap(_predict))(_eigs())
            ref = {k: np.asarray(v) for k, v in ref.items()}
            stdout, stderr = proc.communicate(timeout=600)
        finally:
            proc.kill()
    assert proc.returncode == 0, stderr[-5000:]
    info = json.loads(stdout.strip().splitlines()[-1])
    out = np.load(tmp_path / "out.npz")
    B = len(LAMS)

    # the outputs really are split: 4 rows over 4 devices, one each
    assert info["devices"] == 4 and info["named"]
    assert info["shard_devices"] == [0, 1, 2, 3]
    assert info["shard_shapes"] == [[1, 128]] * 4

    for k in ("x", "density", "positions", "weights", "coeffs", "n0"):
        assert out["some_" + k].shape == ref[k].shape and ref[k].shape[0] == B
        np.testing.assert_allclose(out["some_" + k], ref[k], rtol=1e-10, atol=1e-10, err_msg=k)
        np.testing.assert_allclose(out["many_" + k][:B], ref[k], rtol=1e-10, atol=1e-10, err_msg=k)
        np.testing.assert_allclose(out["many_" + k][B:], ref[k][: 4 - B], rtol=1e-10, atol=1e-10, err_msg=k)
    np.testing.assert_array_equal(out["some_status"], ref["status"])
    np.testing.assert_array_equal(out["some_check"], ref["check"])
    assert np.all(ref["check"] == fdj.RESULTS.successful._value)

    # the comparison is not vacuous: every point solved, atoms of mass 1 - 1/(8 lam) at 0
    assert np.all(np.isin(ref["status"], [fdj.RESULTS.successful._value, fdj.RESULTS.on_atom._value])) and np.all(np.isfinite(ref["density"]))
    w = np.where(ref["weights"] > 0, ref["weights"], 0.0).sum(axis=1)
    np.testing.assert_allclose(w, np.maximum(1 - 1 / (8 * np.asarray(LAMS)), 0.0), atol=5e-3)

    # a replicated argument, jit around it and grad through it
    np.testing.assert_allclose(out["evolve_sharded"], out["evolve_plain"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out["evolve_jit"], out["evolve_plain"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out["grad_sharded"], out["grad_plain"], rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------------------- one device, bad input


def _evolve(c):
    return SpectralCurve(c, 1.0).evolve(0.5).coeffs


def test_one_device_is_jit_vmap():
    coeffs = jnp.stack([jnp.asarray([[1.0, -(1 - lam), 0.0], [0.0, 1.0, lam]]) for lam in (0.2, 0.5, 0.9)])
    out = sharded(_evolve, devices=jax.devices()[:1])(coeffs)
    np.testing.assert_allclose(out, jax.jit(jax.vmap(_evolve))(coeffs), rtol=1e-14, atol=0)
    assert out.sharding.num_devices == 1


def test_bad_input():
    c = jnp.ones((3, 2, 3))
    with pytest.raises(ValueError, match="devices is empty"):
        sharded(_evolve, devices=[])
    with pytest.raises(ValueError, match="twice"):
        sharded(_evolve, devices=jax.devices()[:1] * 2)
    with pytest.raises(ValueError, match="in_axes must be"):
        sharded(_evolve, in_axes=1)
    with pytest.raises(ValueError, match="no argument"):
        sharded(_evolve, in_axes=(None,))
    with pytest.raises(ValueError, match="one leading"):
        sharded(lambda a, b: a, in_axes=(0, 0))(c, c[:2])
    with pytest.raises(ValueError, match="entries"):
        sharded(lambda a, b: a, in_axes=(0, None))(c)
    with pytest.raises(ValueError, match="scalar leaf"):
        sharded(lambda a: a)(jnp.ones(()))
    with pytest.raises(ValueError, match="empty"):
        sharded(_evolve)(c[:0])


# ------------------------------------------------------------------------- compilation cache

_CACHE_SCRIPT = """
import json, os, sys
import jax, jax.numpy as jnp
import freedecomp_jax._x64 as x64
from freedecomp_jax._cache import enable_compilation_cache
from freedecomp_jax._roots import polyroots
from freedecomp_jax._sharding import sharded

try:  # x64 off: refused with the one-line fix
    sharded(jnp.sin)(jnp.ones((2,)))
    x64_refused = False
except ValueError as e:
    x64_refused = str(e) == x64.X64_MESSAGE
jax.config.update("jax_enable_x64", True)

hits = []
jax.monitoring.register_event_listener(lambda event, **kw: hits.append(event) if event.endswith("/cache_hits") else None)
path = enable_compilation_cache()  # the directory from $FREEDECOMP_JAX_CACHE
roots = jax.jit(jax.vmap(polyroots))(jnp.asarray([[2.0, -3.0, 1.0], [-3.0, -2.0, 1.0]]) + 0j)
print(json.dumps(dict(path=str(path), x64_refused=x64_refused, hits=len(hits),
                      roots=sorted(float(r) for r in roots.roots.real.ravel()),
                      entries=sorted(os.listdir(path)))))
"""


def test_compilation_cache_is_written_then_read(tmp_path):
    cache = tmp_path / "xla"
    first = _run(_CACHE_SCRIPT, tmp_path, **{CACHE_ENV: str(cache)})
    assert first["x64_refused"]
    assert first["path"] == str(cache.resolve()) and cache.is_dir()
    assert first["entries"] and first["hits"] == 0
    np.testing.assert_allclose(first["roots"], [-1.0, 1.0, 2.0, 3.0], rtol=1e-12)  # 2 - 3z + z^2 and -3 - 2z + z^2
    second = _run(_CACHE_SCRIPT, tmp_path, **{CACHE_ENV: str(cache)})
    assert second["hits"] >= 1 and second["entries"] == first["entries"] and second["roots"] == first["roots"]


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "freedecomp_jax" / "xla"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == pathlib.Path.home() / ".cache" / "freedecomp_jax" / "xla"
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="is a file"):
        enable_compilation_cache(tmp_path / "file")
