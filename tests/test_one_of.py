"""`OneOf`: every method is the chosen member's, with the index concrete, traced, vmapped or differentiated through."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import freedecomp_jax as fdj
from freedecomp_jax._one_of import OneOf

# Marchenko-Pastur of ratio 1/2 (no atom), and a compound free Poisson law with an atom of 0.6 at 0
MP = fdj.LevyKhintchine(0.0, 0.0, jnp.array([2.0]), jnp.array([1.0]), 100.0)
CFP = fdj.LevyKhintchine(0.0, 0.0, jnp.array([0.3, 0.1]), jnp.array([2.0, 5.5]), 100.0)
LAWS = (MP, CFP)
Z = jnp.array([0.5 + 0.1j, 3.0 + 0.01j, -1.0 + 1e-3j])


@pytest.mark.parametrize("k", [0, 1])
def test_the_methods_are_the_chosen_members(k):
    law, one = LAWS[k], OneOf(LAWS, k)
    np.testing.assert_allclose(one.stieltjes(Z), law.stieltjes(Z), rtol=1e-14)
    np.testing.assert_allclose(one.density(jnp.real(Z)), law.density(jnp.real(Z)), rtol=1e-14)
    np.testing.assert_allclose(one.moments(4), law.moments(4), rtol=1e-14)
    for a, b in zip(one.exact_moments(fdj.Free(), 0.7, 4), law.exact_moments(fdj.Free(), 0.7, 4)):
        np.testing.assert_allclose(a, b, rtol=1e-14)
    pos, w = one.atoms()
    lpos, lw = law.atoms()
    assert pos.shape[0] == max(m.atoms()[0].shape[0] for m in LAWS)
    np.testing.assert_allclose(np.sum(w), np.sum(lw), rtol=1e-14)
    np.testing.assert_allclose(np.sort(pos[w > 0]), np.sort(lpos[lw > 0]))
    np.testing.assert_array_equal(one.support(), law.support())
    assert float(one.n0) == float(law.n0)
    x = jnp.linspace(-0.5, 8.0, 200)
    ours, theirs = fdj.Spectrum.solve(one, fdj.Free(), x, 400.0), fdj.Spectrum.solve(law, fdj.Free(), x, 400.0)
    np.testing.assert_allclose(ours.density, theirs.density, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(ours.moment(3), theirs.moment(3), rtol=1e-13)
    np.testing.assert_allclose(ours.moment_errors(), theirs.moment_errors(), rtol=1e-12, atol=1e-14)


def test_jit_vmap_grad():
    moments = jax.jit(jax.vmap(lambda i: OneOf(LAWS, i).moments(4)))(jnp.arange(2))
    np.testing.assert_allclose(moments, np.stack([law.moments(4) for law in LAWS]), rtol=1e-14)
    stieltjes = jax.jit(lambda i: OneOf(LAWS, i).evolve(0.5).stieltjes(Z))(1)
    np.testing.assert_allclose(stieltjes, CFP.evolve(0.5).stieltjes(Z), rtol=1e-13)

    def second_moment(rate, i):  # through the chosen member only
        mp = fdj.LevyKhintchine(0.0, 0.0, jnp.reshape(rate, (1,)), jnp.array([1.0]), 100.0)
        return OneOf((mp, CFP), i).moments(2)[2]

    g = jax.grad(second_moment)(2.0, 0)
    h = 1e-6
    np.testing.assert_allclose(g, (second_moment(2.0 + h, 0) - second_moment(2.0 - h, 0)) / (2 * h), rtol=1e-7)
    assert float(jax.grad(second_moment)(2.0, 1)) == 0.0


def test_plain_python_methods_need_a_concrete_index():
    with pytest.raises(ValueError, match="spec\\[k\\]"):
        jax.jit(lambda i: jnp.asarray(OneOf(LAWS, i).support()))(0)
