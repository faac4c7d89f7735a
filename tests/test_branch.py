import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import l1_distance, support_grid

import freedecomp_jax as fdj
from freedecomp_jax import distributions as D

FL = dict(t=[2.0, 5.5], w=[0.75, 0.25], lam=0.1, a=0.0, sigma=0.4)
CFP = dict(t=[2.0, 5.5], w=[0.75, 0.25], lam=0.1)

CLOSED_FORM = [
    D.MarchenkoPastur(0.3),
    D.MarchenkoPastur(0.5, sigma=2.0),
    D.Wigner(1.7),
    D.KestenMcKay(3),
    D.KestenMcKay(6),
    D.Wachter(3.0, 5.0),
    D.FussCatalan(2),
    D.FussCatalan(3),
]


@pytest.mark.parametrize("law", CLOSED_FORM, ids=lambda law: type(law).__name__)
def test_density_matches_closed_form(law):
    x = support_grid(law.support(), n=6001)
    rho = np.asarray(law.curve().density(x))
    assert l1_distance(x, rho, law.density(x)) <= 1e-4


@pytest.mark.parametrize(
    "law",
    [D.MarchenkoPastur(2.0), D.FreeLevy(**FL), D.CompoundFreePoisson(**CFP), D.DeformedWigner([-1.5, 2.5], [0.25, 0.75], 1.0)],
    ids=["MP-atom", "FreeLevy", "CFP", "DeformedWigner"],
)
def test_stieltjes_matches_law_everywhere(law):
    lo, hi = np.asarray(law.support()).min(), np.asarray(law.support()).max()
    x = np.linspace(lo - 1, hi + 1, 41)
    for y in [3.0, 0.1, 1e-4, -0.05]:
        z = x + 1j * y
        m, result = law.curve().stieltjes_with_result(z)
        assert np.all(np.asarray(result == fdj.RESULTS.successful))
        np.testing.assert_allclose(np.asarray(m), np.asarray(law.stieltjes(z)), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(
    "law, evolve, n_bulks",
    [
        pytest.param(D.FreeLevy(**FL).decompress(0.25), dict(t=np.log(4.0)), 3, marks=pytest.mark.slow),
        (D.CompoundFreePoisson(**CFP).decompress(1 / 8), dict(t=np.log(8.0)), 2),
        pytest.param(D.DeformedMarchenkoPastur([2.0, 5.5], [0.75, 0.25], 0.05 / 16), dict(t=np.log(16.0), kind=fdj.Deformed(0.05 / 16)), 2, marks=pytest.mark.slow),
    ],
    ids=["FreeLevy-1to3", "CFP-atom", "DMP-deformed"],
)
def test_multi_bulk_laws_after_evolution(law, evolve, n_bulks):
    tau = np.exp(evolve["t"])
    target = law.decompress(tau)
    curve = law.curve().evolve(**evolve).trimmed()  # deformed evolution zero-pads its array
    support = curve.support()
    truth = np.asarray(target.support())
    assert support.shape == (n_bulks, 2) == truth.shape
    np.testing.assert_allclose(support, truth, atol=1e-3)
    x = support_grid(truth, n=8001)
    rho = np.asarray(curve.density(x))
    assert rho.min() >= 0
    pos, w = (np.asarray(a) for a in curve.atoms())
    assert abs(np.trapezoid(rho, x) + w.sum() - 1) <= 1e-4
    tpos, tw = target.atoms()
    assert np.isclose(w.sum(), np.sum(tw), atol=1e-10)
    for p, ww in zip(tpos, tw):
        k = np.argmin(np.abs(pos - p) + (w == 0))
        assert abs(pos[k] - p) <= 1e-8 and abs(w[k] - ww) <= 1e-8


@pytest.mark.parametrize(
    "law",
    [D.CompoundFreePoisson(**CFP), D.MarchenkoPastur(3.0), D.FreeLevy([1.0, 3.0], [0.5, 0.5], 0.4, a=0.7)],
    ids=["CFP", "MP", "FreeLevy-drift"],
)
def test_atoms(law):
    pos, w = (np.asarray(a) for a in law.curve().atoms())
    tpos, tw = law.atoms()
    assert np.sum(w > 0) == len(tw)
    np.testing.assert_allclose(np.sort(pos[w > 0]), np.sort(tpos), atol=1e-10)
    np.testing.assert_allclose(np.sort(w[w > 0]), np.sort(tw), atol=1e-10)
    # the density at the atom itself is the absolutely continuous part, finite
    assert np.all(np.isfinite(np.asarray(law.curve().density(np.asarray(tpos)))))


def test_no_atoms_when_none():
    pos, w = D.FreeLevy(**FL).curve().atoms()
    assert np.all(np.asarray(w) == 0)


def test_invalid_branch_is_reported():
    bad = fdj.SpectralCurve([[-1.0, 0.0], [0.0, 1.0]])  # z m - 1 = 0: m = 1/z has Im m < 0 above the axis
    m, result = bad.stieltjes_with_result(jnp.array([0.5 + 0.5j, 2.0 + 0.1j]))
    assert np.all(np.asarray(result != fdj.RESULTS.successful))


def test_jit_and_vmap_over_curves():
    lams = [0.2, 0.5, 0.9]
    stacked = jax.tree.map(lambda *a: jnp.stack(a), *[D.MarchenkoPastur(lam_).curve() for lam_ in lams])
    x = jnp.linspace(0.05, 3.5, 64)
    z = x + 0.01j
    dens = jax.jit(jax.vmap(lambda c: c.density(x)))(stacked)
    stj = jax.jit(jax.vmap(lambda c: c.stieltjes(z)))(stacked)
    for k, lam in enumerate(lams):
        cur = D.MarchenkoPastur(lam).curve()
        np.testing.assert_allclose(dens[k], cur.density(x), atol=1e-13)
        np.testing.assert_allclose(stj[k], cur.stieltjes(z), atol=1e-13)
        np.testing.assert_allclose(dens[k], D.MarchenkoPastur(lam).density(x), atol=1e-10)


@pytest.mark.parametrize("what", ["stieltjes", "density"])
def test_grad_wrt_coefficients_matches_finite_differences(what):
    cur = D.FreeLevy(**FL).curve()
    pts = jnp.array([-0.3, 1.5, 2.5, 5.0])

    def f(c):
        curve = fdj.SpectralCurve(c)
        if what == "stieltjes":
            m = curve.stieltjes(pts + 0.05j)
            return jnp.sum(jnp.real(m) ** 2 + jnp.imag(m))
        return jnp.sum(curve.density(pts) ** 2)

    c0 = cur.coeffs
    g = np.array(jax.jit(jax.grad(f))(c0))
    fd = np.zeros_like(g)
    for idx in np.ndindex(*c0.shape):
        if idx == (c0.shape[0] - 1, 0):
            continue
        h = 1e-6 * max(1.0, abs(float(c0[idx])))
        fd[idx] = (f(c0.at[idx].add(h)) - f(c0.at[idx].add(-h))) / (2 * h)
    g[c0.shape[0] - 1, 0] = 0
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-7)


def test_grad_wrt_query_point():
    law = D.Wigner(2.0)
    z0 = 0.7 + 0.2j
    g = jax.grad(lambda x: jnp.imag(law.curve().stieltjes(x + 0.2j)))(0.7)
    h = 1e-6
    fd = (np.imag(law.stieltjes(z0 + h)) - np.imag(law.stieltjes(z0 - h))) / (2 * h)
    assert float(g) == pytest.approx(float(fd), rel=1e-6)
