"""How close the Lévy–Khintchine total-rate rule sits to its edge, and what a step of its ladder changes at n.

`fit_levy` (no known rank) fits the law unconstrained (total rate R*) and with the rate imposed at
R* 2^j, j = 1..6, and keeps the largest rate whose NNLS residual is within `rate_tolerance` (2) of the
unconstrained one (`_levy_fit._rate_ladder`). For each real case and seed (eigenvalue input, m = n // 8,
a seeded random principal submatrix, as `benchmarks/more_kinds.py`), this prints the residual ratios of
the ladder, the step the rule keeps, and the KS at n (after snapping |lambda| <= eps n max|lambda| to 0)
of the decompressed laws one step below, at and one step above it, beside the best baseline's. A ratio
near the tolerance is a choice that a change of seed can flip (the guide: a rule on a knife edge is not
a rule); the KS columns say what such a flip costs. The last columns are what `predict` reports when it
takes this law (`_report.rank_note`): the atom at 0 at n of the kept law and of the unconstrained one,
whether they differ by more than one eigenvalue in n (then `predict` warns), and the truth's atom.

    python benchmarks/rate_ladder.py [--cases softplus_act_gram,rbf_gram] [--seeds 0,1,2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import _common as C
import numpy as np

sys.path.insert(0, str(C.REPO_DIR / "tests"))  # the real cases of the test suite

DEFAULT_CASES = "random_feature_gram,rbf_gram,mlp_gauss_newton,activation_gram,softplus_act_gram"


def cases() -> dict:
    import more_kinds
    import realcases

    found = {name: (lambda seed, f=f: f(seed).matrix) for name, f in realcases.ALL_CASES.items()}
    found.update({name: (lambda seed, f=f: f(seed)) for name, f in more_kinds.CASES.items()})
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", default=DEFAULT_CASES)
    parser.add_argument("--seeds", default="0,1,2")
    args = parser.parse_args()
    C.enable_x64()
    import equinox as eqx
    import jax.numpy as jnp

    import freedecomp_jax as fdj
    from freedecomp_jax._levy_fit import _rate_ladder, _zero_snap, fit_levy_step
    from freedecomp_jax._metrics import best_baseline_ks, ks_distance
    from freedecomp_jax._report import _atom_at_zero, rank_note

    config = fdj.LevyConfig()
    ladder = eqx.filter_jit(lambda lam, signed: _rate_ladder(_zero_snap(lam, jnp.ones_like(lam)), jnp.ones_like(lam), signed, config))
    eps = np.finfo(np.float64).eps

    def snap(v, size):
        return np.where(np.abs(v) <= eps * size * np.max(np.abs(v)), 0.0, v)

    print("# " + C.describe_machine(C.machine_info()))
    print(f"# tolerance {config.rate_tolerance}, ladder R* 2^j, j = 0..{config.rate_steps}")
    print("| case | seed | residual ratios, j = 1.. | kept j | R* m / n | KS at j - 1 / j / j + 1 | best baseline | atom at n: kept / R* / truth | warned | time [s] |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    found = cases()
    for name in args.cases.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            t0 = time.perf_counter()
            a = np.asarray(found[name](seed), dtype=np.float64)
            a = 0.5 * (a + a.T)
            n = a.shape[0]
            m = n // 8
            truth = snap(np.linalg.eigvalsh(a), n)
            idx = np.random.default_rng(seed).permutation(n)[:m]
            small = np.linalg.eigvalsh(a[np.ix_(idx, idx)])
            signed = bool(np.any(small < -eps * m * np.max(np.abs(small))))
            jumps, drift, variance, rates, res = (np.asarray(v) for v in ladder(jnp.asarray(small), signed))
            ratios = res / res[0]
            kept = int(np.max(np.nonzero(ratios <= config.rate_tolerance)[0]))
            fitted = fit_levy_step(small, m)
            law = fitted.law  # the library's choice is the kept step
            np.testing.assert_allclose(np.asarray(law.rates), rates[kept], rtol=0, atol=1e-12 * np.max(rates[kept]))
            ks = []
            for j in (kept - 1, kept, kept + 1):
                if not 0 <= j < len(res):
                    ks.append("–")
                    continue
                step = fdj.LevyKhintchine(drift[j], variance[j], rates[j], jumps, m)
                spec = fdj.decompress(step, step.grid(fdj.Free(), n, 1024), n, throw=False)
                ks.append(f"{ks_distance(snap(np.asarray(spec.eigvalsh(n)), n), truth):.3f}")
            base = best_baseline_ks(snap(small, m), m, n, truth)
            atoms = f"{_atom_at_zero(law, n):.3f} / {_atom_at_zero(fitted.floor, n):.3f} / {np.mean(truth == 0.0):.3f}"
            print(
                f"| {name} | {seed} | {' '.join(f'{r:.2f}' for r in ratios[1:])} | {kept} | {np.sum(rates[0]) * m / n:.3f} | "
                f"{' / '.join(ks)} | {base:.3f} | {atoms} | {'yes' if rank_note(law, fitted.floor, n, m) else 'no'} | {time.perf_counter() - t0:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    Path(C.OUT_DIR).mkdir(exist_ok=True)
    main()
