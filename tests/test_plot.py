"""Plots of a predicted Spectrum (matplotlib, Agg backend)."""

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import pytest

import freedecomp_jax as fdj
from freedecomp_jax import distributions as D
from freedecomp_jax._plot import _trapz, plot_edges, plot_spectrum

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

N0, N = 1000, 8000  # Marchenko-Pastur 0.25 -> 2: an atom of weight 1/2 at 0 is born
# 1024 grid points, one size, degrees (1, 2): the same compiled programs as the command line's
# tests (tests/test_cli.py), so the two files share their compilation.
X = np.linspace(-0.5, 6.5, 1024)


@pytest.fixture(scope="module")
def spec():
    return fdj.decompress(D.MarchenkoPastur(0.25).curve(N0), X, N)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _line(ax, gid="density"):
    lines = [ln for ln in ax.get_lines() if ln.get_gid() == gid]
    assert len(lines) >= 1
    return lines


def _atom_stems(ax):
    """The atoms' stems, drawn on ax's twin axis (right: weight)."""
    stems = [c for a in ax.figure.axes for c in a.collections if c.get_gid() == "atoms"]
    assert len(stems) == 1
    return np.array([seg[0][0] for seg in stems[0].get_segments()]), np.array([seg[1][1] for seg in stems[0].get_segments()])


def test_density_and_atoms(spec):
    rng = np.random.default_rng(0)
    observed = np.linalg.eigvalsh(np.cov(rng.standard_normal((250, 1000))))
    truth = np.concatenate([np.zeros(100), rng.uniform(0.2, 5.8, 100)])
    ax = plot_spectrum(spec, observed=observed, truth=truth, bins=40, title="MP")
    (line,) = _line(ax)
    np.testing.assert_array_equal(line.get_xdata(), np.asarray(spec.x))
    np.testing.assert_array_equal(line.get_ydata(), np.asarray(spec.density))
    xs, heights = _atom_stems(ax)
    np.testing.assert_allclose(xs, [0.0], atol=1e-12)
    np.testing.assert_allclose(heights, [0.5], atol=1e-6)  # the atom's weight on the right axis
    (twin,) = [a for a in ax.figure.axes if a is not ax]
    assert twin.get_ylim() == (0.0, 1.0) and "weight" in twin.get_ylabel()
    assert any("0.5 at 0" in t.get_text() for t in twin.texts)
    assert len(ax.patches) == 40 + 1  # the truth's 40 bars and the observed step outline
    assert ax.get_title() == "MP"
    assert len([c for c in ax.collections if c.get_gid() == "support"]) == 1  # one bulk, marked along the bottom
    labels = [t.get_text() for t in twin.get_legend().get_texts()]
    assert any("observed" in lb for lb in labels) and any("true" in lb for lb in labels) and any("atoms" in lb for lb in labels)


def test_into_given_axes_and_default_title(spec):
    fig, ax = plt.subplots()
    assert plot_spectrum(spec, ax=ax) is ax
    assert "8,000" in ax.get_title() and "SpectralCurve" in ax.get_title()
    fig.canvas.draw()


def test_log_axis(spec):
    ax = plot_spectrum(spec, log=True, observed=np.geomspace(0.2, 5.0, 200))
    assert ax.get_xscale() == "log"
    (line,) = _line(ax)  # a positive spectrum: one curve, |x| rho(x) over x > 0
    x, rho = np.asarray(spec.x), np.asarray(spec.density)
    sel = (x > 0) & (rho > 0)
    keep = x > 0
    np.testing.assert_allclose(line.get_xdata(), x[keep])
    np.testing.assert_allclose(line.get_ydata(), (x * rho)[keep])
    assert _trapz(line.get_ydata(), np.log(line.get_xdata())) == pytest.approx(0.5, abs=1e-2)  # the bulk's mass
    assert sel.any()
    assert any("atom at 0" in t.get_text() for t in ax.get_legend().get_texts())  # off the log axis, named in the legend
    ax.figure.canvas.draw()


def test_log_axis_signed_spectrum(spec):
    shifted = eqx.tree_at(lambda s: (s.x, s.atoms), spec, (spec.x - 1.0, (spec.atoms[0] - 1.0, spec.atoms[1])))
    ax = plot_spectrum(shifted, log=True)
    lines = _line(ax)
    assert len(lines) == 2  # lambda > 0 and the folded lambda < 0
    assert all(np.all(ln.get_xdata() > 0) for ln in lines)
    _atom_stems(ax)  # the atom now sits at -1, drawn at |x| = 1
    ax.figure.canvas.draw()


def test_edges(spec):
    sizes = np.geomspace(N0, N, 12)
    ax = plot_edges(spec, sizes)
    lo, hi = _line(ax, "lower_edges")[0], _line(ax, "upper_edges")[0]
    lam = 0.25 * sizes / N0
    np.testing.assert_allclose(lo.get_xdata(), sizes)
    np.testing.assert_allclose(lo.get_ydata(), (1 - np.sqrt(lam)) ** 2, atol=0.03)
    np.testing.assert_allclose(hi.get_ydata(), (1 + np.sqrt(lam)) ** 2, atol=0.03)
    assert ax.get_xscale() == "log"
    ax.figure.canvas.draw()


def test_edges_of_a_support_that_moves_away():
    # MP(0.25) at 1000 -> 64000: the bulk moves from [0.25, 2.25] to [9, 25]; the prediction's grid
    # covers only the latter (and the atom at 0), so every size is solved on a grid of its own
    far = fdj.decompress(D.MarchenkoPastur(0.25).curve(N0), jnp.linspace(-0.5, 26.5, 1024), 64 * N0)
    sizes = np.geomspace(N0, 64 * N0, 7)
    ax = plot_edges(far, sizes)
    lo, hi = _line(ax, "lower_edges")[0], _line(ax, "upper_edges")[0]
    lam = 0.25 * sizes / N0
    np.testing.assert_allclose(lo.get_xdata(), sizes)
    scale = (1 + np.sqrt(lam)) ** 2
    assert np.all(np.abs(np.asarray(lo.get_ydata()) - (1 - np.sqrt(lam)) ** 2) <= 1e-3 * scale)
    assert np.all(np.abs(np.asarray(hi.get_ydata()) - scale) <= 1e-3 * scale)


def test_needs_a_single_size(spec):
    many = eqx.tree_at(lambda s: s.density, spec, jnp.stack([spec.density, spec.density]))
    with pytest.raises(ValueError, match="spec\\[k\\]"):
        plot_spectrum(many)


def test_linear_axis_shows_the_support_not_the_whole_grid():
    """MP(2) at n: support [(1 - sqrt 2)^2, (1 + sqrt 2)^2] = [0.17, 5.83] and an atom at 0, on a grid
    that reaches 6.5; padded by 5%, the axis ends near 6.12, before the grid does."""
    big = np.linspace(-0.5, 30.0, 1024)  # a grid far wider than the support
    wide = fdj.decompress(D.MarchenkoPastur(0.25).curve(N0), big, N)
    ax = plot_spectrum(wide)
    lo, hi = ax.get_xlim()
    edge = (1 + np.sqrt(2.0)) ** 2
    assert -0.5 < lo <= 0.0 and edge <= hi <= 1.1 * edge
