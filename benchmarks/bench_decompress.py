"""Time one `decompress` on a 512-point grid: compilation separately from running.

For each exact law (its curve at n0 = 1000, decompressed to n = 8000) the jitted solve is
lowered and compiled (`.lower().compile()`, timed apart), then run `--repeats` times
(`block_until_ready`, median reported). The L1 distance of the predicted density to the
law's closed-form decompression is printed next to the timings as a sanity check.

    python benchmarks/bench_decompress.py
    python benchmarks/bench_decompress.py --grid 2048 --sizes 8 --json out.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import _common as C


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--grid", type=int, default=512, help="grid points P")
    ap.add_argument("--sizes", type=int, default=1, help="number of target sizes S (one solve; log-spaced up to 8 n0)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", type=str, default=None)
    args = ap.parse_args()
    C.enable_x64()

    import jax
    import numpy as np

    import freedecomp_jax as fdj
    from freedecomp_jax import distributions as D

    n0, tau = 1000.0, 8.0
    laws = {
        "Wigner": (D.Wigner(2.0), fdj.Free()),
        "MP": (D.MarchenkoPastur(0.1), fdj.Free()),
        "FreeLevy": (D.FreeLevy([2.0, 5.5], [0.75, 0.25], 0.1, 0.0, 0.4).decompress(0.25), fdj.Free()),
        "CFP": (D.CompoundFreePoisson([2.0, 5.5], [0.75, 0.25], 0.1), fdj.Free()),
        "DMP": (D.DeformedMarchenkoPastur([1.0, 4.0], [0.5, 0.5], 0.1), fdj.Deformed(0.1)),
    }
    sizes = n0 * (np.geomspace(2.0, tau, args.sizes) if args.sizes > 1 else np.array(tau))
    info = C.machine_info()
    print(C.describe_machine(info))
    print(f"# decompress n0={n0:g} -> n={n0 * tau:g} (S={args.sizes} sizes), grid P={args.grid}")
    print(f"{'law':10s} {'lower s':>8s} {'compile s':>10s} {'run ms':>9s} {'L1 err':>9s}")
    rows = []
    for name, (law, kind) in laws.items():
        target = law.decompress(tau)
        sup = np.asarray(target.support())
        lo, hi = sup.min(), sup.max()
        x = np.linspace(lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo), args.grid)
        curve = law.curve(n0)
        fn = jax.jit(lambda c, x: fdj.decompress(c, x, sizes, kind).density)
        t0 = time.perf_counter()
        lowered = fn.lower(curve, x)
        t1 = time.perf_counter()
        compiled = lowered.compile()
        t2 = time.perf_counter()
        rho = C.block(compiled(curve, x))
        runs = [C.timed(lambda: compiled(curve, x))[1] for _ in range(args.repeats)]
        rho_last = np.asarray(rho)[-1] if args.sizes > 1 else np.asarray(rho)
        l1 = float(np.trapezoid(np.abs(rho_last - np.asarray(target.density(x))), x))
        row = dict(law=name, kind=type(kind).__name__, grid=args.grid, sizes=args.sizes, lower_s=t1 - t0, compile_s=t2 - t1,
                   run_s=statistics.median(runs), l1=l1)
        rows.append(row)
        print(f"{name:10s} {row['lower_s']:8.2f} {row['compile_s']:10.2f} {1e3 * row['run_s']:9.1f} {l1:9.1e}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
