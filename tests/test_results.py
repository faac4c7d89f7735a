"""One results enumeration: per-point, per-lane statuses; `throw` semantics; a bad lane never aborts a batch."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import mp_quantiles

import freedecomp_jax as fdj
from freedecomp_jax import distributions as D
from freedecomp_jax._results import failed, first_failure

M = 200
X = jnp.linspace(-0.5, 12.0, 256)


def _spectra(batch: int) -> np.ndarray:
    """`batch` spectra of size M: quantiles of Marchenko-Pastur laws of ratios in [0.2, 0.6]."""
    return mp_quantiles(np.linspace(0.2, 0.6, batch), M, points=20001)


def _one(e):
    # the closed-form start of the fit (no refinement: FitConfig(steps=0, polish=0)) is exact on MP
    # and compiles in 2 s instead of 20; the refined fit under vmap is tested in test_fit.py
    curve = fdj.fit(e, deg=(1, 2), config=fdj.FitConfig(steps=0, polish=0))
    spec = fdj.decompress(curve, X, 4.0 * M, throw=False)
    return spec.density, spec.result


def test_batch_of_64_with_one_bad_spectrum():
    batch = _spectra(64)
    batch[17, 5] = np.nan  # one corrupted spectrum
    density, result = jax.jit(jax.vmap(_one))(jnp.asarray(batch))
    lane_failed = np.asarray(jnp.any(failed(result), axis=1))
    assert lane_failed.tolist() == [k == 17 for k in range(64)]
    bad = first_failure(jax.tree.map(lambda v: v[17], result))
    assert "physical branch" in fdj.RESULTS[bad]  # a message that says what to do
    # the 63 good lanes are right, each against its closed form: MP(lam) grown 4x is MP(4 lam)
    for k, lam in enumerate(np.linspace(0.2, 0.6, 64)):
        if k != 17:
            truth = np.asarray(D.MarchenkoPastur(4 * lam).density(np.asarray(X)))
            assert np.trapezoid(np.abs(np.asarray(density[k]) - truth), np.asarray(X)) <= 0.05, k


def test_throw_raises_the_message():
    curve = fdj.SpectralCurve(np.array([[1.0, 0.0, -1.0], [0.0, 1.0, 0.0]]), 100.0)  # no physical branch
    spec = fdj.decompress(curve, X, 400.0, throw=False)
    assert np.all(np.asarray(spec.result == fdj.RESULTS.no_physical_branch))
    with pytest.raises(eqx.EquinoxRuntimeError, match="no valid physical branch"):
        fdj.decompress(curve, X, 400.0)
    with pytest.raises(eqx.EquinoxRuntimeError, match="no valid physical branch"):
        eqx.filter_jit(lambda c: fdj.decompress(c, X, 400.0).density)(curve)


def test_every_message_says_what_to_do():
    for item in (fdj.RESULTS.no_physical_branch, fdj.RESULTS.branch_lost, fdj.RESULTS.newton_failed):
        msg = fdj.RESULTS[item]
        assert len(msg) > 40 and any(w in msg for w in ("refit", "move", "use", "check"))
