"""Goodness of fit at the observed size, against SciPy's Kolmogorov–Smirnov statistic and distribution."""

import numpy as np
import pytest
from scipy import stats

import freedecomp_jax as fdj
from freedecomp_jax import distributions as D
from freedecomp_jax._goodness import LEVEL, fit_distance, kolmogorov_bound


def _semicircle_cdf(x):  # radius 2
    u = np.clip(np.asarray(x) / 2, -1, 1)
    return 0.5 + (u * np.sqrt(1 - u**2) + np.arcsin(u)) / np.pi


@pytest.mark.parametrize("m", [8, 200, 5000])
def test_bound_is_exceeded_with_probability_at_most_the_level(m):
    # the exact distribution of the one-sample KS statistic (scipy.stats.kstwo)
    bound = kolmogorov_bound(np.ones(m))
    assert stats.kstwo.sf(bound, m) <= LEVEL
    assert stats.kstwo.sf(bound, m) >= LEVEL / 4  # and is not much looser
    # weights count as the effective sample size (sum w)^2 / sum w^2
    assert kolmogorov_bound(np.r_[np.ones(m), np.zeros(7)]) == pytest.approx(bound)


@pytest.mark.parametrize("seed", [0, 1])
def test_distance_is_the_ks_statistic(seed):
    law = D.Wigner(2.0).curve(300.0)
    spec = fdj.decompress(law, np.linspace(-2.1, 2.1, 4097), 300.0)
    sample = np.random.default_rng(seed).uniform(-2.5, 2.0, 300)  # not from the law: a large distance
    truth = stats.kstest(sample, _semicircle_cdf).statistic
    assert fit_distance(spec, sample, np.ones(300), 0.0) == pytest.approx(truth, abs=1e-4)


def test_atoms_at_zero_are_snapped_on_both_sides():
    # MP of ratio 2: an atom of 1/2 at 0; the sample's zeros come back as +-1e-16, the law's atom
    # sits within rounding of 0: both are the atom at 0
    law = D.MarchenkoPastur(2.0).curve(400.0)
    spec = fdj.decompress(law, law.grid(fdj.Free(), 400.0, 2049), 400.0)
    bulk = np.asarray(spec.quantile((np.arange(200) + 0.5) / 400 + 0.5))
    zeros = np.random.default_rng(0).choice([-1e-16, 1e-16], 200)
    sample = np.concatenate([zeros, bulk])
    tol = 400 * np.finfo(float).eps * bulk.max()
    assert fit_distance(spec, sample, np.ones(400), tol) <= 1 / 400 + 1e-3
    # without the snap the negative half of the zeros sits below the law's atom
    assert fit_distance(spec, sample, np.ones(400), 0.0) >= 0.2
