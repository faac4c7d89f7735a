"""Where the default test suite's time goes: tracing, lowering and XLA compilation, per test file and per program.

Runs the given test files (default: every `tests/test_*.py`) with `JAX_LOG_COMPILES=1` in
`--groups` pytest processes side by side (one file never split; no xdist, pytest's log capture off so
JAX's records reach stderr), each with its own persistent compilation cache (the suite's conftest), then
reads the logs: JAX reports each program's tracing, its conversion to MLIR and its XLA compilation with
their durations. A program compiled once per process is counted once per process (the CI's two xdist
workers share a cache, so their sum is a little lower). Prints the totals, the files and the programs
that cost most, and the tests' wall time, with the machine.

    python benchmarks/suite_compiles.py                                 # the whole default suite, ~17 min on 2 cores
    python benchmarks/suite_compiles.py tests/test_fit.py --groups 1 --json out.json
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import _common as C

ROOT = Path(__file__).resolve().parent.parent
_RECORD = re.compile(
    r"Finished (tracing|jaxpr to MLIR module conversion|XLA compilation of) (?:(\S+) for jit|jit\((\S*?)\)) in ([0-9.e+-]+) sec"
)
_STAGE = {"tracing": "trace", "jaxpr to MLIR module conversion": "lower", "XLA compilation of": "compile"}
_TEST = re.compile(r"^(tests/\S+?::\S+)")
_SUMMARY = re.compile(r"(\d+) passed.* in ([0-9.]+)s")


def run_groups(files: list[str], groups: int, out: Path) -> tuple[list[Path], float]:
    """Run the files in `groups` pytest processes at once (files dealt round-robin, largest first); the logs and the wall time."""
    ordered = sorted(files, key=lambda f: -(ROOT / f).stat().st_size)
    parts = [ordered[k::groups] for k in range(groups)]
    env = dict(os.environ, JAX_LOG_COMPILES="1")
    procs, logs = [], []
    t0 = time.perf_counter()
    for k, part in enumerate(p for p in parts if p):
        log = out / f"group{k}.log"
        logs.append(log)
        cmd = [sys.executable, "-m", "pytest", "-p", "no:logging", "-p", "no:cacheprovider", "-s", "-v", *part]
        procs.append(subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT))
    for p in procs:
        p.wait()
    return logs, time.perf_counter() - t0


def census(logs: list[Path]) -> dict:
    """Seconds of tracing / lowering / compilation per test file and per program name (and the XLA compilations' count)."""
    by_file: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    by_program: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    tests, seconds = 0, 0.0
    for log in logs:
        current = "(collection)"
        for line in log.read_text(errors="replace").splitlines():
            m = _TEST.match(line)
            if m:
                current = m.group(1).split("::")[0]
            for r in _RECORD.finditer(line):
                stage, name = _STAGE[r.group(1)], r.group(2) or r.group(3)
                seconds_spent = float(r.group(4))
                by_file[current].update({stage: seconds_spent})
                by_program[name].update({stage: seconds_spent})
                if stage == "compile":
                    by_program[name]["programs"] += 1
            s = _SUMMARY.search(line)
            if s and line.startswith("="):
                tests += int(s.group(1))
                seconds += float(s.group(2))
    return {"tests": tests, "test_seconds": seconds, "by_file": by_file, "by_program": by_program}


def report(result: dict, wall: float, top: int) -> str:
    stages = ("trace", "lower", "compile")
    total = collections.Counter()
    for c in result["by_file"].values():
        total.update({k: c[k] for k in stages})
    jax_s = sum(total.values())
    lines = [
        f"{result['tests']} tests passed; the processes' own wall times add up to {result['test_seconds']:.0f} s "
        f"(all groups {wall:.0f} s of wall time); tracing {total['trace']:.0f} s, lowering {total['lower']:.0f} s, "
        f"XLA compilation {total['compile']:.0f} s: {jax_s:.0f} s, {100 * jax_s / max(result['test_seconds'], 1e-9):.0f} % of the tests' time",
        "",
        "| test file | trace [s] | lower [s] | compile [s] |",
        "|---|---|---|---|",
    ]
    files = sorted(result["by_file"].items(), key=lambda kv: -sum(kv[1][k] for k in stages))
    lines += [f"| {f} | {c['trace']:.0f} | {c['lower']:.0f} | {c['compile']:.0f} |" for f, c in files[:top]]
    lines += ["", "| program | XLA compilations | trace [s] | compile [s] |", "|---|---|---|---|"]
    progs = sorted(result["by_program"].items(), key=lambda kv: -(kv[1]["trace"] + kv[1]["compile"]))
    lines += [f"| `{p}` | {c['programs']:.0f} | {c['trace']:.1f} | {c['compile']:.1f} |" for p, c in progs[:top]]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("files", nargs="*", help="test files (default: every tests/test_*.py)")
    ap.add_argument("--groups", type=int, default=2, help="pytest processes side by side (the CI: 2 cores, 2 workers)")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--logs", default=str(ROOT / "benchmarks" / "out" / "suite_compiles"), help="where the pytest logs go")
    ap.add_argument("--json", help="write the machine, the census and the wall time here")
    args = ap.parse_args()
    files = [str(Path(f).resolve().relative_to(ROOT)) for f in args.files] or sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_*.py"))
    out = Path(args.logs)
    out.mkdir(parents=True, exist_ok=True)
    info = C.machine_info()
    print(C.describe_machine(info), flush=True)
    logs, wall = run_groups(files, args.groups, out)
    result = census(logs)
    print(report(result, wall, args.top))
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "wall_s": wall, **result}, indent=1, default=dict))


if __name__ == "__main__":
    main()
