"""Time one fixed-degree fit of a 1000-eigenvalue spectrum (compile time reported separately).

    python benchmarks/bench_fit.py [--m 1000] [--repeats 10] [--deg 1 4]

Prints one JSON object: compile (first call) and run times (median of repeats, after
compilation) of `freedecomp_jax.fit` on the spectrum of a random principal submatrix of a
free-Lévy matrix, for the closed form alone (`FitConfig(steps=0, polish=0)`) and for the
default fit (closed form + optax L-BFGS + Newton polish).
"""

import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

import freedecomp_jax as fdj  # noqa: E402


def _spectrum(m: int, seed: int = 0) -> np.ndarray:
    law = fdj.distributions.FreeLevy([2.0, 5.5], [0.75, 0.25], 0.1, 0.0, 0.4)
    n = 2 * m
    a = np.asarray(law.sample_matrix(jax.random.PRNGKey(seed), n))
    idx = np.random.default_rng(seed).choice(n, m, replace=False)
    return np.linalg.eigvalsh(a[np.ix_(idx, idx)])


def _time(fn, repeats: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    jax.block_until_ready(fn())
    first = time.perf_counter() - t0
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        runs.append(time.perf_counter() - t0)
    return first, float(np.median(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--m", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--deg", type=int, nargs=2, default=(1, 4))
    args = parser.parse_args()
    eigs = jnp.asarray(_spectrum(args.m))
    deg = tuple(args.deg)
    out = {"m": args.m, "deg": list(deg), "backend": jax.default_backend(), "repeats": args.repeats}
    for name, config in (("closed_form", fdj.FitConfig(steps=0, polish=0)), ("default", fdj.FitConfig())):
        fn = jax.jit(lambda e, config=config: fdj.fit(e, deg, config=config).coeffs)
        first, median = _time(lambda fn=fn: fn(eigs), args.repeats)
        out[name] = {"compile_plus_first_run_s": round(first, 3), "run_median_s": round(median, 4)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
