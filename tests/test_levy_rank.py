"""`fit_levy(..., rank=q)`: the Lévy–Khintchine law of a Gram matrix of q features (`_levy_fit.py`),
checked against the dense spectrum of the full matrix and the closed-form atom 1 - q/n."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import freedecomp_jax as fdj
from freedecomp_jax._metrics import best_baseline_ks, ks_distance

N, Q, M = 1200, 600, 150  # full size, features, observed size: the atom 1 - Q/N is born between M and N


def _gram(seed: int, decay: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(full Gram X X^T / Q, its eigenvalues, a random M x M principal submatrix); rows of X i.i.d.
    N(0, diag(i^-decay)), so the population spectrum decays as a power law (flat for decay 0)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, Q)) * np.arange(1, Q + 1) ** (-decay / 2)
    a = x @ x.T / Q
    idx = rng.permutation(N)[:M]
    return a, np.linalg.eigvalsh(a), a[np.ix_(idx, idx)]


def _snap(e, full):
    return np.where(np.abs(e) <= N * np.finfo(float).eps * np.max(np.abs(full)), 0.0, np.asarray(e, dtype=float))


def _ks_at_n(law, full):
    spec = fdj.decompress(law, jnp.asarray(law.grid(fdj.Free(), N, 1024)), N)
    return ks_distance(_snap(np.asarray(spec.eigvalsh(N)), full), _snap(full, full))


SEEDS = [0, pytest.param(1, marks=pytest.mark.slow)]  # the second seed checks the choice is no accident of the draw


@pytest.mark.parametrize("seed", SEEDS)
def test_imposed_rate_predicts_the_marchenko_pastur_atom(seed):
    """Flat population (Marchenko-Pastur): total rate Q/M imposed, so the atom at N is 1 - Q/N; the
    prediction beats the best baseline three times over against the dense spectrum."""
    _, full, sub = _gram(seed, 0.0)
    small = np.linalg.eigvalsh(sub)
    law = fdj.fit_levy(small, M, rank=Q, unseen=fdj.ImposedRate())
    np.testing.assert_allclose(float(jnp.sum(law.rates)), Q / M, rtol=5e-3)  # a heavily weighted row, as the mean
    at_n = law.evolve(np.log(N / M))
    np.testing.assert_allclose(float(at_n.atoms()[1][0]), 1 - Q / N, atol=2e-3)
    ks = _ks_at_n(law, full)
    assert ks <= best_baseline_ks(_snap(small, full), M, N, _snap(full, full)) / 3


@pytest.mark.parametrize("seed", SEEDS)
def test_power_law_tail_continues_the_population(seed):
    """Population decaying as i^-1.5: the unseen eigenvalues (index M..Q) continue the observed index
    curve; the prediction's atom is near 1 - Q/N and it beats the best baseline three times over."""
    _, full, sub = _gram(seed, 1.5)
    small = np.linalg.eigvalsh(sub)
    law = fdj.fit_levy(small, M, rank=Q)
    assert abs(float(law.evolve(np.log(N / M)).atoms()[1][0]) - (1 - Q / N)) <= 0.05
    ks = _ks_at_n(law, full)
    assert ks <= best_baseline_ks(_snap(small, full), M, N, _snap(full, full)) / 3


def test_matrix_input_keeps_its_diagonal():
    _, full, sub = _gram(0, 1.5)
    law = fdj.fit_levy(sub, rank=Q)
    np.testing.assert_array_equal(np.asarray(law.scales), np.diagonal(sub))
    assert _ks_at_n(law, full) <= best_baseline_ks(_snap(np.linalg.eigvalsh(sub), full), M, N, _snap(full, full)) / 3


@pytest.mark.parametrize("unseen", [fdj.PowerLawTail(), pytest.param(fdj.ImposedRate(), marks=pytest.mark.slow)])
def test_jit_vmap_grad(unseen):
    batch = np.stack([np.linalg.eigvalsh(_gram(s, 1.5)[2]) for s in range(3)])
    eager = [fdj.fit_levy(e, M, rank=Q, unseen=unseen) for e in batch]
    batched = jax.jit(jax.vmap(lambda e: fdj.fit_levy(e, M, signed=False, rank=Q, unseen=unseen)))(batch)
    for k in range(3):
        np.testing.assert_allclose(batched.rates[k], eager[k].rates, rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(batched.jumps[k], eager[k].jumps, rtol=1e-12)

    def scalar(e):  # a smooth functional of the predicted law: its second and third moments at N
        law = fdj.fit_levy(e, M, signed=False, rank=Q, unseen=unseen).evolve(np.log(N / M))
        return jnp.sum(law.moments(3)[2:])

    g = jax.grad(scalar)(jnp.asarray(batch[0]))
    v = batch[0] * np.random.default_rng(0).standard_normal(M)  # relative: the spectrum spans decades
    h = 1e-6
    fd = (scalar(batch[0] + h * v) - scalar(batch[0] - h * v)) / (2 * h)
    np.testing.assert_allclose(float(g @ v), float(fd), rtol=1e-3)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: fdj.fit_levy(np.linspace(-1.0, 2.0, 40), rank=80), "rank = .*positive semi-definite"),
        (lambda: fdj.fit_levy(np.linspace(0.1, 2.0, 40), rank=0), "rank = 0.*>= 1"),
        (lambda: fdj.fit_levy(np.linspace(0.1, 2.0, 40), rank=80, unseen="tail"), "unseen"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
