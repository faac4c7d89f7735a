"""Decompression of exact curves against closed-form decompressed laws; fitted curves against exact moments."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from freedecomp_jax import RESULTS, Deformed, Free
from freedecomp_jax import distributions as D
from freedecomp_jax._curve import SpectralCurve
from freedecomp_jax._decompress import decompress
from freedecomp_jax._evolve import evolve_free
from freedecomp_jax._poly import polyval2, rescale

TAUS = np.array([2.0, 8.0, 64.0])
N0 = 1000.0

# (law at n0, kind); FreeLevy at n0 is the 1-bulk law that splits into 3 bulks by tau = 4
LAWS = {
    "wigner": (D.Wigner(2.0), Free()),
    "mp": (D.MarchenkoPastur(0.3), Free()),  # atom at 0 born when 0.3 tau crosses 1 (tau = 8, 64)
    "free_levy": (D.FreeLevy([2.0, 5.5], [0.75, 0.25], 0.1, 0.0, 0.4).decompress(0.25), Free()),
    "cfp": (D.CompoundFreePoisson([2.0, 5.5], [0.75, 0.25], 0.1), Free()),
    "dmp": (D.DeformedMarchenkoPastur([1.0, 4.0], [0.5, 0.5], 0.05), Deformed(0.05)),  # zero atom born at c = 1
}


P = 1201  # one grid size for every test, so that compiled solves are shared


def _grid(laws):
    """Union of grids covering each target support, plus 0 (where atoms sit)."""
    parts = [np.zeros(1)]
    for law in laws:
        sup = np.asarray(law.support())
        lo, hi = sup.min(), sup.max()
        pad = 0.05 * (hi - lo)
        parts.append(np.linspace(lo - pad, hi + pad, (P - 1) // len(laws)))
    x = np.unique(np.concatenate(parts))
    assert x.size == P
    return x


MP = D.MarchenkoPastur(0.3)
X_MP = _grid([MP.decompress(tau) for tau in TAUS])


def _scaled_residual(coeffs, z, m):
    """|P(z, m)| / sum_ij |c_ij| |z|^i |m|^j."""
    return np.asarray(jnp.abs(polyval2(coeffs, z, m)) / polyval2(jnp.abs(coeffs), jnp.abs(z), jnp.abs(m)))


@pytest.mark.parametrize("name", list(LAWS))
def test_exact_laws(name):
    law, kind = LAWS[name]
    targets = [law.decompress(tau) for tau in TAUS]
    x = _grid(targets)
    spec = decompress(law.curve(N0), x, N0 * TAUS, kind)
    assert spec.density.shape == (TAUS.size, x.size)
    for k, (tau, target) in enumerate(zip(TAUS, targets)):
        s = spec[k]
        ok, on_atom = np.asarray(s.result == RESULTS.successful), np.asarray(s.result == RESULTS.on_atom)
        assert np.all(ok | on_atom)
        rho = np.asarray(s.density)
        assert np.all(np.isfinite(rho)) and np.all(rho >= 0)
        l1 = np.trapezoid(np.abs(rho - np.asarray(target.density(x))), x)
        assert l1 <= 1e-3, (name, tau, l1)
        # atoms at size n
        pos, w = np.asarray(s.atoms[0]), np.asarray(s.atoms[1])
        ex_pos, ex_w = (np.asarray(a) for a in target.atoms())
        ex_pos, ex_w = ex_pos[ex_w > 0], ex_w[ex_w > 0]  # the law's empty slots carry weight 0
        kept = w > 0
        assert kept.sum() == len(ex_w), (name, tau, pos, w)
        np.testing.assert_allclose(np.sort(pos[kept]), np.sort(ex_pos), atol=1e-4)
        np.testing.assert_allclose(w[kept][np.argsort(pos[kept])], np.asarray(ex_w)[np.argsort(ex_pos)], atol=1e-4)
        assert np.all(on_atom[np.isin(x, ex_pos)])
        # independent check: the closed-form evolved curve vanishes at every returned m
        evolved = law.curve(N0).evolve(np.log(tau), kind)
        res = _scaled_residual(evolved.coeffs, jnp.asarray(x[ok]) + 0j, s.m[ok])
        assert res.max() <= 1e-8, (name, tau, res.max())


def test_a_curve_padded_with_zero_coefficients_is_the_same_law():
    # automatic degrees under jit return curves in the frame of the largest degrees: the MP curve (1, 2)
    # padded to (2, 3) is the same polynomial, so its decompression is the closed form, atoms included
    # (the atom at 0 is born at tau = 1/0.3; its position is a root of the highest non-zero column in m)
    curve = MP.curve(N0)
    padded = SpectralCurve(jnp.zeros((3, 4)).at[:2, :3].set(curve.coeffs), N0)
    spec = decompress(padded, X_MP, N0 * TAUS)
    for k, tau in enumerate(TAUS):
        target = MP.decompress(tau)
        rho = np.asarray(spec[k].density)
        assert np.trapezoid(np.abs(rho - np.asarray(target.density(X_MP))), X_MP) <= 1e-3
        pos, w = (np.asarray(a) for a in spec[k].atoms)
        ex_pos, ex_w = (np.asarray(a) for a in target.atoms())
        np.testing.assert_allclose(np.sum(w[w > 0]), np.sum(ex_w[ex_w > 0]), atol=1e-4)
        np.testing.assert_allclose(pos[w > 0], 0.0, atol=1e-12)


def test_a_zero_of_the_branch_in_a_gap():
    # a deformed Wigner law whose Stieltjes transform crosses 0 in the middle of its gap (x = 0.25, by
    # symmetry), compressed exactly to N0/8 (a (2, 4) curve) and decompressed back by 8: the evolved
    # curve is the law's times m^2, so the physical branch crosses the sheet m = 0 at a node there,
    # where Newton on the characteristic system stalls (4 of these points failed before)
    law = D.DeformedWigner([-1.0, 1.5], [0.5, 0.5], 0.5)
    small = SpectralCurve(evolve_free(law.curve(N0).coeffs, np.log(1 / 8)), N0 / 8)
    (lo, gap_lo), (gap_hi, hi) = np.asarray(law.support())
    pad = 0.05 * (hi - lo)
    x = np.unique(np.concatenate([np.linspace(lo - pad, hi + pad, P - 5), 0.25 + 1e-3 * np.arange(-2, 3)]))
    assert x.size == P
    # one compiled program serves every evaluation below: the solve (values, codes) with its forward-mode derivative
    c, xs = small.coeffs, jnp.asarray(x)

    def solve(c, xx):
        spec = decompress(SpectralCurve(c, N0 / 8), xx, N0, throw=False)
        return spec.m, (spec.density, spec.result._value)

    jvp = jax.jit(lambda c, xx, dc, dx: jax.jvp(solve, (c, xx), (dc, dx), has_aux=True))
    no_c, no_x = jnp.zeros_like(c), jnp.zeros_like(xs)
    m_at = lambda c, xx: jvp(c, xx, no_c, no_x)[0]  # noqa: E731
    _, _, (rho, codes) = jvp(c, xs, no_c, no_x)
    assert np.all(np.asarray(codes) == int(RESULTS.successful._value))  # every point solved
    rho = np.asarray(rho)
    assert np.trapezoid(np.abs(rho - np.asarray(law.density(x))), x) <= 1e-6
    assert np.max(rho[(x > gap_lo) & (x < gap_hi)]) <= 1e-12
    # there m is real, with the implicit function theorem's derivative in x and c (on the curve deflated by
    # its sheet m = 0; the 60 Newton steps that find the root are not differentiated): forward mode
    # against central differences of the solve. At x = 0.25 the law's mirror sheet crosses too (a
    # triple root m = 0), where no derivative is defined: 0, not the characteristic system's 1e16.
    # (In n there is none at this size: below it an island of eigenvalues fills the gap's centre.)
    near = (np.abs(x - 0.25) <= 3e-3) & (x != 0.25)
    h = 1e-6
    m, dm_dx, _ = jvp(c, xs, no_c, jnp.asarray(near, dtype=float))
    fd = (m_at(c, x + h * near) - m_at(c, x - h * near)) / (2 * h)
    assert np.max(np.abs(np.imag(np.asarray(m)[near]))) <= 1e-12
    np.testing.assert_allclose(np.asarray(dm_dx)[near], np.asarray(fd)[near], rtol=1e-5)
    assert np.all(np.asarray(dm_dx)[near] > 0)  # m' = int rho / (lambda - x)^2 in a gap
    # and in the coefficients (it had none: 0 against 4.67 by differences)
    dc = no_c.at[1, 2].set(1.0)
    _, dm_dc, _ = jvp(c, xs, dc, no_x)
    fd = (m_at(c + h * dc, xs) - m_at(c - h * dc, xs)) / (2 * h)
    np.testing.assert_allclose(np.asarray(dm_dc)[near], np.asarray(fd)[near], rtol=1e-5)
    _, dm_dx, _ = jvp(c, xs, no_c, jnp.asarray(x == 0.25, dtype=float))
    assert np.asarray(dm_dx)[x == 0.25] == 0.0


def test_no_growth_returns_the_curve_itself():
    """n = n0 (tau = 1): the curve's own law at every grid point, far outside the support too."""
    law = LAWS["free_levy"][0]
    sup = np.asarray(law.support())
    lo, hi = sup.min(), sup.max()
    x = np.linspace(lo - 3 * (hi - lo), hi + 3 * (hi - lo), P)
    spec = decompress(law.curve(N0), x, N0)
    assert np.all(np.asarray((spec.result == RESULTS.successful) | (spec.result == RESULTS.on_atom)))
    np.testing.assert_allclose(np.asarray(spec.density), np.asarray(law.density(x)), atol=1e-8)


def test_grid_point_next_to_a_just_born_atom():
    """An atom of weight 0.04 born at -1e-5 (MP(0.13) shifted, tau = 8: lambda tau = 1.04) with a
    grid point at x = 0: the descent to the real axis must follow m from i w/h to -w/d."""
    shift = 1e-5
    curve = SpectralCurve(rescale(D.MarchenkoPastur(0.13).curve(N0).coeffs, shift, 1.0), N0)
    x = np.linspace(-0.5, 5.5, P)
    x[np.argmin(np.abs(x))] = 0.0
    spec = decompress(curve, x, 8 * N0)
    assert np.all(np.asarray((spec.result == RESULTS.successful) | (spec.result == RESULTS.on_atom)))
    pos, w = np.asarray(spec.atoms[0]), np.asarray(spec.atoms[1])
    np.testing.assert_allclose(pos[w > 0], [-shift], atol=1e-9)
    np.testing.assert_allclose(w[w > 0], [1 - 1 / 1.04], rtol=1e-6)
    target = D.MarchenkoPastur(0.13 * 8)
    np.testing.assert_allclose(np.asarray(spec.density), np.asarray(target.density(x + shift)), atol=1e-6)
    # next to the pole m is real and about -w/d
    m0 = complex(np.asarray(spec.m)[x == 0.0][0])
    assert abs(m0.imag) <= 1e-8 * abs(m0) and abs(m0 * shift / -(1 - 1 / 1.04) - 1) <= 0.05


def test_jit_vmap_over_curves_equals_loop():
    curves = [D.MarchenkoPastur(lam).curve(N0) for lam in np.linspace(0.2, 0.9, 8)]
    stacked = jax.tree.map(lambda *a: jnp.stack(a), *curves)
    batched = jax.jit(jax.vmap(lambda c: decompress(c, X_MP, 8 * N0).density))(stacked)
    looped = [decompress(c, X_MP, 8 * N0) for c in curves]
    assert looped[0].density.shape == (P,) and looped[0].size.shape == () and looped[0].atoms[1].ndim == 1
    np.testing.assert_allclose(batched, jnp.stack([s.density for s in looped]), rtol=1e-10, atol=1e-12)


def test_grad_matches_finite_differences():
    f = jnp.cos(jnp.asarray(X_MP))

    def scalar(coeffs):
        spec = decompress(SpectralCurve(coeffs, N0), X_MP, 8 * N0)
        return jnp.sum(spec.density * f) + jnp.sum(spec.atoms[1])

    c = MP.curve(N0).coeffs
    g = jax.grad(scalar)(c)
    eps = 1e-6
    for i, j in [(0, 0), (0, 1), (1, 1), (1, 2)]:
        e = jnp.zeros_like(c).at[i, j].set(eps)
        fd = (scalar(c + e) - scalar(c - e)) / (2 * eps)
        np.testing.assert_allclose(g[i, j], fd, rtol=1e-3)


# A (3, 3) curve fitted (by the reference implementation) to the 1024 eigenvalues of the NTK
# spectrum shipped with the project: a realistic curve that is not exactly decompressible, so
# some characteristics end on another sheet (a fake gap holding a quarter of the mass).
NTK_FIT = np.array(
    [
        [4.7760273544364878e-02, 8.0207985054289617e-03, 1.7821415464243295e-03, 7.0208839969756377e-05],
        [-1.8172183145440854e-01, 1.9079930862547737e-02, -3.0584383192115380e-03, -2.3250059394613163e-04],
        [-7.7051789500122647e-01, -3.4760701575563457e-01, -4.4383785852862283e-02, -2.1885643336624189e-03],
        [0.0, -7.7051789498980794e-01, -9.3535010982611938e-02, -2.4755551622448503e-04],
    ]
)


def test_fitted_curve_against_exact_moments():
    """A fitted curve (not exactly decompressible): its prediction must be the physical branch of the
    evolved curve (residual), with unit mass and the exact mean at size n, which comes from the
    curve's Laurent series at n0 through the moment recursion (independent of any branch solve).
    Its 4th moment misses by ~0.2 standard units: the clipped negative density of the evolved
    curve, which is why `predict` checks every moment and passes over such curves."""
    curve = SpectralCurve(NTK_FIT, 1024)
    n = 50056
    x = np.linspace(-8.0, 13.0, P)
    spec = decompress(curve, x, n)
    assert np.all(np.asarray(spec.result == RESULTS.successful))
    assert abs(float(spec.mass()) - 1.0) <= 1e-2
    err = np.abs(np.asarray(spec.moment_errors()))
    assert err[0] <= 1e-2 and err.max() > 1e-2
    res = _scaled_residual(curve.evolve(np.log(n / 1024)).coeffs, jnp.asarray(x) + 0j, spec.m)
    assert res.max() <= 1e-8


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n=500.0), "smaller than the law's size"),
        (dict(x=np.array([0.0, np.nan])), "NaN or inf"),
        (dict(x=np.zeros(0)), "non-empty"),
        (dict(x=np.array([1.0, 0.0])), "increasing"),
    ],
)
def test_bad_input(kwargs, match):
    args = dict(curve=D.Wigner(1.0).curve(N0), x=np.linspace(-1, 1, 5), n=2 * N0) | kwargs
    with pytest.raises(ValueError, match=match):
        decompress(args.pop("curve"), args.pop("x"), args.pop("n"), **args)


@pytest.mark.parametrize("ratio", [0.0, -1.0, np.nan, np.array([0.1, 0.2])])
def test_bad_deformed_ratio(ratio):
    with pytest.raises(ValueError, match="positive finite scalar ratio"):
        Deformed(ratio)


def test_no_physical_branch_is_unmissable():
    curve = SpectralCurve(np.array([[1.0, 0.0, -1.0], [0.0, 1.0, 0.0]]), N0)  # "semicircle" of negative variance
    spec = decompress(curve, X_MP, N0 * TAUS, throw=False)
    assert np.all(np.asarray(spec.result == RESULTS.no_physical_branch))
    assert np.all(np.isnan(np.asarray(spec.density)))
    with pytest.raises(eqx.EquinoxRuntimeError, match="no valid physical branch"):
        decompress(curve, X_MP, N0 * TAUS)


@pytest.mark.slow
def test_grad_through_fit_and_decompress_wrt_eigenvalues():
    from freedecomp_jax._fit import fit

    law = D.MarchenkoPastur(0.3)
    g = np.linspace(*np.asarray(law.support())[0], 20001)
    rho = np.asarray(law.density(g))
    F = np.concatenate([[0.0], np.cumsum((rho[1:] + rho[:-1]) / 2 * np.diff(g))])
    eigs = jnp.asarray(np.interp((np.arange(200) + 0.5) / 200, F / F[-1], g))
    x = jnp.linspace(0.01, 6.5, 256)

    def scalar(e):
        curve = fit(e, deg=(1, 2))
        spec = decompress(curve, x, 8 * curve.n0)
        return jnp.sum(spec.density * jnp.cos(x)) + jnp.sum(spec.atoms[1])

    grad = jax.grad(scalar)(eigs)
    eps = 1e-6
    for i in (0, 57, 199):
        fd = (scalar(eigs.at[i].add(eps)) - scalar(eigs.at[i].add(-eps))) / (2 * eps)
        np.testing.assert_allclose(grad[i], fd, rtol=1e-3)
