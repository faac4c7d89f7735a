"""`_levy_grid.py`: the Lévy–Khintchine law's grid, two passes of static size."""

import jax
import jax.numpy as jnp
import numpy as np

import freedecomp_jax as fdj


def test_a_grid_has_one_length_and_is_the_same_under_jit_and_vmap():
    # the grid's two passes have static sizes (`_levy_grid.py`): laws of every shape get 5 x size points, strictly
    # increasing, that resolve the density and the atom born at 0 (unit mass to 1e-3); built inside jit(vmap) with a
    # traced size per lane it is the same grid
    laws = [
        fdj.LevyKhintchine(0.0, 0.0, [2.0, 0.0], [0.5, 1.0], 100.0),  # one bulk: MP(1/2)
        fdj.LevyKhintchine(0.0, 0.0, [0.75, 0.25], [2.0, 5.5], 100.0),  # two bulks at n
        fdj.LevyKhintchine(0.0, 0.0, [2.0], [0.5], 100.0, scales=[1.0, 4.0]),  # a profile
    ]
    grids = [np.asarray(law.grid(fdj.Free(), 800, 256)) for law in laws]
    for law, g in zip(laws, grids):
        assert g.size == 5 * 256 and np.all(np.diff(g) > 0)
        spec = fdj.decompress(law, jnp.asarray(g), 800, throw=False)
        assert abs(float(spec.mass()) - 1.0) <= 1e-3
    # a batch of laws, each to its own size: `Spectrum.on_grid` (the wide grid solved once) as single calls give it
    batch = jax.tree.map(lambda *a: jnp.stack(a), laws[0], laws[1])
    spectrum = jax.jit(jax.vmap(lambda law, n: fdj.Spectrum.on_grid(law, fdj.Free(), n, 256)))(batch, jnp.asarray([800.0, 1600.0]))
    for k, (law, n) in enumerate([(laws[0], 800), (laws[1], 1600)]):
        single = fdj.Spectrum.on_grid(law, fdj.Free(), n, 256)
        np.testing.assert_allclose(single.x, law.grid(fdj.Free(), n, 256), rtol=1e-15)
        np.testing.assert_allclose(spectrum.x[k], single.x, rtol=1e-12)
        np.testing.assert_allclose(spectrum.density[k], single.density, rtol=1e-10, atol=1e-12)
