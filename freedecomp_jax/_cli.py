"""Command line of freedecomp_jax (`freedecomp-jax ...` or `python -m freedecomp_jax ...`).

- `predict FILE --n N`: the spectrum of the n x n matrix predicted from FILE, the eigenvalues
  (1-D) or the square symmetric matrix (2-D) of an m x m principal submatrix, in .npy, .npz,
  .txt or .csv. A summary goes to stdout; `--out F.npz` saves the prediction (and F.json),
  `--plot P.png` a figure; `--features Q` for a Gram matrix of Q features.
- `ntk --n N`: the same on the ResNet-50 NTK shipped with the package, compared with the
  true spectrum and the naive baselines where N is one of the shipped sizes.

Progress lines go to stderr (`logging`, logger "freedecomp_jax"; INFO, or DEBUG with --verbose). Bad input is one line
on stderr and exit status 2. Nothing is written to the working directory unless a path is given.
"""

import argparse
import json
import logging
import math
import pathlib
import sys
import time
from typing import Any

from ._logging import get_logger, log_to_stderr

PROG = "freedecomp-jax"
MAX_EIGENVALUES = 10**7
"""Largest n whose n predicted eigenvalues `--out` writes (80 MB of float64); above it only the density and atoms."""
TEXT_SUFFIXES = (".txt", ".csv", ".tsv", ".dat")
log = get_logger("cli")


class UserError(Exception):
    """A problem with the user's input: reported as one line, exit status 2."""


# ---------------------------------------------------------------------------- loading
def _read_array(path: pathlib.Path, key: str | None):
    import numpy as np

    if not path.exists():
        raise UserError(f"no such file: {path}")
    if path.is_dir():
        raise UserError(f"{path} is a directory, not a file")
    suffix = path.suffix.lower()
    if key is not None and suffix != ".npz":
        raise UserError(f"--key selects an array inside a .npz file; {path} is a {suffix or 'suffix-less'} file")
    try:
        if suffix == ".npy":
            return np.load(path, allow_pickle=False)
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                names = list(z.files)
                if key is not None:
                    if key not in names:
                        raise UserError(f"{path} has no array named {key!r}; it holds: {', '.join(names) or 'nothing'}")
                    return z[key]
                if not names:
                    raise UserError(f"{path} holds no arrays")
                if len(names) > 1:
                    raise UserError(f"{path} holds several arrays ({', '.join(names)}): choose one with --key NAME")
                return z[names[0]]
        if suffix in TEXT_SUFFIXES:
            delimiter = "," if suffix == ".csv" else ("\t" if suffix == ".tsv" else None)
            try:
                return np.loadtxt(path, delimiter=delimiter, ndmin=1)
            except ValueError:  # maybe a header line
                return np.loadtxt(path, delimiter=delimiter, ndmin=1, skiprows=1)
    except UserError:
        raise
    except (ValueError, OSError, EOFError, KeyError) as err:
        what = "a .npz file" if suffix == ".npz" else ("a .npy file" if suffix == ".npy" else "a table of numbers")
        raise UserError(f"cannot read {path} as {what}: {str(err).splitlines()[0] if str(err) else type(err).__name__}") from None
    raise UserError(f"unsupported file type {suffix or '(none)'!r} for {path}: use .npy, .npz, .txt or .csv")


def load_input(path, key: str | None = None):
    """Read and check FILE. Returns `(data, eigs, form)`: what to pass to `predict` (eigenvalues, or the
    symmetrised matrix), the observed eigenvalues, and "eigenvalues" or "matrix"."""
    import numpy as np

    path = pathlib.Path(path)
    arr = _read_array(path, key)
    if arr.dtype.kind == "c":
        raise UserError(f"{path} holds complex numbers; eigenvalues of a symmetric matrix (or the matrix) must be real")
    if arr.dtype.kind not in "biuf":
        raise UserError(f"{path} holds {arr.dtype} data, not numbers")
    if arr.ndim == 0:
        raise UserError(f"{path} holds a single number, not eigenvalues or a matrix")
    if arr.size == 0:
        raise UserError(f"{path} is empty (shape {arr.shape})")
    if arr.ndim > 2:
        raise UserError(f"{path} holds a {arr.ndim}-D array of shape {arr.shape}; expected eigenvalues (1-D) or a square symmetric matrix (2-D)")
    if arr.ndim == 2 and 1 in arr.shape and arr.size > 1:
        log.debug("a %d x %d array is read as a vector of %d eigenvalues", *arr.shape, arr.size)
        arr = arr.ravel()
    orig = arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.dtype(np.float64)
    arr = arr.astype(np.float64)
    bad_nan, bad_inf = int(np.isnan(arr).sum()), int(np.isinf(arr).sum())
    if bad_nan or bad_inf:
        raise UserError(f"{path} contains {bad_nan} NaN and {bad_inf} infinite values; every entry must be finite")
    if arr.ndim == 1:
        return arr, np.sort(arr), "eigenvalues"
    rows, cols = int(arr.shape[0]), int(arr.shape[-1])
    if rows != cols:
        raise UserError(f"{path} holds a {rows} x {cols} array: a matrix must be square (or give the eigenvalues as a 1-D array)")
    scale = float(np.max(np.abs(arr)))
    asym = float(np.max(np.abs(arr - arr.T)))
    tol = max(1e-10, 100 * float(np.finfo(orig).eps)) * scale
    if asym > tol:
        raise UserError(f"the {rows} x {cols} matrix in {path} is not symmetric: max |A - A^T| = {asym:.3g} ({asym / scale:.2g} of max |A|); pass a real symmetric matrix or its eigenvalues")
    if asym > 0:
        log.debug("symmetrising the matrix: max |A - A^T| = %.3g (rounding)", asym)
        arr = 0.5 * (arr + arr.T)
    log.debug("computing the %d eigenvalues of the observed matrix (for the summary and the plot)", rows)
    return arr, np.linalg.eigvalsh(arr), "matrix"


def parse_size(text: str, m: int) -> int:
    """N as an integer >= m ('1000000', '1e6' and '1_000_000' are accepted)."""
    try:
        n = int(text.replace("_", ""))
    except ValueError:
        try:
            v = float(text)
        except ValueError:
            raise UserError(f"--n must be an integer matrix size; got {text!r}") from None
        if not (math.isfinite(v) and v.is_integer()):
            raise UserError(f"--n must be an integer matrix size; got {text!r}") from None
        n = int(v)
    if n < m:
        raise UserError(f"--n {n} is smaller than the observed size m = {m}: free decompression predicts larger matrices (n >= m)")
    return n


# ---------------------------------------------------------------------------- summary
def _float(v):
    v = float(v)
    return v if math.isfinite(v) else None


def model_description(curve) -> dict:
    """The model the library chose, as a JSON-ready dict (zero rows, outliers, a shift: the model inside, and them)."""
    if getattr(curve, "fraction", None) is not None:  # fdj.ZeroRows: zero rows kept as a fixed atom at 0
        out, f = model_description(curve.law), float(curve.fraction)
        return dict(out, zero_rows_fraction=f, text=out["text"] + f"; zero rows/columns ({f:.1%}) kept as a fixed atom at 0")
    if getattr(curve, "present", None) is not None:  # fdj.Spikes: isolated outliers set aside from the bulk's model
        out, k = model_description(curve.law), int(round(float(curve.count)))
        return dict(out, outliers=k, text=out["text"] + f"; {k} isolated outlier(s) kept as eigenvalues growing like n/m")
    if getattr(curve, "shift", None) is not None:  # fdj.Shifted: a curve written about the centre of a spectrum far from 0
        out, c = model_description(curve.law), float(curve.shift)
        return dict(out, shift=c, text=out["text"] + f", written about x = {c:.6g}")
    name = type(curve).__name__
    out: dict[str, Any] = {"name": name}
    if hasattr(curve, "deg_z") and hasattr(curve, "deg_m"):
        out["deg_z"], out["deg_m"] = int(curve.deg_z), int(curve.deg_m)
        out["text"] = f"{name}: algebraic curve P(z, m) = 0 of degrees (deg_z, deg_m) = ({out['deg_z']}, {out['deg_m']})"
    else:
        scales = getattr(curve, "scales", None)
        extra = "" if scales is None else f", with a diagonal profile of {len(scales)} scales (A = D^1/2 C D^1/2)"
        out["diagonal_profile"] = scales is not None
        out["text"] = f"{name}: free Levy-Khintchine law (the fallback for spectra no algebraic curve fits){extra}"
    return out


def summarise(spec) -> dict:
    """The spectral quantities of the summary (JSON-ready; non-finite values become None)."""
    import numpy as np

    n = float(spec.size)
    summary: dict = {"n": int(round(n)), "model": model_description(spec.law)}
    pos, w = (np.asarray(a, dtype=float) for a in spec.atoms)
    keep = np.isfinite(pos) & (w > 0)
    summary["atoms"] = [{"position": float(p), "weight": float(q), "count": int(round(q * n))} for p, q in zip(pos[keep], w[keep])]

    def quantity(name, f):
        t = time.perf_counter()
        try:
            value = f()
        except Exception as err:  # a quantity the model cannot give is reported, not fatal
            log.warning("could not compute %s: %s", name, str(err).splitlines()[0] if str(err) else type(err).__name__)
            value = None
        log.debug("%s: %.2f s", name, time.perf_counter() - t)
        return value

    summary["support"] = quantity("support", lambda: np.asarray(spec.support()).reshape(-1, 2).tolist())
    summary["mass"] = quantity("mass", lambda: _float(spec.mass()))
    summary["negative_fraction"] = quantity("negative fraction", lambda: _float(spec.cdf(-np.finfo(np.float64).tiny)))
    ends = quantity("lambda_min/max", lambda: np.asarray(spec.quantile(np.array([0.5, n - 0.5]) / n), dtype=float))
    summary["lambda_min"], summary["lambda_max"] = (None, None) if ends is None else (_float(ends[0]), _float(ends[1]))
    summary["trace"] = quantity("trace", lambda: _float(spec.trace(1)))
    summary["frobenius_norm"] = quantity("Frobenius norm", lambda: _float(spec.norm(2)))
    sld = quantity("log-determinant", lambda: tuple(float(v) for v in spec.slogdet()))
    summary["logdet"] = None if sld is None else {"sign": sld[0], "logabsdet": _float(sld[1])}
    summary["cond"] = quantity("condition number", lambda: _float(spec.cond()))
    return summary


def _fmt(v, spec=".6g"):
    return "n/a" if v is None else format(v, spec)


def format_summary(s: dict, source: str, m: int) -> str:
    n = s["n"]
    lines = [f"predicted spectrum of the {n:,} x {n:,} matrix from {source} (m = {m:,})", f"  model:              {s['model']['text']}"]
    sup = s["support"]
    if sup is None:
        lines.append("  support:            n/a")
    else:
        bulks = ", ".join(f"[{a:.6g}, {b:.6g}]" for a, b in sup) or "none found on the grid"
        lines.append(f"  support:            {len(sup)} bulk{'s' if len(sup) != 1 else ''}: {bulks}")
    atoms = "; ".join(f"{a['weight']:.4g} at {a['position']:.6g} (~{a['count']:,} eigenvalues)" for a in s["atoms"]) or "none"
    lines.append(f"  atoms:              {atoms}")
    nf = s["negative_fraction"]
    lines.append(f"  negative fraction:  {_fmt(nf, '.4f')}" + ("" if nf is None else f" (~{round(nf * n):,} negative eigenvalues)"))
    lines.append(f"  lambda_min, max:    {_fmt(s['lambda_min'])}, {_fmt(s['lambda_max'])}")
    lines.append(f"  trace:              {_fmt(s['trace'])}")
    lines.append(f"  Frobenius norm:     {_fmt(s['frobenius_norm'])}")
    ld = s["logdet"]
    if ld is None:
        lines.append("  log|det|:           n/a")
    elif ld["logabsdet"] is None:
        lines.append("  log|det|:           -inf (an atom at 0: the matrix is singular)")
    else:
        lines.append(f"  log|det|:           {ld['logabsdet']:.6g} (sign {ld['sign']:+.0f})")
    lines.append(f"  condition number:   {_fmt(s['cond'], '.4g')}" + (" (inf: an atom at 0)" if s["cond"] is None and any(a["position"] == 0 for a in s["atoms"]) else ""))
    lines.append(f"  check: total mass   {_fmt(s['mass'], '.5f')}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- stages
class _Stage:
    """Logs 'stage...' on entry and 'stage: done in X s' on exit."""

    def __init__(self, what: str):
        self.what = what
    def __enter__(self):
        self.t0 = time.perf_counter()
        log.info("%s ...", self.what)
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            log.info("%s: done in %.1f s", self.what, time.perf_counter() - self.t0)


def _check_out_paths(args):
    """Fail before the long computation when an output cannot be written."""
    if args.out:
        out = pathlib.Path(args.out)
        if out.suffix.lower() != ".npz":
            raise UserError(f"--out must name a .npz file (the JSON summary goes next to it); got {args.out}")
        if not out.parent.is_dir():
            raise UserError(f"--out {args.out}: directory {out.parent} does not exist")
    if args.plot:
        plot = pathlib.Path(args.plot)
        if not plot.parent.is_dir():
            raise UserError(f"--plot {args.plot}: directory {plot.parent} does not exist")
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise UserError('--plot needs matplotlib: pip install "freedecomp_jax[plot]"') from None


def _predict(data, n: int, args, m: int):
    import freedecomp_jax as fdj

    options: dict[str, Any] = {} if args.deg is None else {"deg": tuple(args.deg)}
    if getattr(args, "features", None):
        options["kind"] = fdj.Deformed(m / args.features)
    with _Stage(f"predicting the spectrum at n = {n:,} (fit{' with automatic degrees' if args.deg is None else f' deg={tuple(args.deg)}'}, decompress, check; the first run compiles)"):
        try:
            spec, report = fdj.predict(data, n, grid_size=args.grid_size, return_report=True, **options)
        except ValueError as err:
            raise UserError(f"the prediction failed: {err}") from None
    log.info("model: %s", model_description(spec.law)["text"])
    log.debug("model choice:\n%s", report)
    return spec


def _write(spec, summary: dict, args, eigenvalues):
    import numpy as np

    out = pathlib.Path(args.out)
    with _Stage(f"writing {out} and {out.with_suffix('.json')}"):
        pos, w = (np.asarray(a, dtype=float) for a in spec.atoms)
        keep = np.isfinite(pos) & (w > 0)
        arrays = {
            "x": np.asarray(spec.x, dtype=float),
            "density": np.asarray(spec.density, dtype=float),
            "atom_positions": pos[keep],
            "atom_weights": w[keep],
            "support": np.asarray(summary["support"] if summary["support"] is not None else np.zeros((0, 2)), dtype=float).reshape(-1, 2),
            "n": np.asarray(summary["n"]),
        }
        if eigenvalues is not None:
            arrays["eigenvalues"] = eigenvalues
        with open(out, "wb") as f:
            np.savez(f, **arrays)
        doc = dict(summary)
        doc["files"] = {"npz": str(out), "arrays": sorted(arrays)}
        doc["eigenvalues_saved"] = eigenvalues is not None
        out.with_suffix(".json").write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n")


def _eigenvalues(spec, n: int):
    """The n predicted eigenvalues, or None (said on stdout) above MAX_EIGENVALUES."""
    import numpy as np

    if n > MAX_EIGENVALUES:
        print(
            f"n = {n:,} > {MAX_EIGENVALUES:,}: the {n:,} eigenvalues are not written ({8 * n / 1e9:.1f} GB); "
            "the .npz holds the density on its grid and the atoms (Spectrum.quantile gives chosen ranks)."
        )
        return None
    with _Stage(f"computing the {n:,} predicted eigenvalues (quantiles of the predicted law)"):
        return np.asarray(spec.eigvalsh(), dtype=float)


def _plot(spec, path, observed, truth, log_axis: bool):
    """Density panel and edges panel, saved to `path` (a bare matplotlib Figure: no pyplot, no backend switch)."""
    import numpy as np

    with _Stage(f"plotting to {path}"):
        from matplotlib.figure import Figure

        from ._plot import plot_edges, plot_spectrum

        fig = Figure(figsize=(13, 4.8))
        ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
        plot_spectrum(spec, ax=ax1, observed=observed, truth=truth, log=log_axis)
        n0, n = float(np.asarray(spec.law.n0)), float(np.asarray(spec.size))
        count = 12 if spec.law.edge_system(spec.kind) is not None else 3  # without edge equations: a whole-grid solve per size
        sizes = np.geomspace(n0, n, count) if n > n0 else np.array([n])
        try:
            plot_edges(spec, sizes, ax=ax2)
        except Exception as err:  # the density panel is the main one
            log.warning("no edges panel: %s", str(err).splitlines()[0] if str(err) else type(err).__name__)
            ax2.set_axis_off()
        fig.tight_layout()
        fig.savefig(path, dpi=120)


def _cache(args):
    if args.cache:
        import freedecomp_jax as fdj

        where = fdj.enable_compilation_cache()
        log.info("JAX compilation cache: %s (later runs skip most compilation; --no-cache turns it off)", where)


# ---------------------------------------------------------------------------- commands
def _cmd_predict(args) -> int:
    _check_out_paths(args)
    with _Stage(f"loading {args.file}"):
        data, observed, form = load_input(args.file, args.key)
    m = observed.size
    log.info("read %s: %s", f"a {m} x {m} symmetric matrix" if form == "matrix" else f"{m} eigenvalues", args.file)
    n = parse_size(args.n, m)
    _cache(args)
    spec = _predict(data, n, args, m)
    with _Stage("summarising (support, atoms, quantiles, trace, log-determinant, condition number)"):
        summary = summarise(spec)
    summary["input"] = {"file": str(args.file), "kind": form, "m": m}
    summary["grid_size"] = int(args.grid_size)
    print(format_summary(summary, f"the {'matrix' if form == 'matrix' else 'eigenvalues'} in {args.file}", m))
    if args.out:
        _write(spec, summary, args, _eigenvalues(spec, n))
    if args.plot:
        _plot(spec, args.plot, observed, None, args.plot_log)
    return 0


def _cmd_ntk(args) -> int:
    from freedecomp_jax._metrics import (
        as_is_baseline,
        ks_distance,
        rescaled_baseline,
        wasserstein1,
    )
    from freedecomp_jax.data import NTK_SIZES, load_ntk, ntk_eigvalsh_seconds

    _check_out_paths(args)
    if args.n0 not in NTK_SIZES:
        raise UserError(f"--n0 must be a shipped NTK size, one of {', '.join(map(str, NTK_SIZES))}; got {args.n0}")
    n = parse_size(args.n, args.n0)
    _cache(args)
    with _Stage(f"loading the shipped NTK spectrum of size {args.n0}"):
        small = load_ntk(args.n0)
        truth = load_ntk(n) if n in NTK_SIZES else None
    print(f"NTK of ResNet-50 on CIFAR-10: fit on the {args.n0}x{args.n0} submatrix, predict {n}x{n}")
    t0 = time.perf_counter()
    spec = _predict(small, n, args, args.n0)
    predicted = _eigenvalues(spec, n) if truth is not None or args.out else None
    elapsed = time.perf_counter() - t0
    if truth is not None:
        std = truth.std()
        rows = [
            ("free decompression (freedecomp_jax)", predicted),
            ("small spectrum as is", as_is_baseline(small, n)),
            ("small spectrum rescaled by sqrt(n/m) about its mean", rescaled_baseline(small, args.n0, n)),
        ]
        print(f"\n{'prediction':<54}{'KS':>8}{'W1/std':>10}")
        for name, eig in rows:
            print(f"{name:<54}{ks_distance(eig, truth):>8.4f}{wasserstein1(eig, truth) / std:>10.4f}")
        dense = ntk_eigvalsh_seconds().get(n)
        print(f"\nfit + decompress + quantiles: {elapsed:.1f} s (first call in this process, compilation included unless the cache held it)", end="")
        print(f"; dense eigvalsh of the {n}x{n} matrix took {dense:.0f} s" if dense else "")
    else:
        print(f"(no true spectrum of size {n} is shipped: shipped sizes are {', '.join(map(str, NTK_SIZES))})")
    with _Stage("summarising (support, atoms, quantiles, trace, log-determinant, condition number)"):
        summary = summarise(spec)
    summary["input"] = {"file": f"freedecomp_jax.data.load_ntk({args.n0})", "kind": "eigenvalues", "m": args.n0}
    summary["grid_size"] = int(args.grid_size)
    print()
    print(format_summary(summary, f"the shipped NTK eigenvalues (fdj.data.load_ntk({args.n0}))", args.n0))
    if args.out:
        _write(spec, summary, args, predicted)
    if args.plot:
        _plot(spec, args.plot, small, truth, args.plot_log)
        print(f"plot saved to {args.plot}")
    return 0


# ---------------------------------------------------------------------------- parser
def _degrees(text: str):
    try:
        parts = [int(p) for p in text.replace("x", ",").split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"degrees must be two integers 'L,K' (deg_z, deg_m); got {text!r}") from None
    if len(parts) != 2 or min(parts) < 1:
        raise argparse.ArgumentTypeError(f"degrees must be two integers >= 1, 'L,K' (deg_z, deg_m); got {text!r}")
    return parts


def _integer(what: str, lower: int):
    def parse(text: str):
        try:
            g = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be an integer; got {text!r}") from None
        if g < lower:
            raise argparse.ArgumentTypeError(f"{what} must be at least {lower}; got {g}")
        return g
    return parse


def _common(p):
    p.add_argument("--out", metavar="F.npz", help="save the prediction: F.npz (eigenvalues if n <= 10^7, x, density, atoms, support) and a JSON summary F.json")
    p.add_argument("--plot", metavar="P.png", help="save a figure (density with atoms and observed eigenvalues; support across sizes); any matplotlib format")
    p.add_argument("--plot-log", action="store_true", help="logarithmic eigenvalue axis in the plot (density per unit ln|lambda|, negative part folded)")
    p.add_argument("--grid-size", type=_integer("the grid size", 16), default=1024, metavar="G", help="points of the density grid (default 1024)")
    p.add_argument("--deg", type=_degrees, metavar="L,K", help="fixed curve degrees (deg_z, deg_m) instead of the automatic choice")
    p.add_argument("--verbose", "-v", action="store_true", help="debug-level progress on stderr")
    p.add_argument("--no-cache", dest="cache", action="store_false", help="do not use the persistent compilation cache (fdj.enable_compilation_cache)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    pred = sub.add_parser("predict", help="predict the spectrum of an n x n matrix from a file of eigenvalues or a matrix")
    pred.add_argument("file", metavar="FILE", help=".npy, .npz, .txt or .csv: eigenvalues (1-D) or a square symmetric matrix (2-D) of size m")
    pred.add_argument("--n", required=True, metavar="N", help="target matrix size, an integer >= m (1e6 is accepted)")
    pred.add_argument("--key", metavar="NAME", help="the array to read from a .npz file holding several")
    pred.add_argument("--features", type=_integer("the number of features", 1), metavar="Q", help="a Gram matrix X X^T of Q features (width, random features, samples x outputs), if known: the atom 1 - Q/n at 0 is born past n = Q (fdj.Deformed(m / Q))")
    _common(pred)
    pred.set_defaults(func=_cmd_predict)
    ntk = sub.add_parser("ntk", help="decompress the shipped ResNet-50 NTK spectrum (compared with the truth at shipped sizes)")
    ntk.add_argument("--n0", type=int, default=1024, help="size of the observed submatrix, a shipped size (default 1024)")
    ntk.add_argument("--n", default="50056", metavar="N", help="target size, any integer >= n0 (default 50056, the full matrix; the truth is shown at shipped sizes)")
    _common(ntk)
    ntk.set_defaults(func=_cmd_ntk)
    return parser


def main(argv=None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 bad input)."""
    import jax

    jax.config.update("jax_enable_x64", True)  # the numerics need float64; a command line owns its process
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse's own errors (exit 2) and --help (0)
        return int(exit_.code or 0)
    with log_to_stderr(logging.DEBUG if args.verbose else logging.INFO):
        try:
            return args.func(args)
        except UserError as err:
            log.debug("details", exc_info=True)
            print(f"{PROG}: error: {err}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted", file=sys.stderr)
            return 130


if __name__ == "__main__":
    sys.exit(main())
