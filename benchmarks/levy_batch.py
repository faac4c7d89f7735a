"""A batch of spectra spanning decades through the free Lévy–Khintchine law, as one compiled program.

`jax.jit(jax.vmap(...))` of the recipe of docs/concepts.md: `fit_levy(e, m, signed=False)`, then the law at n
on its own grid (`Spectrum.on_grid`: `law.grid`'s two passes of static size, `_levy_grid.py`, each point solved once). For each batch
size B: compile time (lower + compile), median run time over repeats, spectra per second, the lanes whose
prediction misses predict's check (mass or moments at n off by more than 1e-2), and the largest density
difference of the first three lanes from the same recipe called lane by lane outside `jit`, relative to the
lane's largest density (a spectrum spanning decades has densities of 1e6 near its small eigenvalues).

The spectra are sample covariance matrices of a power-law population, the shape of kernel and feature
Gram spectra: m x m, X^T diag(d) X / q with d_i = i^-alpha (alpha uniform in [1, 2], one per lane), X
Gaussian of q = 2m rows, so that each spectrum spans three to six decades.

    python benchmarks/levy_batch.py --batches 1,16,64

`--fits` times the fit alone, `jax.jit(jax.vmap(fit_levy(e, m, signed=s)))` for both signs (the traced
`predict` fits both: `_traced_choice.py`), on the same spectra shifted to be indefinite for `signed=True`
(minus a quarter of their median): compile, median run and fits per second.

    python benchmarks/levy_batch.py --fits --batches 1,16,64
"""

from __future__ import annotations

import argparse
import sys
import time

import _common as C
import numpy as np


def spectra(batch: int, m: int, seed: int) -> np.ndarray:
    """(batch, m) eigenvalues of power-law sample covariance matrices (module docstring)."""
    rng = np.random.default_rng(seed)
    out = np.empty((batch, m))
    for b in range(batch):
        d = np.arange(1, 2 * m + 1) ** -rng.uniform(1.0, 2.0)
        x = rng.standard_normal((2 * m, m)) * np.sqrt(d)[:, None]
        out[b] = np.linalg.eigvalsh(x.T @ x / (2 * m))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batches", default="1,16,64")
    p.add_argument("--m", type=int, default=500)
    p.add_argument("--n", type=int, default=4000)
    p.add_argument("--grid", type=int, default=512)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--fits", action="store_true", help="time fit_levy alone, both signs")
    args = p.parse_args(argv)
    C.enable_x64()
    import jax
    import jax.numpy as jnp

    import freedecomp_jax as fdj

    print(C.describe_machine(C.machine_info()))
    print(f"# m={args.m}, n={args.n}, grid {args.grid} (the law's grid: {5 * args.grid} points)")

    if args.fits:
        return fits(args)

    def levy(e):
        law = fdj.fit_levy(e, args.m, signed=False)
        spec = fdj.Spectrum.on_grid(law, fdj.Free(), args.n, args.grid)
        return spec.density, spec.mass(), jnp.max(jnp.abs(spec.moment_errors()))

    fn = jax.jit(jax.vmap(levy))
    print("| B | compile [s] | run [s] | spectra/s | failed checks | max density diff to single calls (of the max) |")
    print("|---|---|---|---|---|---|")
    for b in (int(v) for v in args.batches.split(",")):
        eigs = jnp.asarray(spectra(b, args.m, 0))
        compile_s, run, (density, mass, moments) = timed(fn, eigs, args.repeats)
        bad = int(np.sum((np.abs(np.asarray(mass) - 1) > 1e-2) | ~(np.asarray(moments) <= 1e-2)))
        diff = 0.0
        for k in range(min(b, 3)):
            law = fdj.fit_levy(np.asarray(eigs[k]))
            single = fdj.Spectrum.on_grid(law, fdj.Free(), args.n, args.grid)
            want = np.asarray(single.density)
            diff = max(diff, float(np.max(np.abs(np.asarray(density[k]) - want)) / np.max(want)))
        print(f"| {b} | {compile_s:.1f} | {run:.3f} | {b / run:.1f} | {bad} | {diff:.1e} |", flush=True)
    return 0


def timed(fn, x, repeats: int):
    """`(compile seconds, median run seconds, output)` of the jitted `fn` on `x`."""
    import jax

    t0 = time.perf_counter()
    compiled = fn.lower(x).compile()
    compile_s = time.perf_counter() - t0
    out = jax.block_until_ready(compiled(x))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(compiled(x))
        times.append(time.perf_counter() - t0)
    return compile_s, float(np.median(times)), out


def fits(args) -> int:
    """`--fits`: `fit_levy` alone under `jit(vmap)`, unsigned and signed (module docstring)."""
    import jax
    import jax.numpy as jnp

    import freedecomp_jax as fdj

    print("| B | signed | compile [s] | run [s] | fits/s |")
    print("|---|---|---|---|---|")
    for b in (int(v) for v in args.batches.split(",")):
        eigs = spectra(b, args.m, 0)
        for signed in (False, True):
            e = jnp.asarray(eigs - 0.25 * np.median(eigs, axis=1, keepdims=True) if signed else eigs)
            fn = jax.jit(jax.vmap(lambda x, signed=signed: fdj.fit_levy(x, args.m, signed=signed)))
            compile_s, run, _ = timed(fn, e, args.repeats)
            print(f"| {b} | {signed} | {compile_s:.1f} | {run:.3f} | {b / run:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
