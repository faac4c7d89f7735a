"""Throughput of batched fit + decompress: B spectra of m eigenvalues, one jit-compiled vmap.

For each batch size B (and for one target size and for eight target sizes) a fresh
subprocess builds B spectra, compiles `jax.jit(jax.vmap(fit))` and
`jax.jit(jax.vmap(decompress))` on a 512-point grid, and reports:

- trace+lower and compile times (separately, via `.lower().compile()`),
- the median run time of fit and of decompress over repeats (`block_until_ready`),
- spectra per second end to end (fit + decompress, after compilation),
- peak host RSS of the subprocess and, on GPU/TPU, the device's peak bytes in use,
- the grid points that failed (`decompress(..., throw=False)`: a batch reports failures
  per point in `Spectrum.result` instead of raising for all B spectra).

The spectra are the exact quantiles (k - 1/2)/m of Marchenko–Pastur laws with random ratio
lam in [0.05, 0.5] and scale sigma^2 in [0.5, 2] (cheap to make in any number; the fit does
the same work on them as on sampled spectra of the same size).

    python benchmarks/batch_throughput.py                      # B up to the backend's cap
    python benchmarks/batch_throughput.py --max-batch 4096     # force the full sweep on CPU
    python benchmarks/batch_throughput.py --batches 1,16 --json out.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import _common as C
import numpy as np

DEFAULT_BATCHES = "1,16,256,1024,4096"
CPU_CAP = 256
EIGHT_SIZES = tuple(2000 * k for k in range(1, 9))


def child(batch: int, sizes: tuple[int, ...], m: int, grid: int, deg: tuple[int, int], repeats: int, seed: int) -> dict[str, Any]:
    """One configuration, in this (fresh) process; returns the measurements."""
    C.enable_x64()
    import jax
    import jax.numpy as jnp

    fdj, why = C.load_fdj()
    row: dict[str, Any] = {"B": batch, "S": len(sizes), "m": m, "grid": grid, "deg": deg}
    if fdj is None:
        return row | {"note": why}

    eigs = jnp.asarray(C.mp_law_spectra(batch, m, seed))
    x = jnp.linspace(0.0, 30.0, grid)  # covers every MP support here up to n/m = 16
    n = sizes[0] if len(sizes) == 1 else jnp.asarray(sizes)
    fit_b = jax.jit(jax.vmap(lambda e: fdj.fit(e, deg=deg, n0=m)))
    # a batch reports failures per point (Spectrum.result) rather than raising for all B spectra
    dec_b = jax.jit(jax.vmap(lambda c: fdj.decompress(c, x, n, throw=False)))

    def compile_timed(fn, arg):
        t0 = time.perf_counter()
        lowered = fn.lower(arg)
        t1 = time.perf_counter()
        compiled = lowered.compile()
        t2 = time.perf_counter()
        return compiled, t1 - t0, t2 - t1

    fit_c, row["fit_trace_s"], row["fit_compile_s"] = compile_timed(fit_b, eigs)
    curves, _ = C.timed(lambda: fit_c(eigs))
    dec_c, row["dec_trace_s"], row["dec_compile_s"] = compile_timed(dec_b, curves)
    spec, _ = C.timed(lambda: dec_c(curves))
    from freedecomp_jax._results import failed as failed_mask

    failed = np.asarray(failed_mask(spec.result))
    row["failed_points"] = int(failed.sum())
    row["failed_spectra"] = int(failed.reshape(batch, -1).any(axis=1).sum())

    fit_times = [C.timed(lambda: fit_c(eigs))[1] for _ in range(repeats)]
    dec_times = [C.timed(lambda: dec_c(curves))[1] for _ in range(repeats)]
    row["fit_s"] = float(np.median(fit_times))
    row["dec_s"] = float(np.median(dec_times))
    row["total_s"] = row["fit_s"] + row["dec_s"]
    row["spectra_per_s"] = batch / row["total_s"]
    row["peak_rss_mib"] = C.peak_rss_mib()
    stats = C.device_memory_stats()
    if stats is not None and "peak_bytes_in_use" in stats:
        row["device_peak_mib"] = stats["peak_bytes_in_use"] / 2**20
    return row


COLUMNS = [
    ("B", "B", "d"),
    ("S", "sizes", "d"),
    ("fit_compile_s", "fit comp[s]", ".2f"),
    ("dec_compile_s", "dec comp[s]", ".2f"),
    ("fit_s", "fit[s]", ".4f"),
    ("dec_s", "dec[s]", ".4f"),
    ("spectra_per_s", "spectra/s", ".1f"),
    ("peak_rss_mib", "RSS[MiB]", ".0f"),
    ("failed_points", "failed pts", "d"),
    ("failed_spectra", "failed spectra", "d"),
    ("device_peak_mib", "dev peak[MiB]", ".0f"),
    ("note", "note", ""),
]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batches", default=DEFAULT_BATCHES, help="comma list of batch sizes B")
    p.add_argument("--max-batch", type=int, default=None,
                   help=f"skip B above this (default: {CPU_CAP} on a CPU backend, no cap otherwise)")
    p.add_argument("--m", type=int, default=1000, help="eigenvalues per spectrum")
    p.add_argument("--grid", type=int, default=512)
    p.add_argument("--n", type=int, default=8000, help="the single target size")
    p.add_argument("--deg", default="1,2", help="fixed degrees deg_z,deg_m (vmap needs static degrees)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=int, default=1800, help="seconds per configuration")
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)  # "B;size,size,..." internal
    args = p.parse_args(argv)
    deg = tuple(int(v) for v in args.deg.split(","))

    if args.child is not None:
        b, s = args.child.split(";")
        sizes = tuple(int(v) for v in s.split(","))
        try:
            row = child(int(b), sizes, args.m, args.grid, deg, args.repeats, args.seed)
        except Exception as e:  # noqa: BLE001 - reported as a row
            row = {"B": int(b), "S": len(sizes), "note": f"failed: {type(e).__name__}: {e}"}
        print("RESULT " + json.dumps(row))
        return 0

    C.enable_x64()
    info = C.machine_info()
    print(C.describe_machine(info))
    cap = args.max_batch if args.max_batch is not None else (CPU_CAP if info.get("jax_backend") == "cpu" else None)
    batches = [int(v) for v in args.batches.split(",")]
    print(f"# m={args.m}, grid {args.grid}, deg {deg}; one size n={args.n}, eight sizes {EIGHT_SIZES}; "
          f"each row a fresh process; B cap {cap}")
    rows = []
    for sizes in ((args.n,), EIGHT_SIZES):
        for b in batches:
            if cap is not None and b > cap:
                rows.append({"B": b, "S": len(sizes), "note": f"skipped (B > cap {cap}; --max-batch)"})
                continue
            cmd = [sys.executable, str(Path(__file__).resolve()), "--child", f"{b};{','.join(map(str, sizes))}",
                   "--m", str(args.m), "--grid", str(args.grid), "--deg", args.deg,
                   "--repeats", str(args.repeats), "--seed", str(args.seed)]
            try:
                out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
                lines = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
                row = json.loads(lines[-1][7:]) if lines else {
                    "B": b, "S": len(sizes), "note": f"child exited {out.returncode}: {out.stderr.strip()[-300:]}"}
            except subprocess.TimeoutExpired:
                row = {"B": b, "S": len(sizes), "note": f"timed out after {args.timeout} s"}
            rows.append(row)
            print(C.format_table([row], COLUMNS).splitlines()[-1], flush=True)
    print()
    print(C.format_table(rows, COLUMNS))
    print("# comp: XLA compile time of the vmapped function (tracing excluded, in the JSON);")
    print("# fit/dec: median run time of the whole batch; spectra/s = B / (fit + dec);")
    print("# RSS: peak resident memory of the row's process; dev peak: device peak_bytes_in_use;")
    print("# failed pts / spectra: grid points whose result is a failure (decompress(..., throw=False)), and the spectra holding them.")
    if args.json is not None:
        C.write_json(args.json, {"machine": info, "args": vars(args), "rows": rows})
        print(f"# wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
