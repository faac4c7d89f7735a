"""Edges flowed in size by diffrax, against the closed-form supports of the decompressed laws."""

import numpy as np
import pytest

import freedecomp_jax as fdj
from freedecomp_jax import distributions as D

N0 = 1000.0


@pytest.mark.parametrize(
    "law, kind, sizes",
    [
        # one bulk at n0 that splits twice (cusps near 1.3 n0 and 2 n0): lanes flowed back from 8 n0 stop at their cusps
        (D.FreeLevy([2.0, 5.5], [0.75, 0.25], 0.1, 0.0, 0.4).decompress(0.25), fdj.Free(), [1000, 1200, 1500, 1995, 2100, 4000, 8000]),
        # Gram matrix: two bulks that merge as the rows grow (deformed: flowed forward from n0)
        pytest.param(D.DeformedMarchenkoPastur([1.0, 4.0], [0.5, 0.5], 0.05), fdj.Deformed(0.05), [1000, 2000, 4000, 8000], marks=pytest.mark.slow),
    ],
)
def test_edges_across_sizes_and_cusps(law, kind, sizes):
    top = law.decompress(max(sizes) / N0)
    sup = np.asarray(top.support())
    lo, hi = min(sup.min(), np.asarray(law.support()).min()), sup.max()
    x = np.linspace(lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo), 1024)
    spec = fdj.decompress(law.curve(N0), x, max(sizes), kind)
    got = spec.edges(sizes)
    for n, edges in zip(sizes, got):
        truth = np.asarray(law.decompress(n / N0).support())
        assert edges.shape == truth.shape, (n, edges, truth)
        np.testing.assert_allclose(edges, truth, atol=1e-9)


def test_edges_of_a_levy_law_match_the_compound_free_poisson_closed_form():
    """A Levy-Khintchine law with rates lam w_k at jumps t_k is the compound free Poisson law CFP(t, w, lam)."""
    t, w, lam = [1.0, 6.0], [0.5, 0.5], 0.7
    law = fdj.LevyKhintchine(0.0, 0.0, lam * np.asarray(w), t, 500.0)
    cfp = D.CompoundFreePoisson(t, w, lam)
    x = np.geomspace(1e-2, 80.0, 2048)  # covers the support at every size
    spec = fdj.decompress(law, x, 4000.0)
    sizes = [500.0, 1000.0, 2000.0, 4000.0]
    for n, edges in zip(sizes, spec.edges(sizes)):
        truth = np.asarray(cfp.decompress(n / 500.0).support())
        truth = truth[truth[:, 1] > 1e-12]  # the closed form lists no interval for the atom at 0
        assert edges.shape == truth.shape, (n, edges, truth)
        np.testing.assert_allclose(edges, truth, rtol=1e-8, atol=1e-10)
