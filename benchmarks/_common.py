"""Shared helpers for the benchmark scripts: samplers, metrics, quantiles, timing, provenance.

Nothing here is part of the library. The scripts import this module as a sibling
(`python benchmarks/<script>.py` puts `benchmarks/` on `sys.path`).
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib
import importlib.metadata
import json
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
OUT_DIR = BENCH_DIR / "out"  # git-ignored
NTK_DIR_CANDIDATES = (
    REPO_DIR / "freedecomp_jax" / "data" / "ntk_resnet50_cifar",
    REPO_DIR.parent / "shared" / "data" / "ntk_resnet50_cifar",
)


# --------------------------------------------------------------------------- setup


def enable_x64() -> None:
    """The scripts (not the library) switch JAX to float64 before any array exists."""
    import jax

    jax.config.update("jax_enable_x64", True)


def load_fdj() -> tuple[Any, str | None]:
    """Import freedecomp_jax; return `(module, None)` or `(None, why it is unusable)`.

    The benchmarks need `fdj.fit` and `fdj.decompress`; while those are being written the
    scripts print a "not available yet" row instead of failing.
    """
    try:
        fdj = importlib.import_module("freedecomp_jax")
    except Exception as e:  # pragma: no cover - depends on the checkout
        return None, f"import freedecomp_jax failed: {type(e).__name__}: {e}"
    missing = [name for name in ("fit", "decompress") if not hasattr(fdj, name)]
    if missing:
        return None, "not available yet: freedecomp_jax has no " + ", ".join(missing)
    return fdj, None


def version_of(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def machine_info() -> dict[str, Any]:
    """Where and when a figure was measured: date, CPU, cores, JAX backend/devices, versions."""
    info: dict[str, Any] = {
        "date_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "hostname": platform.node(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cores": usable_cores(),
        "versions": {
            name: version_of(name)
            for name in ("freedecomp_jax", "jax", "jaxlib", "equinox", "diffrax", "optax", "numpy", "scipy", "freealg", "numba")
        },
    }
    try:
        import jax

        devices = jax.devices()
        info["jax_backend"] = jax.default_backend()
        info["jax_devices"] = [f"{d.platform}:{d.device_kind}" for d in devices]
        info["jax_x64"] = bool(jax.config.jax_enable_x64)
    except Exception as e:  # pragma: no cover
        info["jax_backend"] = f"unavailable ({e})"
    return info


def describe_machine(info: dict[str, Any]) -> str:
    v = info["versions"]
    vers = ", ".join(f"{k} {val}" for k, val in v.items() if val is not None)
    return (
        f"# date {info['date_utc']} | {info['cpu_model']} | {info['usable_cores']} usable cores "
        f"(of {info['cpu_count']}) | jax backend {info.get('jax_backend')} "
        f"{info.get('jax_devices')} x64={info.get('jax_x64')}\n# {vers}"
    )


# ------------------------------------------------------------------------- timing


def block(tree: Any) -> Any:
    """Wait for every JAX array in `tree` (numpy leaves pass through)."""
    import jax

    return jax.block_until_ready(tree)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """Run `fn()` to completion (`block_until_ready`) and return `(result, seconds)`."""
    t0 = time.perf_counter()
    out = block(fn())
    return out, time.perf_counter() - t0


def first_and_median(fn: Callable[[], Any], repeats: int) -> tuple[Any, float, float]:
    """First-call time (tracing + compilation + run) and the median of `repeats` later calls."""
    out, first = timed(fn)
    later = [timed(fn)[1] for _ in range(max(repeats, 0))]
    return out, first, (statistics.median(later) if later else first)


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def device_memory_stats() -> dict[str, Any] | None:
    """`memory_stats()` of the first JAX device (GPU/TPU); None on CPU backends."""
    import jax

    try:
        stats = jax.devices()[0].memory_stats()
    except Exception:
        return None
    return dict(stats) if stats else None


# ------------------------------------------------------------------------ spectra


def quantiles_from_density(
    x: np.ndarray,
    density: np.ndarray,
    n: int,
    atoms: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, float]:
    r"""The `n` quantiles $(k - \tfrac12)/n$ of a law given on a grid, atoms included.

    The law is $\rho(x)\,dx + \sum_a w_a \delta_{x_a}$: negative density values are clipped to
    zero, the absolutely continuous CDF is the trapezoid integral on the sorted grid, each
    atom adds a jump of its weight at its position. The total is renormalised to one (mass
    that fell outside the grid is spread proportionally); the raw total comes back as the
    second output so the caller can report it.

    Returns `(eigenvalues (n,), raw_total_mass)`.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    rho = np.clip(np.nan_to_num(np.asarray(density, dtype=np.float64).ravel()), 0.0, None)
    if x.shape != rho.shape or x.size < 2:
        raise ValueError("x and density must be 1-D arrays of the same length >= 2")
    order = np.argsort(x)
    x, rho = x[order], rho[order]
    cdf_ac = np.concatenate([[0.0], np.cumsum(0.5 * (rho[1:] + rho[:-1]) * np.diff(x))])

    pos = np.zeros(0)
    wts = np.zeros(0)
    if atoms is not None:
        pos = np.asarray(atoms[0], dtype=np.float64).ravel()
        wts = np.clip(np.asarray(atoms[1], dtype=np.float64).ravel(), 0.0, None)
        keep = wts > 0
        pos, wts = pos[keep], wts[keep]

    # Breakpoints of the full CDF: grid points (continuous part), and each atom twice
    # (value just before and just after the jump).
    xs = [x]
    fs = [cdf_ac + _atom_mass_below(x, pos, wts, inclusive=True)]
    if pos.size:
        f_ac_at = np.interp(pos, x, cdf_ac)
        xs += [pos, pos]
        fs += [f_ac_at + _atom_mass_below(pos, pos, wts, inclusive=False), f_ac_at + _atom_mass_below(pos, pos, wts, inclusive=True)]
    xb = np.concatenate(xs)
    fb = np.concatenate(fs)
    order = np.lexsort((fb, xb))
    xb, fb = xb[order], np.maximum.accumulate(fb[order])
    total = float(fb[-1])
    if not total > 0:
        raise ValueError("the law has zero total mass on this grid")
    q = (np.arange(1, n + 1) - 0.5) / n * total
    idx = np.clip(np.searchsorted(fb, q, side="left"), 1, xb.size - 1)
    f0, f1 = fb[idx - 1], fb[idx]
    x0, x1 = xb[idx - 1], xb[idx]
    frac = np.where(f1 > f0, (q - f0) / np.where(f1 > f0, f1 - f0, 1.0), 1.0)
    return x0 + frac * (x1 - x0), total


def _atom_mass_below(at: np.ndarray, pos: np.ndarray, wts: np.ndarray, *, inclusive: bool) -> np.ndarray:
    if pos.size == 0:
        return np.zeros_like(at)
    cmp = pos[None, :] <= at[:, None] if inclusive else pos[None, :] < at[:, None]
    return (cmp * wts[None, :]).sum(axis=1)


def _snap(values: np.ndarray, resolution: float) -> np.ndarray:
    return np.round(values / resolution) * resolution if resolution > 0 else values


def ks_distance(pred: np.ndarray, true: np.ndarray, resolution: float = 0.0) -> float:
    """Two-sample Kolmogorov–Smirnov distance sup_x |F_pred(x) - F_true(x)|.

    Values are first snapped to `resolution` so that an atom predicted at 1e-13 and exact
    zeros computed as ±1e-15 count as the same point (otherwise a 90% atom would show a KS of
    0.9 for a difference far below float precision of the spectrum's scale).
    """
    a = np.sort(_snap(np.asarray(pred, dtype=np.float64), resolution))
    b = np.sort(_snap(np.asarray(true, dtype=np.float64), resolution))
    pts = np.concatenate([a, b])
    fa = np.searchsorted(a, pts, side="right") / a.size
    fb = np.searchsorted(b, pts, side="right") / b.size
    return float(np.max(np.abs(fa - fb)))


def wasserstein1(pred: np.ndarray, true: np.ndarray) -> float:
    """W1 = integral of |F_pred - F_true| dx between two empirical laws (any sizes)."""
    a = np.sort(np.asarray(pred, dtype=np.float64))
    b = np.sort(np.asarray(true, dtype=np.float64))
    pts = np.sort(np.concatenate([a, b]))
    fa = np.searchsorted(a, pts[:-1], side="right") / a.size
    fb = np.searchsorted(b, pts[:-1], side="right") / b.size
    return float(np.sum(np.abs(fa - fb) * np.diff(pts)))


def spectrum_metrics(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """KS, W1/IQR and W1/std of a predicted spectrum against the true one.

    IQR is that of the true spectrum; it vanishes when an atom holds more than half the
    mass (then W1/IQR is reported as inf and W1/std is the figure to read). The KS
    resolution is 1e-9 of the true spectrum's 1%–99% width: float noise only, so an atom
    predicted at a fitted root 1e-4 away from the true exact zeros is charged its whole mass.
    """
    true = np.asarray(true, dtype=np.float64)
    q01, q25, q75, q99 = np.quantile(true, [0.01, 0.25, 0.75, 0.99])
    width = q99 - q01 if q99 > q01 else float(np.max(true) - np.min(true))
    resolution = 1e-9 * width
    w1 = wasserstein1(pred, true)
    iqr = q75 - q25
    return {
        "ks": ks_distance(pred, true, resolution),
        "w1_iqr": w1 / iqr if iqr > resolution else float("inf"),
        "w1_std": w1 / float(np.std(true)),
    }


def naive_as_is(small: np.ndarray) -> np.ndarray:
    """Baseline 1: the small spectrum, unchanged, as a prediction of the large one."""
    return np.asarray(small, dtype=np.float64)


def naive_rescaled(small: np.ndarray, n: int) -> np.ndarray:
    """Baseline 2: the small spectrum stretched about its mean by sqrt(n/m)."""
    small = np.asarray(small, dtype=np.float64)
    mu = small.mean()
    return mu + (small - mu) * np.sqrt(n / small.size)


def prediction_grid(small: np.ndarray, n: int, size: int, pad: float = 0.1) -> np.ndarray:
    """A grid for the size-`n` density, from the small spectrum only (no peeking).

    Uniform: it covers the small spectrum and its sqrt(n/m) stretch about the mean, padded
    by `pad` of that width on each side. Geometric instead when the small spectrum is
    positive and spans more than 3 decades (a uniform grid cannot see a bulk at 1e-6 of the
    top): from min(small) * m/n to (1 + pad) times the top of the stretch. Atoms at zero
    are point masses and need no grid point.
    """
    small = np.asarray(small, dtype=np.float64)
    stretched = naive_rescaled(small, n)
    lo = min(small.min(), stretched.min())
    hi = max(small.max(), stretched.max())
    if small.min() > 0 and small.max() > 1e3 * small.min():
        return np.geomspace(small.min() * small.size / n, (1 + pad) * hi, size)
    w = hi - lo
    return np.linspace(lo - pad * w, hi + pad * w, size)


# ----------------------------------------------------------------------- samplers


def mp_law_spectra(batch: int, m: int, seed: int) -> np.ndarray:
    """(batch, m) exact MP quantiles with random (lam, sigma^2); lam < 1 so no atom."""
    rng = np.random.default_rng(seed)
    out = np.empty((batch, m))
    for b in range(batch):
        lam, s2 = rng.uniform(0.05, 0.5), rng.uniform(0.5, 2.0)
        lo, hi = s2 * (1 - np.sqrt(lam)) ** 2, s2 * (1 + np.sqrt(lam)) ** 2
        x = lo + (hi - lo) * (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, 4097)))  # edge-refined
        rho = np.sqrt(np.clip((hi - x) * (x - lo), 0.0, None)) / (2 * np.pi * lam * s2 * x)
        out[b], _ = quantiles_from_density(x, rho, m)
    return out


# Exact samplers of the finite-n matrix ensembles of METHOD.md §7 (numpy, seeded).


def _bartlett_wishart(rng: np.random.Generator, n: int, dof: int) -> np.ndarray:
    """Z Z^T for Z (n x dof) standard Gaussian, drawn in O(n^3) by the Bartlett decomposition.

    Z Z^T = L L^T with L lower triangular, L_ii ~ chi(dof - i) (i = 0..n-1), L_ij ~ N(0, 1)
    below the diagonal: exactly the Wishart_n(dof, I) law, without forming the n x dof Z.
    """
    if dof < n:
        raise ValueError("the Bartlett sampler needs dof >= n")
    L = np.tril(rng.standard_normal((n, n)), k=-1)
    L[np.diag_indices(n)] = np.sqrt(rng.chisquare(dof - np.arange(n)))
    return L @ L.T


def sample_wigner(rng: np.random.Generator, n: int, r: float = 2.0) -> np.ndarray:
    """Semicircle on [-r, r]: (G + G^T)/sqrt(2n) * r/2."""
    g = rng.standard_normal((n, n))
    return (g + g.T) / np.sqrt(2.0 * n) * (r / 2.0)


def sample_mp(rng: np.random.Generator, n: int, lam: float, sigma: float = 1.0) -> np.ndarray:
    """Marchenko–Pastur(lam): sigma^2 X X^T / m with X n x m Gaussian, m = floor(n / lam)."""
    m = int(np.floor(n / lam))
    return sigma**2 * _bartlett_wishart(rng, n, m) / m


def sample_cfp_part(rng: np.random.Generator, n: int, t, w, lam: float) -> np.ndarray:
    """Compound free Poisson: sum_i s_i Z_i Z_i^T / m_i, m_i = round(n lam w_i), s_i = t_i lam w_i."""
    a = np.zeros((n, n))
    for ti, wi in zip(t, w):
        li = lam * wi
        mi = max(1, int(round(n * li)))
        z = rng.standard_normal((n, mi))
        a += (ti * li / mi) * (z @ z.T)
    return a


def sample_free_levy(rng: np.random.Generator, n: int, t, w, lam: float, a: float = 0.0, sigma: float = 0.0) -> np.ndarray:
    """Free Lévy: compound free Poisson + a I + semicircle of variance sigma^2."""
    out = sample_cfp_part(rng, n, t, w, lam)
    if a:
        out += a * np.eye(n)
    if sigma:
        out += sample_wigner(rng, n, r=2.0 * sigma)
    return out


def sample_dmp(rng: np.random.Generator, n: int, t, w, c: float) -> np.ndarray:
    """Deformed MP (H ⊠ MP_c): Σ^{1/2} Z Z^T Σ^{1/2} / m, m = round(n / c), Σ with atoms t (props w)."""
    m = int(round(n / c))
    counts = np.floor(np.asarray(w) * n).astype(int)
    counts[np.argmax(np.asarray(w))] += n - counts.sum()
    s = np.repeat(np.sqrt(np.asarray(t, dtype=np.float64)), counts)
    rng.shuffle(s)
    return (s[:, None] * _bartlett_wishart(rng, n, m) * s[None, :]) / m


def ntk_dir() -> Path:
    for d in NTK_DIR_CANDIDATES:
        if (d / "eig_n1024.npy").exists():
            return d
    raise FileNotFoundError(
        "NTK eigenvalues not found in " + " or ".join(str(d) for d in NTK_DIR_CANDIDATES)
    )


# ------------------------------------------------------------------------- output


def format_table(rows: list[dict[str, Any]], columns: list[tuple[str, str, str]]) -> str:
    """Plain-text table; `columns` are (key, header, format spec)."""
    cells = [[h for _, h, _ in columns]]
    for row in rows:
        line = []
        for key, _, spec in columns:
            v = row.get(key)
            if v is None:
                line.append("—")
            elif isinstance(v, float) and not np.isfinite(v):
                line.append("inf" if v > 0 else "nan")
            elif isinstance(v, (int, float)) and spec:
                line.append(format(v, spec))
            else:
                line.append(str(v))
        cells.append(line)
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    out = []
    for k, r in enumerate(cells):
        out.append("  ".join(c.ljust(wd) if i < 2 else c.rjust(wd) for i, (c, wd) in enumerate(zip(r, widths))))
        if k == 0:
            out.append("  ".join("-" * wd for wd in widths))
    return "\n".join(out)


def _jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _jsonable(dataclasses.asdict(obj))
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return f if np.isfinite(f) else str(f)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if obj is None or isinstance(obj, (str, int, bool)):
        return obj
    return str(obj)


def write_json(path: str | os.PathLike, payload: dict[str, Any]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_jsonable(payload), indent=2) + "\n")
