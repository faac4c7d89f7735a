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


def test_edges_across_an_atom_birth():
    """Marchenko-Pastur of ratio 1/2 at 200, predicted at 1600: the ratio crosses 1 at 400, where an
    atom is born at 0 and the lower edge touches it. The edges at sizes on both sides (flowed from
    1600, or read off each size's own grid below the birth) are the closed form
    ((1 -+ sqrt(r))^2, r = n / 400); before, the sizes below 400 came back with the lower edge of the
    1600 grid's first point (0.96 for 0.086 at 200)."""
    law = D.MarchenkoPastur(0.5, n0=200.0).curve()
    spec = fdj.Spectrum.on_grid(law, fdj.Free(), 1600.0, 1024)
    sizes = [200.0, 300.0, 600.0, 1600.0]
    for size, e in zip(sizes, spec.edges(sizes)):
        r = size / 400.0
        np.testing.assert_allclose(e, [[(1 - np.sqrt(r)) ** 2, (1 + np.sqrt(r)) ** 2]], rtol=1e-6, atol=1e-9)
