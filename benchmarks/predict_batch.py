"""The checked pipeline over a batch: `jax.jit(jax.vmap(predict(e, n, deg, throw=False)))`, given or automatic degrees.

Unlike `batch_throughput.py` (fit + decompress on a fixed grid chosen by hand), every spectrum here
gets its own grid covering its predicted support and the check of `predict` (failed points, mass,
moments: one `RESULTS` item per spectrum in `spec.check`). For each batch size B, in this process:
compile time (lower + compile), median run time over repeats, spectra per second, the spectra whose
check failed, and the largest difference of the first three lanes from single concrete `predict`
calls (plain Python, same degrees; with `--deg auto` the automatic choice of both: every candidate curve
checked at n side by side in the compiled program, then the free Levy-Khintchine law gated by free
compressions, as the concrete call chooses).

The spectra are the exact quantiles (k - 1/2)/m of Marchenko–Pastur laws with random ratio in
[0.05, 0.5] and scale in [0.5, 2] (`_common.mp_law_spectra`). With `--matrices` the input is the
stack of matrices Q diag(spectrum) Q^T (Q Haar, one per lane), shape (B, m, m): each lane is
diagonalised inside the program (its time is in the run column).

    python benchmarks/predict_batch.py --batches 1,16,256
    python benchmarks/predict_batch.py --deg auto --batches 16
    python benchmarks/predict_batch.py --matrices --m 300 --n 2400 --batches 1,16,64
"""

from __future__ import annotations

import argparse
import sys
import time

import _common as C
import numpy as np


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batches", default="1,16,256")
    p.add_argument("--m", type=int, default=1000)
    p.add_argument("--n", type=int, default=8000)
    p.add_argument("--grid", type=int, default=512)
    p.add_argument("--deg", default="1,2", help="deg_z,deg_m or 'auto' (deg=None)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--matrices", action="store_true", help="pass the (B, m, m) matrices instead of their eigenvalues")
    args = p.parse_args(argv)
    C.enable_x64()
    import jax
    import jax.numpy as jnp

    import freedecomp_jax as fdj

    print(C.describe_machine(C.machine_info()))
    deg = None if args.deg == "auto" else tuple(int(v) for v in args.deg.split(","))
    print(f"# m={args.m}, n={args.n}, grid {args.grid}, deg {deg}, input: {'matrices (B, m, m)' if args.matrices else 'eigenvalues (B, m)'}")
    fn = jax.jit(jax.vmap(lambda e: fdj.predict(e, args.n, deg=deg, grid_size=args.grid, throw=False)))
    ok = int(fdj.RESULTS.successful._value)
    print("| B | compile [s] | run [s] | spectra/s | failed checks | max diff to single calls |")
    print("|---|---|---|---|---|---|")
    for b in (int(v) for v in args.batches.split(",")):
        eigs = C.mp_law_spectra(b, args.m, 0)
        if args.matrices:
            rng = np.random.default_rng(1)
            rotations = [np.linalg.qr(rng.standard_normal((args.m, args.m)))[0] for _ in range(b)]
            eigs = np.stack([(q * e) @ q.T for q, e in zip(rotations, eigs)])
        eigs = jnp.asarray(eigs)
        t0 = time.perf_counter()
        compiled = fn.lower(eigs).compile()
        compile_s = time.perf_counter() - t0
        spec = compiled(eigs)
        jax.block_until_ready(spec.density)
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            jax.block_until_ready(compiled(eigs).density)
            times.append(time.perf_counter() - t0)
        run = float(np.median(times))
        bad = int(np.sum(np.asarray(spec.check._value) != ok))
        diff = 0.0
        for k in range(min(b, 3)):
            single = fdj.predict(np.asarray(eigs[k]), args.n, deg=deg, grid_size=args.grid)
            diff = max(diff, float(np.max(np.abs(np.asarray(spec.density[k]) - np.asarray(single.density)))))
        print(f"| {b} | {compile_s:.1f} | {run:.3f} | {b / run:.1f} | {bad} | {diff:.1e} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
