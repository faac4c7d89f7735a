r"""Plots of a predicted [`Spectrum`][]: the density with its atoms, and the support across sizes.

matplotlib is an optional dependency (`pip install "freedecomp_jax[plot]"`), imported only when
a plot is drawn. Both functions draw into `ax` (or a new figure) and return the Axes; they
never call `plt.show()` or `savefig`, and they use only the object API, so they work under any
backend (`Agg` included).
"""

import numpy as np

_INSTALL = 'plotting needs matplotlib, an optional dependency: pip install "freedecomp_jax[plot]" (or pip install matplotlib).'


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - exercised only without matplotlib
        raise ImportError(_INSTALL) from err
    return plt


def _axes(ax, figsize=(7.0, 4.2)):
    if ax is not None:
        return ax
    _, ax = _pyplot().subplots(figsize=figsize)
    return ax


def _single(spec, what: str):
    if np.ndim(spec.density) != 1:
        raise ValueError(f"{what} draws one size; this Spectrum holds {np.shape(spec.density)[0]} sizes: pass spec[k].")


def _atoms(spec):
    pos, w = (np.asarray(a, dtype=float) for a in spec.atoms)
    keep = np.isfinite(pos) & (w > 0)
    return pos[keep], w[keep]


def _trapz(y, x) -> float:
    """Trapezoid rule (numpy >= 1.26: no np.trapezoid before 2.0)."""
    return float(np.sum(0.5 * (y[1:] + y[:-1]) * np.diff(x))) if x.size > 1 else 0.0


def _finite(v, name):
    if v is None:
        return None
    v = np.asarray(v, dtype=float).ravel()
    if v.size == 0:
        raise ValueError(f"{name} is empty.")
    return v[np.isfinite(v)]


def plot_spectrum(spec, *, ax=None, observed=None, truth=None, bins=80, log: bool = False, title: str | None = None):
    r"""Draw the predicted density, its atoms and, optionally, observed and true eigenvalues.

    **Arguments:**

    - `spec`: a single-size [`Spectrum`][] (e.g. from [`predict`][]).
    - `ax`: matplotlib Axes to draw into (default: a new figure).
    - `observed`: eigenvalues of the small submatrix, drawn as a step histogram.
    - `truth`: eigenvalues of the full matrix when known, drawn as a filled histogram.
    - `bins`: number of bins of each histogram, or explicit bin edges shared by both
      (with `log=True`, edges of $|\lambda|$).
    - `log`: logarithmic eigenvalue axis (see below).
    - `title`: the Axes title (default: the size $n$ and the model).

    **Linear axis** (`log=False`): the curve is the absolutely continuous density
    $\rho_n(x)$ itself (`spec.x`, `spec.density`). Histograms are normalised the same way
    (`density=True`), each on `bins` bins over its own range (the observed spectrum is often
    much narrower than the prediction). Atoms and densities have different units, so each atom
    $(x_a, w_a)$ is a stem at $x_a$ on a second y axis on the right, "atom weight" from 0 to 1
    (the stem's height is the fraction of the $n$ eigenvalues it holds), labelled "$w_a$ at
    $x_a$"; that axis is `ax`'s twin (`ax.figure.axes`), created only when there are atoms.

    **Log axis** (`log=True`): the horizontal axis is $|\lambda|$ on a log scale and the curve
    is the density per unit of $\ln|\lambda|$, $|x|\rho_n(x)$ (so equal areas on the log axis
    are equal numbers of eigenvalues, as with `numpy.histogram(np.log(abs(eigs)), density=True)`).
    A signed spectrum is folded: the negative part is drawn as a second, dashed curve over
    $|\lambda|$ (its area is the negative fraction), not on a `symlog` axis, whose linear zone
    around 0 would mix the two scales and hide the decades that matter for Hessian-like
    spectra. Atoms at 0 cannot be placed on a log axis: they are named in the legend.

    **Returns:** the matplotlib Axes.
    """
    _single(spec, "plot_spectrum")
    ax = _axes(ax)
    x = np.asarray(spec.x, dtype=float)
    rho = np.asarray(spec.density, dtype=float)
    pos, w = _atoms(spec)
    observed = _finite(observed, "observed")
    truth = _finite(truth, "truth")
    n = float(np.asarray(spec.size))
    top = (_draw_log if log else _draw_linear)(ax, x, rho, pos, w, observed, truth, bins)
    if title is None:
        title = f"predicted spectrum, n = {n:,.0f} ({_model_name(spec)})"
    ax.set_title(title)
    handles, labels = ax.get_legend_handles_labels()
    if top is not ax:  # the atoms' twin axis is drawn over ax: the legend goes there
        more = top.get_legend_handles_labels()
        handles, labels = handles + more[0], labels + more[1]
    top.legend(handles, labels, loc="best", fontsize="small")
    return ax


def _model_name(spec) -> str:
    curve = spec.law
    while not hasattr(curve, "deg_z") and hasattr(curve, "law"):  # ZeroRows, Spikes, Shifted: the model inside
        curve = curve.law
    name = type(curve).__name__
    if hasattr(curve, "deg_z") and hasattr(curve, "deg_m"):
        return f"{name}, degrees ({int(curve.deg_z)}, {int(curve.deg_m)})"
    return name


def _hist_edges(bins, data, log: bool = False):
    """Bin edges: `bins` itself when it is an array, else `bins` bins over this data set's own range
    (the observed spectrum is often far narrower than the predicted one: shared bins would put it in one bar)."""
    if np.ndim(bins) == 1:
        return np.asarray(bins, dtype=float)
    if log:
        a = np.abs(data[data != 0])
        lo, hi = float(a.min()), float(a.max())
        return np.geomspace(lo, hi, int(bins) + 1) if hi > lo else np.array([lo / 1.1, hi * 1.1])
    lo, hi = float(data.min()), float(data.max())
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, int(bins) + 1)


def _draw_linear(ax, x, rho, pos, w, observed, truth, bins):
    if truth is not None:
        ax.hist(truth, bins=_hist_edges(bins, truth), density=True, alpha=0.35, color="C0", label=f"true eigenvalues (n = {truth.size:,})")
    if observed is not None:
        ax.hist(observed, bins=_hist_edges(bins, observed), density=True, histtype="step", lw=1.0, ls="--", color="C2", label=f"observed eigenvalues (m = {observed.size:,})")
    ax.plot(x, rho, color="C3", lw=1.8, label="predicted density", gid="density")
    _support_rug(ax, x, rho)
    ax.set_xlabel("eigenvalue λ")
    ax.set_ylabel("density ρ(λ)")
    ax.set_ylim(bottom=0.0)
    # the grid may reach far beyond the support (a Levy-Khintchine grid spans 100x the largest jump):
    # show the support, the atoms and the histograms, not the empty grid
    shown = [a for a in (x[_inside(rho)], pos[w > 0], observed, truth) if a is not None and np.size(a)]
    if shown:
        lo, hi = (f(np.concatenate([np.ravel(a) for a in shown])) for f in (np.min, np.max))
        pad = 0.05 * (hi - lo) if hi > lo else 0.5
        ax.set_xlim(lo - pad, hi + pad)
    if pos.size:
        return _stems(ax, pos, w)
    return ax


def _inside(rho):
    """Grid points in a bulk: density above 1e-12 of its peak (round-off outside the support is not a bulk)."""
    return rho > 1e-12 * max(float(rho.max()), 1e-300)


def _support_rug(ax, x, rho, label: bool = True):
    """The bulks (runs of positive density on the grid) as a thin band along the bottom of the Axes:
    a bulk of small mass far from the rest (an outlier group) stays visible whatever its density."""
    inside = _inside(rho)
    if not inside.any():
        return
    d = np.diff(np.concatenate([[0], inside.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1
    trans = ax.get_xaxis_transform()
    for k, (i, j) in enumerate(zip(starts, stops)):
        lo = 0.5 * (x[i - 1] + x[i]) if i > 0 else x[i]  # half a grid step out: a one-point bulk stays visible
        hi = 0.5 * (x[j] + x[j + 1]) if j + 1 < x.size else x[j]
        ax.fill_between([lo, hi], 0.0, 0.012, transform=trans, color="C3", alpha=0.35, lw=0, zorder=0.5, label="support (bulks)" if k == 0 and label else None, gid="support")


def _stems(ax, pos, w, xs=None):
    """Atoms as stems on a twin y axis on the right, 'atom weight' from 0 to 1: the stem's height is
    the fraction of eigenvalues the atom holds (atoms and densities have different units)."""
    xs = pos if xs is None else xs
    twin = ax.twinx()
    twin.set_ylim(0.0, 1.0)
    twin.set_ylabel("atom weight (fraction of eigenvalues)")
    twin.vlines(xs, 0.0, w, colors="k", lw=2.0, label="atoms (right axis: weight)", gid="atoms")
    twin.plot(xs, w, "o", color="k", ms=5)
    for xa, pa, wa in zip(xs, pos, w):
        twin.annotate(f"{wa:.3g} at {pa:.3g}", (xa, wa), xytext=(4, 2), textcoords="offset points", fontsize="small")
    return twin


def _log_hist(ax, data, bins, label, **kw):
    """Histograms of ln|data| per unit ln|λ|, one per sign present (folded like the curves; the
    area of each is the fraction of the eigenvalues it holds)."""
    for part, name, ls in ((data[data > 0], "λ > 0", "-"), (-data[data < 0], "λ < 0, folded", "--")):
        if part.size == 0:
            continue
        edges = _hist_edges(bins, part, log=True)
        counts, _ = np.histogram(part, bins=edges)
        both = np.any(data > 0) and np.any(data < 0)
        ax.stairs(counts / (data.size * np.diff(np.log(edges))), edges, ls=ls, label=f"{label}, {name}" if both else label, **kw)


def _draw_log(ax, x, rho, pos, w, observed, truth, bins):
    ax.set_xscale("log")
    signed = {"λ > 0": x > 0, "λ < 0 (folded, |λ|)": x < 0}
    styles = {"λ > 0": "-", "λ < 0 (folded, |λ|)": "--"}
    absx = np.abs(x)
    if truth is not None:
        _log_hist(ax, truth, bins, f"true |λ| (n = {truth.size:,})", fill=True, alpha=0.35, color="C0")
    if observed is not None:
        _log_hist(ax, observed, bins, f"observed |λ| (m = {observed.size:,})", color="C2")
    total = _trapz(rho, x)
    for name, sel in signed.items():
        part = _trapz(rho[sel], x[sel])
        if not abs(part) > 1e-6 * max(abs(total), 1e-300):  # no mass on this side (rounding only)
            continue
        order = np.argsort(absx[sel])
        ax.plot(absx[sel][order], (absx * rho)[sel][order], styles[name], color="C3", lw=1.8, label=f"predicted, {name}", gid="density")
        _support_rug(ax, absx[sel][order], rho[sel][order], label=name == "λ > 0" or not np.any(x > 0))
    ax.set_xlabel("|λ| (log scale)")
    ax.set_ylabel("density per unit ln|λ|:  |λ| ρ(λ)")
    ax.set_ylim(bottom=0.0)
    if np.any(pos == 0):
        w0 = float(w[pos == 0].sum())
        ax.plot([], [], " ", label=f"atom at 0 of weight {w0:.3g} (off the log axis)")
    nz = pos != 0
    if np.any(nz):
        return _stems(ax, pos[nz], w[nz], xs=np.abs(pos[nz]))
    return ax


def plot_edges(spec, sizes, *, ax=None, log: bool = False):
    r"""Draw the support of the predicted law across matrix sizes: the bulks' edges against $n$.

    Each size is decompressed on its own grid, as fine as the spectrum's and covering the
    support at that size (the law's `grid`), and its bulks read off with Newton-refined edges
    ([`Spectrum.support`][]): a support need not contain the earlier ones (a Gram matrix's bulk
    moves away from 0 as its atom grows). Each bulk at
    each size is a shaded band reaching halfway (in $\log n$) to the neighbouring sizes, with
    its lower and upper edges as markers: bulks that split or merge, and edges that move,
    show as the band's shape. The horizontal axis is $n$ on a log scale, the vertical axis
    the eigenvalue (`log=True`: a `symlog` scale for signed spectra, `log` otherwise).

    **Returns:** the matplotlib Axes.
    """
    _single(spec, "plot_edges")
    sizes = np.sort(np.atleast_1d(np.asarray(sizes, dtype=float)))
    if sizes.size == 0 or not np.all(np.isfinite(sizes)) or np.any(sizes <= 0):
        raise ValueError(f"sizes must be a non-empty array of positive sizes; got {sizes!r}.")
    ax = _axes(ax)
    # one size at a time, each on a grid of the prediction's length: every solve reuses the program
    # compiled for the prediction itself, where a batched solve would compile a new one (on a CPU
    # the compilation, tens of seconds, dwarfs a dozen solves)
    points = np.asarray(spec.x).shape[0]

    def at(size):
        return type(spec).on_grid(spec.law, spec.kind, float(size), points, spec.solver).support()

    edges = [at(size) for size in sizes]
    ls = np.log(sizes)
    if sizes.size > 1:
        mid = np.exp(0.5 * (ls[1:] + ls[:-1]))
        left = np.concatenate([[np.exp(ls[0] - 0.5 * (ls[1] - ls[0]))], mid])
        right = np.concatenate([mid, [np.exp(ls[-1] + 0.5 * (ls[-1] - ls[-2]))]])
    else:
        left, right = sizes / 1.05, sizes * 1.05
    lows, highs, ns = [], [], []
    for k, bulks in enumerate(edges):
        bulks = np.asarray(bulks, dtype=float).reshape(-1, 2)
        for lo, hi in bulks:
            ax.fill_between([left[k], right[k]], lo, hi, color="C0", alpha=0.3, lw=0, label="support" if not ns else None)
            lows.append(lo)
            highs.append(hi)
            ns.append(sizes[k])
    ax.plot(ns, lows, "v", color="C0", ms=4, ls="none", label="lower edges", gid="lower_edges")
    ax.plot(ns, highs, "^", color="C3", ms=4, ls="none", label="upper edges", gid="upper_edges")
    n0 = getattr(spec.law, "n0", None)
    if n0 is not None:
        ax.axvline(float(np.asarray(n0)), color="0.5", ls=":", lw=1, label=f"observed m = {float(np.asarray(n0)):,.0f}")
    ax.axvline(float(np.asarray(spec.size)), color="0.2", ls="--", lw=1, label=f"n = {float(np.asarray(spec.size)):,.0f}")
    ax.set_xscale("log")
    if log:
        values = np.concatenate([lows, highs]) if ns else np.ones(1)
        if np.all(values > 0):
            ax.set_yscale("log")
        else:
            nz = np.abs(values[values != 0])
            ax.set_yscale("symlog", linthresh=float(nz.min()) if nz.size else 1.0)
    ax.set_xlabel("matrix size n (log scale)")
    ax.set_ylabel("eigenvalue λ")
    ax.set_title("support of the predicted spectrum across sizes")
    ax.legend(loc="best", fontsize="small")
    return ax
