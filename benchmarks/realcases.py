"""Free decompression of the real-matrix cases of `tests/realcases.py`: fit at n // 8, predict n.

For each case of `ALL_CASES` (MLP Hessian, Gauss–Newton matrix, RBF Gram, random-feature Gram,
then the kinds of `tests/realcases_more.py`) a random principal submatrix of size m = n // 8 is
taken (the first m entries of one seeded random permutation, as in
`realcases.nested_submatrix_spectra`), and the n eigenvalues of the full
matrix are predicted with library defaults, `fdj.eigvalsh(input, n)`, from

- `matrix`: the m x m submatrix itself (its nested submatrices validate the automatic
  degree choice),
- `eigs`: only its m eigenvalues,
- `deformed` (Gram matrices only, `case.gram_ratio` set): the submatrix with
  `kind=fdj.Deformed(case.gram_ratio * m / n)`, the aspect ratio at size m (the number of features
  q = n / gram_ratio given, as a user who knows it would);
- `deformed-eigs`: the same from the m eigenvalues only;
- `fullrank`, `fullrank-eigs`: the submatrix or its eigenvalues with `kind=fdj.Deformed(m / n)`, the
  Gram laws of rank n (no atom born by size n): what the defaults would give if they took a positive
  spectrum of unknown rank to be of full rank (measured against them, not adopted: benchmarks/RESULTS.md).

Printed per row: KS and W1/IQR of the prediction against the full spectrum, the KS of the
three baselines (the small spectrum as is; rescaled about its mean by sqrt(n/m); Nystrom: n/m
times it padded with n - m zeros), whether the prediction beats the best of them and whether it
is a **win** (issue 14: KS <= 1/3 of the best baseline's, or <= the best and <= 0.02), the time of the `fdj.eigvalsh` call (run
as `fdj.predict(..., return_report=True)` + `Spectrum.eigvalsh()`, which is what
`fdj.eigvalsh` does: fit with automatic degrees + decompress + check + quantiles; the first
call of a process includes compilation), the model `predict` chose (`Report.chosen`: a
`SpectralCurve(deg_z, deg_m)` or the `LevyKhintchine` fallback; its report of every candidate
is in the JSON), and the degrees `fdj.fit_with_diagnostics` chooses for the same input (its
reason is listed under the table). `fdj.eigvalsh` passes over a candidate whose prediction
fails its own check, so it may use other degrees or another law: `eigvalsh same deg` reruns
it with `deg=` those degrees and says whether the prediction is the same.

Eigenvalues with |lambda| <= `case.zero_tol` (eps n ||A||, the rounding level of an exact
zero) are set to 0 in every sample before the distances are taken, so an atom predicted at
exactly 0 and exact zeros computed as +-1e-16 count as the same point.

    python benchmarks/realcases.py                              # all cases, the first four inputs
    python benchmarks/realcases.py --cases rbf_gram --inputs matrix
    python benchmarks/realcases.py --repeats 1 --json out/realcases.json
    python benchmarks/realcases.py --baselines 0,1              # baselines only (cheap): see below

`--baselines SEEDS` predicts nothing: for every case and seed (m = n // 8, the same submatrix)
it prints n, m, the exact zeros of the full matrix and of the m x m spectrum, and the KS of the
three baselines of `freedecomp_jax._metrics` (as is; rescaled about the mean by sqrt(n/m);
Nystrom: n/m times the small spectrum padded with n - m zeros), zeros snapped as above, and
which is best: the bar a prediction has to clear.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import _common as C
import numpy as np

INPUTS = ("matrix", "eigs", "deformed", "deformed-eigs", "fullrank", "fullrank-eigs")


def load_realcases():
    """tests/realcases.py, imported with the repo's tests/ folder on sys.path."""
    sys.path.insert(0, str(C.REPO_DIR / "tests"))
    import realcases

    if Path(realcases.__file__).resolve().parent != C.REPO_DIR / "tests":
        raise ImportError(f"expected tests/realcases.py, imported {realcases.__file__}")
    return realcases


def submatrix(a: np.ndarray, m: int, seed: int) -> np.ndarray:
    """The principal submatrix on the first m entries of a seeded random permutation."""
    import jax.random as jr

    perm = np.asarray(jr.permutation(jr.PRNGKey(seed), a.shape[0]))
    idx = perm[:m]
    return a[np.ix_(idx, idx)]


def snap_zeros(eigs, tol: float) -> np.ndarray:
    eigs = np.asarray(eigs, dtype=np.float64)
    return np.where(np.abs(eigs) <= tol, 0.0, eigs)


def free_compression(a: np.ndarray, m: int, seed: int) -> np.ndarray:
    """Eigenvalues of the leading m x m block of Q diag(eigs(B)) Q^T, Q Haar-orthogonal, with the
    zero rows/columns of `a` set aside as in `fdj.eigvalsh` (B: `a` without them; their share of
    zeros is kept): the m-spectrum free decompression assumes the full matrix to have."""
    zero = np.all(np.abs(a) <= np.finfo(np.float64).eps * np.max(np.abs(a)), axis=1)
    b = a[np.ix_(~zero, ~zero)]
    eigs = np.linalg.eigvalsh(b)
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal(b.shape))
    q = q * np.sign(np.diag(r))
    mb = m - int(round(m * zero.sum() / a.shape[0]))
    rotated = (q[:mb] * eigs) @ q[:mb].T
    return np.sort(np.concatenate([np.zeros(m - mb), np.linalg.eigvalsh(rotated)]))


def distances(pred, true, tol: float) -> dict[str, float]:
    """KS and W1/IQR (IQR of the true spectrum) after snapping rounding-level zeros to 0."""
    from freedecomp_jax._metrics import ks_distance, wasserstein1

    pred, true = snap_zeros(pred, tol), snap_zeros(true, tol)
    q25, q75 = np.quantile(true, [0.25, 0.75])
    iqr = q75 - q25
    return {"ks": ks_distance(pred, true), "w1_iqr": wasserstein1(pred, true) / iqr if iqr > 0 else float("inf")}


def predict(fdj, inp, n: int, kw: dict[str, Any], repeats: int) -> tuple[np.ndarray, Any, float, float]:
    """`fdj.eigvalsh(inp, n, **kw)`, run as `fdj.predict(inp, n, return_report=True, **kw)` and
    `Spectrum.eigvalsh()` to keep the report: (prediction, report, first-call seconds, median of
    `repeats` later calls)."""
    times = []
    pred = report = None
    for _ in range(1 + max(repeats, 0)):
        t0 = time.perf_counter()
        spec, report = fdj.predict(inp, n, return_report=True, **kw)
        pred = np.asarray(C.block(spec.eigvalsh()), dtype=np.float64)
        times.append(time.perf_counter() - t0)
    return pred, report, times[0], (statistics.median(times[1:]) if repeats > 0 else float("nan"))


def same_degrees(fdj, inp, n: int, kw: dict[str, Any], row: dict[str, Any], pred: np.ndarray) -> str | None:
    """Whether `fdj.eigvalsh` used the degrees `fit_with_diagnostics` chose: it passes over a
    candidate whose prediction fails its check, so rerun it with those degrees and compare."""
    if "deg_pair" not in row:
        return None
    try:
        fixed = np.asarray(fdj.eigvalsh(inp, n, deg=row["deg_pair"], **kw), dtype=np.float64)
    except ValueError as e:
        row["note"] = (row["note"] + "; " if row["note"] else "") + f"with deg={row['deg_pair']}: {e}"
        return "no (check failed)"
    return "yes" if np.array_equal(fixed, pred) else "no"


class _Skip(Exception):
    """--no-diagnostics: the degree diagnostics of a row are not run."""


NOTE_WIDTH = 100


def short(note: str, row: int) -> str:
    """A note cut to NOTE_WIDTH characters for the table (printed in full under it)."""
    return note if len(note) <= NOTE_WIDTH else note[: NOTE_WIDTH - 12].rstrip() + f"... (see [{row}])"


COLUMNS = [
    ("row", "#", ""),
    ("case", "case", ""),
    ("n", "n", "d"),
    ("m", "m", "d"),
    ("input", "input", ""),
    ("ks", "KS", ".4f"),
    ("w1_iqr", "W1/IQR", ".4f"),
    ("ks_as_is", "KS as is", ".4f"),
    ("ks_rescaled", "KS rescaled", ".4f"),
    ("ks_nystrom", "KS Nystrom", ".4f"),
    ("ks_model", "KS model at m", ".4f"),
    ("beats", "beats best", ""),
    ("win", "win", ""),
    ("first_s", "first[s]", ".1f"),
    ("median_s", "later[s]", ".1f"),
    ("model", "eigvalsh model", ""),
    ("warned", "rank warned", ""),
    ("deg", "deg", ""),
    ("valid", "valid", ""),
    ("same_deg", "eigvalsh same deg", ""),
    ("note", "note", ""),
]


BASELINE_COLUMNS = [
    ("case", "case", ""),
    ("seed", "seed", "d"),
    ("n", "n", "d"),
    ("m", "m", "d"),
    ("zeros", "zeros n", "d"),
    ("zeros_m", "zeros m", "d"),
    ("as_is", "KS as is", ".4f"),
    ("rescaled", "KS rescaled", ".4f"),
    ("nystrom", "KS Nystrom", ".4f"),
    ("best", "best", ""),
    ("build_s", "build[s]", ".1f"),
]


def baseline_rows(realcases, names: list[str], seeds: list[int]) -> list[dict[str, Any]]:
    """The three baselines of `freedecomp_jax._metrics` against the full spectrum, per case and seed."""
    from freedecomp_jax._metrics import (
        as_is_baseline,
        nystrom_baseline,
        rescaled_baseline,
    )

    rows = []
    for name in names:
        for seed in seeds:
            t0 = time.perf_counter()
            case = realcases.ALL_CASES[name](seed=seed)
            n = case.n
            m = n // 8
            small = np.linalg.eigvalsh(submatrix(case.matrix, m, seed))
            row: dict[str, Any] = {"case": name, "seed": seed, "n": n, "m": m, "zeros": case.count_zeros(),
                                   "zeros_m": int(np.sum(np.abs(small) <= case.zero_tol)),
                                   "build_s": time.perf_counter() - t0}
            for key, base in [("as_is", as_is_baseline(small, n)), ("rescaled", rescaled_baseline(small, m, n)),
                              ("nystrom", nystrom_baseline(small, m, n))]:
                row[key] = distances(base, case.eigenvalues, case.zero_tol)["ks"]
            row["best"] = min(("as_is", "rescaled", "nystrom"), key=lambda k: row[k])
            print(f"# {name} seed {seed}: " + ", ".join(f"{k} {row[k]:.4f}" for k in ("as_is", "rescaled", "nystrom")), flush=True)
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", default=None, help="comma list of tests/realcases.py ALL_CASES (default: all)")
    p.add_argument("--inputs", default=",".join(INPUTS[:4]), help=f"comma list from {list(INPUTS)} (default: the first four)")
    p.add_argument("--seed", type=int, default=0, help="seed of the cases and of the submatrix")
    p.add_argument("--repeats", type=int, default=0, help="timed eigvalsh calls after the first one")
    p.add_argument("--no-diagnostics", action="store_true", help="skip fit_with_diagnostics and the same-degrees rerun (only the prediction)")
    p.add_argument("--json", type=Path, default=None, help="also write everything to this JSON file")
    p.add_argument("--baselines", default=None, metavar="SEEDS",
                   help="comma list of seeds: only print the baselines' KS per case and seed (no predictions)")
    args = p.parse_args(argv)

    C.enable_x64()
    realcases = load_realcases()
    names = list(realcases.ALL_CASES) if args.cases is None else [s.strip() for s in args.cases.split(",") if s.strip()]
    unknown = [s for s in names if s not in realcases.ALL_CASES]
    if unknown:
        p.error(f"unknown cases {unknown}; choose from {list(realcases.ALL_CASES)}")
    inputs = [s.strip() for s in args.inputs.split(",") if s.strip()]
    if any(s not in INPUTS for s in inputs):
        p.error(f"--inputs: choose from {list(INPUTS)}")

    info = C.machine_info()
    print(C.describe_machine(info))
    if args.baselines is not None:
        seeds = [int(v) for v in args.baselines.split(",") if v.strip()]
        print(f"# tests/realcases.py cases, seeds {seeds}: baselines at m = n // 8 against the full spectrum")
        rows = baseline_rows(realcases, names, seeds)
        print()
        print(C.format_table(rows, BASELINE_COLUMNS))
        print("# zeros n / zeros m: |lambda| <= eps n ||A|| in the full / small spectrum (set to 0 before the KS).")
        if args.json is not None:
            C.write_json(args.json, {"machine": info, "args": vars(args), "rows": rows})
        return 0
    print(f"# tests/realcases.py cases, seed {args.seed}: fit at m = n // 8, predict n; "
          f"fdj.eigvalsh with library defaults; load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    fdj, why = C.load_fdj()
    if fdj is None:
        print(f"# freedecomp_jax: {why}")
        return 1
    from freedecomp_jax._metrics import (
        as_is_baseline,
        nystrom_baseline,
        rescaled_baseline,
    )

    rows: list[dict[str, Any]] = []
    reasons: list[str] = []
    for name in names:
        t0 = time.perf_counter()
        case = realcases.ALL_CASES[name](seed=args.seed)
        n = case.n
        m = n // 8
        sub = submatrix(case.matrix, m, args.seed)
        small = np.linalg.eigvalsh(sub)
        build_s = time.perf_counter() - t0
        tol = case.zero_tol
        ks_as_is = distances(as_is_baseline(small, n), case.eigenvalues, tol)["ks"]
        ks_rescaled = distances(rescaled_baseline(small, m, n), case.eigenvalues, tol)["ks"]
        ks_nystrom = distances(nystrom_baseline(small, m, n), case.eigenvalues, tol)["ks"]
        best = min(ks_as_is, ks_rescaled, ks_nystrom)
        ks_model = distances(free_compression(case.matrix, m, args.seed), small, tol)["ks"]
        print(f"# {name}: {case.description}; n = {n}, m = {m}, exact zeros {case.n_structural_zeros}, "
              f"gram_ratio {case.gram_ratio}; built in {build_s:.1f} s", flush=True)

        runs = []
        if "matrix" in inputs:
            runs.append(("matrix", sub, {}))
        if "eigs" in inputs:
            runs.append(("eigs", small, {}))
        if "deformed" in inputs and case.gram_ratio is not None:
            ratio = case.gram_ratio * m / n
            runs.append((f"matrix, deformed c0={ratio:.3g}", sub, {"kind": fdj.Deformed(ratio)}))
        if "deformed-eigs" in inputs and case.gram_ratio is not None:
            ratio = case.gram_ratio * m / n
            runs.append((f"eigs, deformed c0={ratio:.3g}", small, {"kind": fdj.Deformed(ratio)}))
        if "fullrank" in inputs:
            runs.append(("matrix, full rank", sub, {"kind": fdj.Deformed(m / n)}))
        if "fullrank-eigs" in inputs:
            runs.append(("eigs, full rank", small, {"kind": fdj.Deformed(m / n)}))
        for label, inp, kw in runs:
            row: dict[str, Any] = {"row": len(rows) + 1, "case": name, "n": n, "m": m, "input": label,
                                   "ks_as_is": ks_as_is, "ks_rescaled": ks_rescaled, "ks_nystrom": ks_nystrom,
                                   "ks_model": ks_model, "note": ""}
            try:
                if args.no_diagnostics:
                    raise _Skip
                t0 = time.perf_counter()
                _, diag = fdj.fit_with_diagnostics(inp)
                row["diag_s"] = time.perf_counter() - t0
                row["deg_pair"] = tuple(int(d) for d in diag.deg)
                row["deg"] = str(row["deg_pair"])
                row["valid"] = str(bool(diag.valid))
                row["reason"] = diag.reason
                reasons.append(f"[{row['row']}] {name}, {label}: {diag.reason}")
            except _Skip:
                pass
            except Exception as e:  # noqa: BLE001 - the table must show failures
                row["note"] = f"fit_with_diagnostics failed: {type(e).__name__}: {e}"
                traceback.print_exc(file=sys.stderr)
            try:
                pred, report, first, later = predict(fdj, inp, n, kw, args.repeats)
                row["model"], row["report"] = report.chosen, str(report)
                row["warned"] = "yes" if report.note else "no"  # predict's warning: the data do not fix the rank (`_report.rank_note`)
                if pred.shape != (n,) or not np.all(np.isfinite(pred)):
                    raise ValueError(f"eigvalsh returned shape {pred.shape} with {np.sum(~np.isfinite(pred))} non-finite values")
                row.update(distances(pred, case.eigenvalues, tol))
                row["first_s"], row["median_s"] = first, (later if args.repeats > 0 else None)
                row["beats"] = "yes" if row["ks"] < best else "no"
                row["win"] = "WIN" if row["ks"] <= best / 3 or (row["ks"] <= best and row["ks"] <= 0.02) else "no"
                if not args.no_diagnostics:
                    row["same_deg"] = same_degrees(fdj, inp, n, kw, row, pred)
            except Exception as e:  # noqa: BLE001
                row["note"] = (row["note"] + "; " if row["note"] else "") + f"eigvalsh failed: {type(e).__name__}: {e}"
                traceback.print_exc(file=sys.stderr)
            print(f"#   [{row['row']}] {label}: KS {row.get('ks', float('nan')):.4f} {row.get('win', '')} (as is {ks_as_is:.4f}, "
                  f"rescaled {ks_rescaled:.4f}, Nystrom {ks_nystrom:.4f}), model {row.get('model')}, deg {row.get('deg')}, "
                  f"{row.get('first_s', float('nan')):.1f} s", flush=True)
            rows.append(row)

    print()
    table = [r | {"note": short(r["note"], r["row"])} for r in rows]
    print(C.format_table(table, COLUMNS))
    print("\n# KS: sup |F_pred - F_true| against the n true eigenvalues; W1/IQR: Wasserstein-1 in units")
    print("# of the true spectrum's interquartile range (|lambda| <= eps n ||A|| set to 0 first). 'beats")
    print("# best': KS below the best of the three baselines; 'win': KS <= 1/3 of it (or <= it and <= 0.02). KS model at m: the m x m spectrum against the")
    print("# free compression of the full one (Haar-rotated, zero rows/columns set aside as eigvalsh")
    print("# does): how far the case is from the model of free decompression itself. first[s]: the fdj.eigvalsh call (fit with")
    print("# automatic degrees + decompress + check + quantiles; compilation included where a shape is new);")
    print("# later[s]: median of --repeats further calls. eigvalsh model: the law fdj.predict chose")
    print("# (Report.chosen; a curve, or the Levy-Khintchine fallback). deg, valid: fdj.fit_with_diagnostics on the")
    print("# same input (valid: branch tracked everywhere, density >= 0, unit mass); 'eigvalsh same")
    print("# deg': eigvalsh(input, n, deg=deg) gives the same prediction. Degree choices:")
    for r in reasons:
        print("# " + r)
    notes = [r for r in rows if len(r["note"]) > NOTE_WIDTH]
    if notes:
        print("# Notes in full:")
    for r in notes:
        print(f"# [{r['row']}] {r['note']}")
    if args.json is not None:
        C.write_json(args.json, {"machine": info, "args": vars(args), "rows": rows})
        print(f"# wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
