"""Real matrices of kinds that set no default and are not test cases: `predict(x, n)`, defaults, m = n // 8.

Five matrices from data and models that ship with packages (sklearn's digits and its swiss-roll
generator; nothing downloaded), chosen for what the thirteen cases of `tests/realcases*.py` lack:

- `poly_gram`: the cubic polynomial kernel (x.y + 1)^3 of the digits (scaled to unit mean norm): full
  rank, eight decades;
- `linear_gram`: the Gram matrix of the standardised digits (61 non-constant pixels): rank 61, visible
  at m = 224 (an atom at 0 of 163 of the m eigenvalues);
- `rbf_swissroll`: a Gaussian kernel (bandwidth: the median squared distance) on 1600 points of a noisy
  swiss roll in three dimensions: a smooth kernel on low-dimensional data, whose spectrum decays
  exponentially into rounding (most of it below eps n ||A||);
- `tanh_ce_hessian`: the Hessian of the cross-entropy of a 64-24-10 tanh network trained 200 Adam steps
  on the digits (1810 parameters, indefinite);
- `softplus_act_gram`: the Gram matrix of 400 random softplus features of the digits: a mean outlier
  and a bulk decaying over eight decades into rounding.

A random principal submatrix of m = n // 8 rows (a seeded permutation) is the input, as the matrix and
as its eigenvalues. KS against the n eigenvalues of the full matrix after snapping
|lambda| <= eps n max|lambda| to 0 in every spectrum; "best baseline" is the smallest KS of the small
spectrum as is, rescaled about its mean by sqrt(n/m), and Nystrom; a win (issue 14) is KS <= 1/3 of it,
or <= it and <= 0.02. The time of each call includes compilation on the first call of the process.
"rank warned": whether `predict` warned that the data leave the matrix's rank open (`_report.rank_note`).
The inputs "matrix full rank" and "eigs full rank" pass `kind=fdj.Deformed(m / n)`: the Gram laws of
rank n, what the defaults would give if they took a positive spectrum of unknown rank to be of full rank.

    python benchmarks/more_kinds.py [--cases linear_gram,poly_gram] [--inputs matrix,eigs] [--seed 0]
"""

from __future__ import annotations

import argparse
import time

import _common as C
import numpy as np


def digits_pixels() -> np.ndarray:
    from sklearn.datasets import load_digits

    return load_digits().data.astype(np.float64)


def poly_gram(seed: int) -> np.ndarray:
    del seed  # deterministic
    x = digits_pixels()
    x = x / np.linalg.norm(x, axis=1).mean()
    return (x @ x.T + 1.0) ** 3


def linear_gram(seed: int) -> np.ndarray:
    del seed
    x = digits_pixels()
    x = x - x.mean(axis=0)
    s = x.std(axis=0)
    x = x[:, s > 0] / s[s > 0]
    return x @ x.T / x.shape[1]


def rbf_swissroll(seed: int) -> np.ndarray:
    from sklearn.datasets import make_swiss_roll

    x, _ = make_swiss_roll(1600, noise=0.3, random_state=seed)
    d2 = np.sum((x[:, None] - x[None]) ** 2, axis=-1)
    return np.exp(-d2 / np.median(d2))


def tanh_ce_hessian(seed: int) -> np.ndarray:
    import jax
    import jax.numpy as jnp
    import optax
    from jax.flatten_util import ravel_pytree
    from sklearn.datasets import load_digits

    data = load_digits()
    x = jnp.asarray(data.data / 16.0)
    t = jax.nn.one_hot(jnp.asarray(data.target), 10)
    k1, k2 = jax.random.split(jax.random.PRNGKey(seed + 3))
    params = {"W1": jax.random.normal(k1, (64, 24)) / 8.0, "b1": jnp.zeros(24), "W2": jax.random.normal(k2, (24, 10)) / np.sqrt(24), "b2": jnp.zeros(10)}

    def loss(p):
        logits = jnp.tanh(x @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
        return -jnp.mean(jnp.sum(t * jax.nn.log_softmax(logits), axis=-1))

    opt = optax.adam(1e-2)

    @jax.jit
    def train(p):
        def step(carry, _):
            p, s = carry
            u, s = opt.update(jax.grad(loss)(p), s, p)
            return (optax.apply_updates(p, u), s), None

        return jax.lax.scan(step, (p, opt.init(p)), None, length=200)[0][0]

    flat, unravel = ravel_pytree(train(params))
    return np.asarray(jax.jit(jax.hessian(lambda f: loss(unravel(f))))(flat))


def softplus_act_gram(seed: int) -> np.ndarray:
    x = digits_pixels() / 16.0
    w = np.random.default_rng(seed + 5).standard_normal((64, 400)) / 8.0
    f = np.logaddexp(0.0, x @ w - 0.5)
    return f @ f.T / 400


CASES = {f.__name__: f for f in (poly_gram, linear_gram, rbf_swissroll, tanh_ce_hessian, softplus_act_gram)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--inputs", default="matrix,eigs", help="from matrix, eigs, 'matrix full rank', 'eigs full rank'")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    C.enable_x64()
    import freedecomp_jax as fdj
    from freedecomp_jax._metrics import best_baseline_ks, ks_distance

    print("# " + C.describe_machine(C.machine_info()))
    print("| case | n | m | zeros at n / m | input | KS | best baseline | win | chosen | rank warned | time [s] |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in args.cases.split(","):
        a = np.asarray(CASES[name](args.seed), dtype=np.float64)
        a = 0.5 * (a + a.T)
        n = a.shape[0]
        m = n // 8
        truth = np.linalg.eigvalsh(a)
        tol = np.finfo(np.float64).eps * n * float(np.max(np.abs(truth)))
        snap = lambda v: np.where(np.abs(v) <= tol, 0.0, v)  # noqa: E731
        idx = np.random.default_rng(args.seed).permutation(n)[:m]
        sub = a[np.ix_(idx, idx)]
        small = np.linalg.eigvalsh(sub)
        base = best_baseline_ks(snap(small), m, n, snap(truth))
        zeros = f"{int(np.sum(snap(truth) == 0))} / {int(np.sum(snap(small) == 0))}"
        for inp in args.inputs.split(","):
            x = sub if inp.startswith("matrix") else small
            kind = fdj.Deformed(m / n) if inp.endswith("full rank") else fdj.Free()
            t0 = time.perf_counter()
            try:
                spec, report = fdj.predict(x, n, kind, return_report=True)
                ks = ks_distance(snap(np.asarray(spec.eigvalsh())), snap(truth))
                win = ks <= base / 3 or (ks <= base and ks <= 0.02)
                cells = [f"{ks:.4f}", f"{base:.4f}", "**yes**" if win else "no", str(report.chosen), "yes" if report.note else "no"]
            except ValueError as e:
                first = str(e).splitlines()[0]
                cells = ["ValueError", f"{base:.4f}", "no", first[:90], "-"]
            print(f"| {name} | {n} | {m} | {zeros} | {inp} | " + " | ".join(cells) + f" | {time.perf_counter() - t0:.1f} |", flush=True)


if __name__ == "__main__":
    main()
