"""Automatic degrees under `jit`, `vmap` and `grad` (`freedecomp_jax._fit_choice`).

Ground truth: the plain-Python choice of `fit(eigs, deg=None)` outside a trace (its candidates refined one
at a time, by the program of one lane), and finite differences.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import freedecomp_jax as fdj
from freedecomp_jax import distributions as D
from freedecomp_jax._fit import fit, fit_with_diagnostics
from freedecomp_jax._fit_choice import _lane, candidate_degrees

# frame (1, 3): candidates (1, 2), (1, 3), padded in m; frame (2, 3) (slow): (1, 2), (2, 2), (1, 3), (2, 3), padded
# in z and m (smaller programs than the default's (3, 6)); the fits of given degrees outside jit are the default
# programs (the choice's fields are not compiled in)
CONFIG = fdj.FitConfig(max_deg_z=2, max_deg_m=3)
FRAMES = [(1, 3), pytest.param((2, 3), marks=pytest.mark.slow)]
M = 400


@functools.cache
def _spectra():
    """Eigenvalues of M x M principal submatrices: a Marchenko-Pastur law (one bulk: (1, 2) is chosen) and
    a free Levy law of two jumps (two bulks: the refined (1, 2) and (2, 2) are not valid, (1, 3) is)."""
    out = []
    for seed, law, n in ((0, D.MarchenkoPastur(0.5), 2 * M), (1, D.FreeLevy([2.0, 5.5], [0.75, 0.25], 0.1, 0.0, 0.4), 4 * M)):
        key_a, key_i = jax.random.split(jax.random.PRNGKey(seed))
        a = np.asarray(law.sample_matrix(key_a, n))
        idx = np.sort(np.asarray(jax.random.choice(key_i, n, (M,), replace=False)))
        out.append(np.linalg.eigvalsh(a[np.ix_(idx, idx)]))
    return out


def _embedded(curve, frame):
    c = np.zeros((frame[0] + 1, frame[1] + 1))
    c[: curve.coeffs.shape[0], : curve.coeffs.shape[1]] = np.asarray(curve.coeffs)
    return c


def test_candidates_fewest_branch_points_first():
    assert candidate_degrees(CONFIG) == ((1, 2), (2, 2), (1, 3), (2, 3))
    degrees = candidate_degrees(fdj.FitConfig())
    assert len(degrees) == 15 and degrees.index((1, 4)) < degrees.index((2, 3))
    keys = [L * (K - 1) for L, K in degrees]
    assert keys == sorted(keys)


@pytest.mark.parametrize("frame", FRAMES)
def test_jit_vmap_equals_the_choice_outside_jit(frame):
    """One compiled program over a batch: each lane chooses the degrees that the plain-Python choice does,
    with the same coefficients (padded with zeros to the frame, which `SpectralCurve.trimmed` drops); a
    ragged lane (weights) is the fit of its own eigenvalues; a lane with too few eigenvalues for any candidate gives NaN without stopping the others.
    Outside jit the candidates that the choice refines share one compiled program."""
    mp, levy = _spectra()
    eigs = np.stack([mp, levy, mp, levy])
    weights = np.ones((4, M))
    weights[2, ::4] = 0.0  # a ragged lane: 300 of the 400 eigenvalues
    weights[3, 20:] = 0.0  # 20 eigenvalues: fewer than 4 (L+1)(K+1) for every candidate
    config = fdj.FitConfig(max_deg_z=frame[0], max_deg_m=frame[1])
    batched, diag = jax.jit(jax.vmap(lambda e, w: fit_with_diagnostics(e, None, weights=w, config=config)))(jnp.asarray(eigs), jnp.asarray(weights))
    valid = np.asarray(jax.vmap(lambda d: d.valid)(diag))
    chosen, refined = [], []
    before = _lane._cached._cache_size()  # pyright: ignore[reportAttributeAccessIssue]
    for k, (e, w) in enumerate(zip(eigs[:3], weights[:3])):
        want, want_diag = fit_with_diagnostics(e[w > 0], None, config=config)
        refined += [row[0] for row in want_diag.candidates if row[2] is not None]
        np.testing.assert_allclose(np.asarray(batched.coeffs[k]), _embedded(want, frame), rtol=0, atol=1e-10)
        assert float(batched.n0[k]) == float(np.sum(w > 0))
        assert valid[k] == bool(want_diag.valid)
        chosen.append(want_diag.deg)
        assert tuple(s - 1 for s in fdj.SpectralCurve(batched.coeffs[k]).trimmed().coeffs.shape) == want_diag.deg
    assert chosen[0] != chosen[1]  # the two laws take different lanes of the choice
    # outside jit every candidate is refined by the program of one lane, its index an array: the Levy
    # lane refines (1, 2) (not valid), then (1, 3), and all of them compiled at most one program
    assert len(set(refined)) >= 2 and _lane._cached._cache_size() - before <= 1  # pyright: ignore[reportAttributeAccessIssue]
    assert np.all(np.isnan(np.asarray(batched.coeffs[3]))) and not valid[3]
    assert diag.deg == frame and "under jit" in diag.reason


@pytest.mark.slow
def test_grad_matches_finite_differences():
    _, levy = _spectra()
    x = jnp.linspace(levy.min(), levy.max(), 7)

    @jax.jit
    def scalar(e):
        return jnp.sum(fit(e, None, config=CONFIG).density(x) * jnp.arange(1.0, 8.0))

    e = jnp.asarray(levy)
    grad = jax.jit(jax.grad(scalar))(e)
    for k in (150, 300, 390):
        h = 1e-6 * abs(float(e[k]))
        fd = (scalar(e.at[k].add(h)) - scalar(e.at[k].add(-h))) / (2 * h)
        assert abs(float(grad[k]) - float(fd)) <= 1e-4 * abs(float(fd))
