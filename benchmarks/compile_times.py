"""First-call (tracing + compilation + run) time of each public entry point, in fresh processes.

Each entry point is measured in its own new Python process, three ways:

- `no cache`:   JAX's persistent compilation cache disabled;
- `cache cold`: the persistent cache on, in a new empty directory (compiles and writes it);
- `cache warm`: a second process on the directory the cold run filled (reads it back).

In every process the prerequisites of the entry point run first, untimed (e.g. `fit` before
`decompress`); then the entry point is called twice: `first` is the first call (what a user
waits for), `second` the same call again (run time only). `import` is the time of
`import freedecomp_jax`. The `pipeline` row times fit + decompress + eigvalsh together, as
one first call, after only the import; `predict` times the checked one-liner
`fdj.predict(eigs, n).eigvalsh()` (= `fdj.eigvalsh(eigs, n)`, degree choice included); `fit.jit`
is `fit` inside `jax.jit` (with `deg=None` the degree choice runs as one compiled program,
`_fit_choice.py`); `predict.jit` is `fdj.eigvalsh(eigs, n)` inside `jax.jit` (with `deg=None` every
refined candidate is solved and checked at n in the one program, `_pipeline.py`).

    python benchmarks/compile_times.py
    python benchmarks/compile_times.py --deg 1,2 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common as C

ENTRY_POINTS = ("fit", "fit.jit", "decompress", "curve.stieltjes", "curve.density", "spec.eigvalsh", "pipeline", "predict", "predict.jit")
MODES = ("no cache", "cache cold", "cache warm")


def child(entry: str, cache_dir: str | None, m: int, n: int, grid: int, deg) -> dict[str, Any]:
    t0 = time.perf_counter()
    import jax

    jax.config.update("jax_enable_x64", True)
    if cache_dir is None:
        jax.config.update("jax_enable_compilation_cache", False)
    else:
        jax.config.update("jax_enable_compilation_cache", True)
        jax.config.update("jax_compilation_cache_dir", cache_dir)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    import jax.numpy as jnp

    t1 = time.perf_counter()
    fdj, why = C.load_fdj()
    t2 = time.perf_counter()
    row: dict[str, Any] = {"entry": entry, "import_jax_s": t1 - t0, "import_s": t2 - t1}
    if fdj is None:
        return row | {"note": why}

    small = C.mp_law_spectra(1, m, seed=0)[0]
    eigs = jnp.asarray(small)
    x = jnp.asarray(C.prediction_grid(small, n, grid))
    z = x + 1e-2j

    def fit():
        return fdj.fit(eigs, deg=deg, n0=m)

    def pipeline():
        curve = fit()
        spec = fdj.decompress(curve, x, n)
        return spec.eigvalsh()

    if entry == "pipeline":
        call = pipeline
    elif entry == "predict":  # the checked one-liner fdj.eigvalsh (degree choice included when deg=None)
        call = lambda: fdj.predict(eigs, n, n0=m, deg=deg, grid_size=grid).eigvalsh()  # noqa: E731
    elif entry == "predict.jit":  # the same one-liner inside jax.jit (deg=None: candidates checked side by side)
        jitted_predict = jax.jit(lambda e: fdj.eigvalsh(e, n, n0=m, deg=deg, grid_size=grid))
        call = lambda: jitted_predict(eigs)  # noqa: E731
    elif entry == "fit":
        call = fit
    elif entry == "fit.jit":  # the same fit inside jax.jit (deg=None: the choice as one compiled program)
        jitted = jax.jit(lambda e: fdj.fit(e, deg=deg, n0=m).coeffs)
        call = lambda: jitted(eigs)  # noqa: E731
    else:
        curve = C.block(fit())
        if entry == "curve.stieltjes":
            call = lambda: curve.stieltjes(z)  # noqa: E731
        elif entry == "curve.density":
            call = lambda: curve.density(x)  # noqa: E731
        elif entry == "decompress":
            call = lambda: fdj.decompress(curve, x, n)  # noqa: E731
        else:
            call = C.block(fdj.decompress(curve, x, n)).eigvalsh
    _, row["first_s"] = C.timed(call)
    _, row["second_s"] = C.timed(call)
    return row


COLUMNS = [
    ("entry", "entry point", ""),
    ("mode", "mode", ""),
    ("import_s", "import[s]", ".2f"),
    ("first_s", "first[s]", ".3f"),
    ("second_s", "second[s]", ".4f"),
    ("note", "note", ""),
]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--entries", default=",".join(ENTRY_POINTS), help=f"comma list from {ENTRY_POINTS}")
    p.add_argument("--m", type=int, default=1000)
    p.add_argument("--n", type=int, default=8000)
    p.add_argument("--grid", type=int, default=512)
    p.add_argument("--deg", default="auto", help="'auto' (deg=None, the default) or deg_z,deg_m")
    p.add_argument("--timeout", type=int, default=900, help="seconds per process")
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)  # "entry;cache_dir|-" internal
    args = p.parse_args(argv)
    deg = None if args.deg == "auto" else tuple(int(v) for v in args.deg.split(","))

    if args.child is not None:
        entry, cache = args.child.split(";", 1)
        try:
            row = child(entry, None if cache == "-" else cache, args.m, args.n, args.grid, deg)
        except Exception as e:  # noqa: BLE001 - reported as a row
            row = {"entry": entry, "note": f"failed: {type(e).__name__}: {e}"}
        print("RESULT " + json.dumps(row))
        return 0

    C.enable_x64()
    info = C.machine_info()
    print(C.describe_machine(info))
    print(f"# m={args.m} -> n={args.n}, grid {args.grid}, deg {args.deg}; every row is a new process")
    entries = [e.strip() for e in args.entries.split(",") if e.strip()]
    rows = []
    with tempfile.TemporaryDirectory(prefix="fdj-jax-cache-") as root:
        for entry in entries:
            cache_dir = os.path.join(root, entry.replace(".", "_"))
            for mode in MODES:
                cache = "-" if mode == "no cache" else cache_dir
                cmd = [sys.executable, str(Path(__file__).resolve()), "--child", f"{entry};{cache}",
                       "--m", str(args.m), "--n", str(args.n), "--grid", str(args.grid), "--deg", args.deg]
                try:
                    out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
                    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
                    row = json.loads(lines[-1][7:]) if lines else {
                        "entry": entry, "note": f"process exited {out.returncode}: {out.stderr.strip()[-300:]}"}
                except subprocess.TimeoutExpired:
                    row = {"entry": entry, "note": f"timed out after {args.timeout} s"}
                row["mode"] = mode
                if mode != "no cache":
                    row["cache_files"] = sum(len(f) for _, _, f in os.walk(cache_dir))
                rows.append(row)
                print(C.format_table([row], COLUMNS).splitlines()[-1], flush=True)
    print()
    print(C.format_table(rows, COLUMNS))
    print("# first: first call in a new process (trace + compile + run); second: the same call again.")
    if args.json is not None:
        C.write_json(args.json, {"machine": info, "args": vars(args), "rows": rows})
        print(f"# wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
