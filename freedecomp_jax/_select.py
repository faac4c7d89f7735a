r"""The model choice of [`predict`][] and [`eigvalsh`][]: candidates in, a checked law and a [`Report`][] out.

Candidates come in tiers, tried in order: (1) algebraic curves of automatic degrees (the first
`max_tries` on the score plateau of [`fit_with_diagnostics`][] are refined) or of the given degrees;
(2) for [`Free`][] decompression, the free Lévy–Khintchine law ([`fit_levy`][], with the diagonal
profile when the matrix is given); for [`Deformed`][]`(ratio)` (a Gram matrix of $q = n_0/$`ratio`
features) tier (1) also holds that law fitted with the rank $q$, once per model of the unseen
population ([`PowerLawTail`][], [`ImposedRate`][]); (3) beside isolated outliers, curves fitted to the
rest, one at a time. Each candidate is decompressed to size $n$ on a grid covering its support and
**checked**: no failed grid point, unit mass and the exact moments at size $n$ (see
[`Spectrum.moment_errors`][]) within `CHECK_TOL` (for the Gram models, a miss of mass or moments is
re-solved once on a 4x finer grid before it counts). In the first tier where candidates pass, the one
of smallest **validated extrapolation error** is returned (`_validate.py`: refitted to sub-submatrices
of sizes $m/4$ and $m/2$, decompressed to $m$, scored against the $m$ observed eigenvalues) when the
input is a matrix, and for the Gram models (from free compressions when only eigenvalues are given);
otherwise, and between candidates that cannot be validated, the first in the tier's order (fewest
branch points first, see `fit_with_diagnostics`). Free compressions do not rank curves of eigenvalues alone: on the NTK they prefer
(1, 3) to (2, 2), which predicts every larger true size better (docs/method.md, "Validated
extrapolation"). They **gate** them instead: from eigenvalues alone a candidate of automatic degrees
that passes its check is kept only if it decompresses (`_validate.decompresses`: refitted to each
compression, decompressed to $m$ and checked there, its mean error beats that of the best of the
spectrum as is, rescaled and Nyström from the same compressions); the first in order that does is
returned (docs/method.md, "Compressions as a gate"). A candidate that passes alone is not validated unless the report is asked for. The report
(`return_report=True`) lists every candidate with its figures and why it was chosen or passed over,
with the chosen law's Kolmogorov–Smirnov distance to the eigenvalues at the observed size
(`_goodness.py`: a figure, not a gate); that figure (a second solve), a lone candidate's validated
error and the listing of the candidates not tried (by name and degree score: listing does not fit
them) are computed only then. A matrix with zero rows is $0_k \oplus B$ ([`ZeroRows`][]): the candidates model $B$.
Where the chosen law is the free Lévy–Khintchine law of an unknown rank and its unconstrained total rate
would put a larger atom at 0 at size $n$ (by more than one eigenvalue in $n$), the report's note and a
`UnidentifiedRankWarning` give both atoms: the data leave the rank of the $n \times n$ matrix open (`_report.rank_note`).
A matrix input is first checked to be a free compression one scale down (`_freeness.py`): where its
principal submatrices of size $m/4$ are not free compressions of it, with or without its diagonal
profile, no candidate is tried and `ValueError` says why (the report states the figure otherwise).

**Outliers** ([`Spikes`][], docs/method.md, "Outliers"), under [`Free`][] decompression: a curve of
the given degrees describes the bulk, with the isolated outliers kept as a finite-rank part (a
curve fitted to the whole spectrum matches their moments and passes its check with a law 20x too
wide). With automatic degrees, curves fitted to the bulk come last, after the Lévy–Khintchine law
(which models outliers as its jumps): only where every other candidate failed. A curve fitted to
a bulk passes a check that cannot see how it extrapolates: placed first, a (1, 3) curve fitted
beside 8 outliers of a tanh network's Gauss–Newton matrix was chosen at KS 0.87, where the
Lévy–Khintchine law gives 0.37. So these curves, and the Lévy–Khintchine law of eigenvalues alone,
are gated as above (refitted to each draw, a curve beside the draw's own outliers); given the matrix,
the law with its diagonal profile is not: its refits would cost 2.5 times the whole prediction (a
745 x 745 random-feature Gram: 8.6 -> 21.7 s). docs/method.md, "Outliers", has the figures.
"""

import dataclasses
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from . import _arguments as arguments
from ._check import check
from ._curve_solve import CurveSolver
from ._custom_types import Array, ArrayLike, Float, Real, Shaped
from ._fit import _fit_candidate, _fit_fixed, curve_candidates
from ._fit_config import FitConfig
from ._fit_problem import zero_tolerance
from ._fit_refine import _data_jit
from ._freeness import EXCESS_TOL, compression_excess, not_free_message
from ._goodness import fit_distance, kolmogorov_bound
from ._inputs import _check_spectrum, _Inputs, _parse_inputs, _Spectrum
from ._kinds import AbstractDecompression, Deformed, Free
from ._law import AbstractSpectralLaw
from ._levy_fit import ImposedRate, LevyConfig, PowerLawTail, fit_levy, fit_levy_step
from ._pipeline import predict_traced
from ._report import CandidateReport, Report, UnidentifiedRankWarning, rank_note
from ._results import RESULTS, failed
from ._shifted import Shifted, frame, shifted_inputs
from ._spectrum import Spectrum
from ._spikes import Spikes, without_outliers
from ._validate import Draw, decompresses, draws, padded, slots, validated_error
from ._x64 import check_x64, is_concrete
from ._zero_rows import ZeroRows, zero_rows


def _check(spec: Spectrum) -> tuple[str | None, dict]:
    """What is wrong with a prediction (failed points, mass, moments: `_check.check`), or None; and its figures."""
    result, mass, error, bad_points = check(spec)
    figures: dict[str, Any] = dict(failed_points=int(bad_points))
    if figures["failed_points"]:
        bad = np.asarray(failed(spec.result))
        flat = np.flatnonzero(bad.reshape(-1))
        codes = np.asarray(spec.result._value).reshape(-1)[flat]
        firsts = flat[np.unique(codes, return_index=True)[1]]
        msgs = [RESULTS[jax.tree.map(lambda v: jnp.reshape(v, (-1,))[k], spec.result)] for k in firsts]
        return f"{int(bad.sum())} grid points failed ({' / '.join(msgs)})", figures
    figures.update(mass=float(mass), moment_error=float(error))
    if result == RESULTS.mass_off:
        return f"total mass {figures['mass']:.4f} instead of 1 (the law left the physical branch, or the grid misses part of the support)", figures
    if result == RESULTS.moments_off:
        return f"moments miss the exact ones by {figures['moment_error']:.2g} standard units (the law left the physical branch, or the grid misses part of the support)", figures
    return None, figures


def _solve_checked(law, kind, n: int, grid_size: int, solver, refine: bool) -> tuple[Spectrum, str | None, dict]:
    """The law at size `n` on its grid, checked (`_check`). With `refine` (candidates ranked by
    validation, whose quality the validation judges), a miss of mass or moments with no failed point
    is first re-solved on a 4x finer grid, so a grid too coarse for a rugged law is not taken for a
    law off its physical branch. The default candidates keep the plain check (the Lévy–Khintchine
    law's grid shares its points by mass and moments, `LevyKhintchine.grid`; fitted to eigenvalues alone,
    the law passes only through the validation gate)."""
    for size in (grid_size, 4 * grid_size) if refine else (grid_size,):
        spec = Spectrum.on_grid(law, kind, float(n), size, solver)
        problem, figures = _check(spec)
        if problem is None or figures["failed_points"] > 0:
            break
    return spec, problem, figures


def _fit_ks(law: AbstractSpectralLaw, spec: Spectrum, base, grid_size: int) -> float:
    """KS distance of `law` (fitted to `base`) at the observed size to those eigenvalues, on the law's grid of `grid_size` points there (`_goodness.py`)."""
    at_n0 = Spectrum.on_grid(law, spec.kind, float(law.n0), grid_size, spec.solver)
    return float(fit_distance(at_n0, base.eigs, base.weights, zero_tolerance(base.eigs, base.weights, base.eps)))


def _name(law: AbstractSpectralLaw | None, deg=None) -> str:
    if deg is not None:
        return f"SpectralCurve{tuple(deg)}"
    scales = getattr(law, "scales", None)
    return type(law).__name__ + (" + diagonal profile" if scales is not None else "")


@dataclasses.dataclass(frozen=True)
class _Candidate:
    """A model to try: its name, the law (None: not fitted, `why`; or fitted by `fit` when it is
    tried, so that listing it costs nothing; `fit` returns the law, None for a fit that failed, `why`,
    and `floor`), the kind that decompresses it, whether it models the bulk without the outliers,
    `refit`: the same model fitted to a validation draw (with its kind), for candidates ranked by
    validated extrapolation, and `floor`: for the Lévy–Khintchine law of an unknown rank, the law of
    its unconstrained total rate (`_levy_fit.LevyFit`), which the report compares with it."""

    name: str
    law: AbstractSpectralLaw | None
    kind: AbstractDecompression
    score: float | None = None
    why: str = ""
    of_bulk: bool = False
    refit: Callable[[Draw], tuple[AbstractSpectralLaw, AbstractDecompression]] | None = None
    fit: Callable[[], tuple[AbstractSpectralLaw | None, AbstractSpectralLaw | None]] | None = None
    gated: bool = False  # passes only if its validated error beats the baselines' (`_validate.decompresses`)
    ranks: bool = True  # with a refit: ranked by its validated error against the others of its tier (else the first that passes is taken)
    floor: AbstractSpectralLaw | None = None

    def fitted(self) -> "_Candidate":
        """The candidate with its law (and floor) fitted by `fit`, if it has one."""
        if self.fit is None:
            return self
        law, floor = self.fit()
        return dataclasses.replace(self, law=law, floor=floor, fit=None)


def _gram_tier(inputs, matrix, kind: Deformed, levy_config, curves: list[_Candidate]) -> list[_Candidate]:
    r"""The models of a Gram matrix of $q = n_0/$`ratio` features: the valid curves of automatic
    degrees (`curves`, refitted with their degrees on each draw and decompressed by `Deformed`), and
    the Lévy–Khintchine law of rank $q$ once per unseen model (decompressed freely: exact for this
    law, `_levy_fit.py`)."""
    q = float(inputs.n0) / float(kind.ratio)
    out = []
    for curve in curves:
        assert curve.refit is not None
        out.append(dataclasses.replace(curve, refit=lambda d, refit=curve.refit: (refit(d)[0], Deformed(d.size / q))))
    m = inputs.base.eigs.shape[0]
    for unseen in (PowerLawTail(), ImposedRate()):

        def fit(x, size, weights=None, unseen=unseen):
            return fit_levy(x, size, weights=weights, rank=q, unseen=unseen, config=levy_config)

        law = fit(matrix, inputs.n0) if matrix is not None else fit(inputs.base.eigs, inputs.n0, inputs.base.weights)

        def refit(d, fit=fit):  # a draw's eigenvalues in the observed slots: the refits share the fit's compilation
            return (fit(d.matrix, d.size) if d.matrix is not None else fit(*slots(d, m))), Free()

        out.append(_Candidate(f"{_name(law)} (rank {q:.0f}, {type(unseen).__name__})", law, Free(), refit=refit))
    return out


def _curves(inputs, kind, deg, log, fit_config, k: int, validate: bool = False) -> Iterator[_Candidate]:
    """The curves fitted to `inputs` (the given degrees, else automatic ones in order), `k` outliers
    set aside from them; with `validate`, those of automatic degrees carry their refit (same degrees
    and mode). Automatic curves beside outliers are gated (`_Candidate.gated`): refitted to each
    draw's bulk with the draw's own outliers set aside."""
    c = frame(inputs, kind, log, fit_config)
    framed = shifted_inputs(inputs, c) if c else inputs
    place = (lambda curve: Shifted(curve, c)) if c else (lambda curve: curve)
    aside = f" + {k} outlier{'s' if k > 1 else ''}" if k else ""
    if deg is not None:
        curve, _ = _fit_fixed(framed, deg, log, fit_config)
        yield _Candidate(_name(curve, deg) + aside, place(curve), kind, of_bulk=k > 0)
        return
    b = framed.base
    mode = bool(_data_jit(b.eigs, b.weights, log, b.eps, fit_config).log)
    m = int(np.asarray(b.eigs).shape[0])
    for cand in curve_candidates(framed, log, fit_config):
        name = _name(None, cand.deg) + aside
        if cand.refine is None:
            yield _Candidate(name, None, kind, cand.score, "not refined (score off the plateau, or max_tries reached)")
            continue

        def fit(refine=cand.refine):  # refined when tried
            curve, diag = refine()
            return (place(curve) if bool(diag.valid) else None), None

        def refit(d, deg=cand.deg):
            return place(_fit_candidate(padded(d, m, b.eps, c), deg, mode, fit_config)[0]), kind

        def refit_beside(d, deg=cand.deg):  # the draw's outliers set aside as the observed ones were
            bulk_d, out_d = without_outliers(_Inputs(_Spectrum(np.sort(d.eigs), np.ones(d.size), b.eps, 0.0), float(d.size), (), ()))
            curve = next(_curves(bulk_d, kind, deg, mode, fit_config, out_d.size)).law
            assert curve is not None
            return (Spikes(curve, out_d, d.size) if out_d.size else curve), kind

        why = "refined curve has no valid physical branch"
        if k:
            yield _Candidate(name, None, kind, cand.score, why, of_bulk=True, refit=refit_beside, fit=fit, gated=True)
        else:  # ranked by validation (a matrix's sub-submatrices), or gated (free compressions of eigenvalues)
            yield _Candidate(name, None, kind, cand.score, why, refit=refit, fit=fit, gated=not validate, ranks=validate)


def _tiers(inputs, bulk, matrix, kind, deg, log, fit_config, levy_config) -> Iterator[Iterable[_Candidate]]:
    """The candidates in tiers, tried in order (module docstring); within a tier the candidates that
    pass their check are ranked by validated extrapolation (those with a `refit`), or the first that
    passes is taken."""
    k = int(round(float(inputs.n0) - float(bulk.n0)))
    if deg is not None:  # the curve of the given degrees describes the bulk
        yield list(_curves(bulk, kind, deg, log, fit_config, k))
        return
    # ranked by validation where the draws are the matrix's own sub-submatrices (docs/method.md,
    # "Validated extrapolation": free compressions of eigenvalues misrank the NTK's curves)
    curves = _curves(inputs, kind, None, log, fit_config, 0, matrix is not None or isinstance(kind, Deformed))
    if isinstance(kind, Deformed):  # the valid curves are ranked with the Levy laws of rank q
        fitted = [c.fitted() for c in curves]
        valid = [c for c in fitted if c.law is not None]
        yield [c for c in fitted if c.law is None] + _gram_tier(inputs, matrix, kind, levy_config, valid)
        return
    yield curves  # lazily: each curve is refined when it is tried (listing it as not tried costs nothing)
    if matrix is not None:  # keeps the diagonal profile (a positive diagonal: fit_levy)
        levy = lambda: fit_levy_step(matrix, inputs.n0, config=levy_config)  # noqa: E731
        name = "LevyKhintchine + diagonal profile" if np.all(np.diagonal(matrix) > 0) else "LevyKhintchine"
    else:
        levy = lambda: fit_levy_step(inputs.base.eigs, inputs.n0, weights=inputs.base.weights, config=levy_config)  # noqa: E731
        name = "LevyKhintchine"
    fit = lambda: levy()[:2]  # noqa: E731  (the law and its floor: the report says what the rank does)
    m = inputs.base.eigs.shape[0]

    def refit(d):  # eigenvalues alone are gated; a draw's eigenvalues in the observed slots share the fit's compilation
        eigs, n0, w = slots(d, m)
        return fit_levy(eigs, n0, weights=w, config=levy_config), kind

    yield [_Candidate(name, None, kind, fit=fit, refit=refit if matrix is None else None, gated=matrix is None)]
    if k:  # the last resort, one at a time: a curve fitted to the bulk passes a check that cannot see how it extrapolates
        yield from ([c] for c in _curves(bulk, kind, None, log, fit_config, k))


def _choose(x, n: int, kind, deg, n0, log, weights, fit_config, levy_config, grid_size, solver, full_report: bool) -> tuple[Spectrum, Report]:
    """The best-validated candidate of the first tier in which one passes its check, and the report.
    Only when `full_report` (the caller returns the report): the chosen law's fit KS (a solve at the
    observed size, as costly as the check), its validated error when nothing else needed it, and
    the listing of the candidates not tried (which does not fit them)."""
    zero = zero_rows(x) if not isinstance(x, (Mapping, list, tuple)) else None
    m_all = m_rest = None
    if zero is not None:
        if n0 is not None and float(n0) != zero.size:
            arguments.fail("n0", n0, f"a matrix input has n0 = its size ({zero.size})", f"drop n0 or pass n0={zero.size}")
        keep = ~zero
        m_all = zero.size
        m_rest = int(keep.sum())
        x = np.asarray(x)[np.ix_(keep, keep)]
        kind = kind.without_rows(m_rest / m_all)
    inputs = _parse_inputs(x, n0, weights, fit_config, name="x")
    for s in (inputs.base,) + inputs.joint + inputs.nested:
        _check_spectrum(s, deg if s is inputs.base else None, log, "x")
    matrix = None
    if not isinstance(x, (Mapping, list, tuple)) and np.ndim(np.asarray(x)) == 2 and weights is None:
        matrix = np.asarray(x)
    arguments.matrix_size("n", n, observed=float(m_all or inputs.n0))
    freeness = None
    if matrix is not None:  # free decompression's premise, tested one scale down (`_freeness.py`)
        freeness = compression_excess(matrix, fit_config.seed)
        if freeness[0] > EXCESS_TOL:
            raise ValueError(not_free_message(freeness, matrix.shape[0] // 4))
    zeros = 0 if zero is None else int(zero.sum())
    b = inputs.base
    observed, mask = np.asarray(b.eigs), np.asarray(b.weights)  # weight 0 marks a slot that is not observed
    tol = float(zero_tolerance(b.eigs, b.weights, b.eps))
    samples: dict[str, tuple[Draw, ...]] = {}  # the validation draws, drawn when a ranking first needs them
    gates: dict[str, tuple[float, float]] = {}

    def sample() -> tuple[Draw, ...]:
        if "draws" not in samples:
            samples["draws"] = draws(observed, matrix, fit_config.seed, tol, weights=mask)
        return samples["draws"]

    def gate(c: _Candidate) -> tuple[float, float]:
        assert c.refit is not None
        if c.name not in gates:
            gates[c.name] = decompresses(c.refit, sample(), observed, tol, grid_size, weights=mask)
        return gates[c.name]

    def validated(c: _Candidate) -> float | None:
        if c.refit is None:
            return None
        return gate(c)[0] if c.gated else validated_error(c.refit, sample(), observed, tol, grid_size, weights=mask)

    reports: list[CandidateReport] = []
    bulk, outliers = without_outliers(inputs) if isinstance(kind, Free) else (inputs, np.zeros(0))
    tiers = _tiers(inputs, bulk, matrix, kind, deg, log, fit_config, levy_config)
    for tier in tiers:
        rows: list[CandidateReport | None] = []
        passing = []
        todo = iter(tier)
        rest: Iterable[_Candidate] = ()  # not tried: the first of an unranked tier passed
        for c in todo:
            c = c.fitted()
            if c.law is None:
                rows.append(CandidateReport(c.name, c.score, verdict=f"passed over: {c.why}"))
                continue
            k = outliers.size if c.of_bulk else 0
            law = _with_zero_rows(c.law, m_all, m_rest, k)
            # outliers would dominate the moments: the bulk is checked alone, at its size n - k
            spec, problem, figures = _solve_checked(law, c.kind, n - k, grid_size, solver, isinstance(kind, Deformed))
            if problem is not None:
                rows.append(CandidateReport(c.name, c.score, verdict=f"passed over: {problem}", **figures))
                continue
            if c.gated:
                error, bar = gate(c)
                if not error < bar:
                    why = f"passed over: validated error {error:.3g} does not beat the baselines' {bar:.3g} (the draws' spectra as is, rescaled, Nystrom)"
                    rows.append(CandidateReport(c.name, c.score, error, verdict=why, **figures))
                    continue
            passing.append((len(rows), c, law, spec, figures, k))
            rows.append(None)
            if c.refit is None or not c.ranks:  # not ranked: the first that passes is the answer
                rest = todo
                break
        if not passing:
            reports += [r for r in rows if r is not None]
            continue
        ranked = len(passing) > 1 or full_report  # a lone candidate is validated only for the report
        errors = [validated(c) if ranked else None for _, c, *_ in passing]
        best = min(range(len(passing)), key=[np.inf if e is None else e for e in errors].__getitem__)
        for j, (slot, c, _, _, fig, _) in enumerate(passing):
            why = "chosen" if j == best else f"passed over: validated error {errors[j]:.3g}, above the chosen model's {errors[best]:.3g}"
            rows[slot] = CandidateReport(c.name, c.score, errors[j], verdict=why, **fig)
        slot, chosen, law, spec, figures, k = passing[best]
        if k:
            spec = Spikes(law, outliers, m_all or inputs.n0).around(spec)
        if full_report:  # `fitted` describes the eigenvalues of inputs.base (the block without zero rows)
            fitted = Spikes(chosen.law, outliers, inputs.n0) if k else chosen.law
            rows[slot] = dataclasses.replace(rows[slot], fit_ks=_fit_ks(fitted, spec, b, grid_size))
            rows += [CandidateReport(c.name, c.score, verdict="not tried: an earlier candidate passed") for later in (rest, *tiers) for c in later]
        reports += [r for r in rows if r is not None]
        note = "" if chosen.floor is None else rank_note(law, _with_zero_rows(chosen.floor, m_all, m_rest, k), n - k, int(m_all or inputs.n0))
        if note:
            warnings.warn(note, UnidentifiedRankWarning, stacklevel=_outside_the_package(sys._getframe()))
        report = Report(chosen.name, tuple(reports), zeros, kolmogorov_bound(b.weights), freeness, note)
        return dataclasses.replace(spec, check=RESULTS.successful), report
    report = Report("none", tuple(reports), zeros, compression=freeness)
    raise ValueError(
        f"no candidate model passed its check at n = {n}:\n{report}\n"
        + ("Try deg=None (automatic degrees) or other degrees." if deg is not None else _hint(outliers.size))
    )


def _outside_the_package(frame) -> int:
    """The `stacklevel` of a warning raised in `frame` that points at the first caller outside this package (and
    outside the runtime type checkers that may wrap its functions, as the tests' jaxtyping hook does)."""
    level = 1
    while frame is not None and (
        str(frame.f_globals.get("__name__", "")).startswith(_WRAPPERS) or frame.f_code.co_filename.startswith("<@beartype")
    ):
        frame, level = frame.f_back, level + 1
    return level


_WRAPPERS = (__name__.split(".")[0] + ".", "jaxtyping", "beartype")


def _with_zero_rows(law: AbstractSpectralLaw, m_all: int | None, m_rest: int | None, k: int) -> AbstractSpectralLaw:
    """`law` of the block beside the matrix's zero rows, as the law of the whole matrix (`ZeroRows`), when it has them."""
    return law if m_all is None or m_rest is None else ZeroRows(law, (m_all - m_rest) / (m_all - k), m_all - k)


def _hint(k: int) -> str:
    """What to try when no candidate of automatic degrees passed, `k` outliers set aside."""
    if k:
        return (
            f"The {k} isolated outlier{'s' if k > 1 else ''} of the spectrum did not let any model pass: pass deg=(deg_z, deg_m) "
            "to fit a curve of those degrees to the rest (the outliers are kept as they are, growing like n/m). With automatic "
            "degrees a curve fitted beside them must also predict the observed spectrum from its own smaller samples better "
            "than the spectrum as is, rescaled or Nystrom does ('validated' in the table)."
        )
    return (
        "A model must pass its check at n and, from eigenvalues alone, also predict the observed spectrum from its own "
        "smaller samples better than the spectrum as is, rescaled or Nystrom does ('validated' in the table). Check that "
        "the eigenvalues come from one symmetric matrix, pass deg=(deg_z, deg_m) to take a curve of those degrees, or fit "
        "and decompress a model yourself."
    )


def predict(
    x: Shaped[ArrayLike, "..."] | Mapping | Sequence,
    n: int | Real[ArrayLike, ""],
    kind: AbstractDecompression = Free(),
    *,
    deg: tuple[int, int] | None = None,
    n0: float | None = None,
    log: bool | None = None,
    weights: Float[ArrayLike, " m"] | None = None,
    fit_config: FitConfig = FitConfig(),
    levy_config: LevyConfig = LevyConfig(),
    grid_size: int = 1024,
    solver: CurveSolver = CurveSolver(),
    return_report: bool = False,
    throw: bool = True,
) -> Spectrum | tuple[Spectrum, Report]:
    r"""The checked default pipeline: the [`Spectrum`][] at size $n$ predicted from a small matrix.

    `x`: the eigenvalues `(m,)` of an $m \times m$ principal submatrix, the symmetric matrix
    itself `(m, m)` (then its principal submatrices must be free compressions of it, checked at size
    $m/4$, else `ValueError`; its nested submatrices validate the degrees, its zero rows are kept as a
    fixed atom and its diagonal profile serves the Lévy–Khintchine law), or eigenvalues of several
    nested sizes `{size: eigs}`; integer and float32 arrays are accepted and converted to float64
    (a float32 input's exact zeros are judged at float32's precision). `n`: an integer (or an
    integral float) $\ge$ the observed size. `deg`, `n0`, `log`, `weights`, `fit_config`: as in [`fit`][];
    `levy_config`: as in [`fit_levy`][]; `kind`: [`Free`][]`()` or [`Deformed`][]`(ratio)`. Pass
    `Deformed(m / q)` for a Gram matrix $XX^\top$ of $q$ features when you know $q$: an atom $1 - q/n$ at 0 is then born past $n = q$.

    Candidates are tried in tiers (see the module docstring of `_select.py`); a prediction passes
    its check with no failed grid point, unit mass and the exact moments at size $n$ within 1e-2,
    and among the candidates of a tier that pass, the first (fewest branch points first) that, from
    eigenvalues alone, also predicts the observed spectrum from its free compressions better than
    the spectrum as is, rescaled or Nyström does, or, for a matrix input, the one that best predicts
    the observed spectrum from its own random submatrices of sizes $m/4$ and $m/2$ (validated
    extrapolation, docs/method.md) is returned. Isolated outliers (at most $\sqrt m$ eigenvalues farther from
    the rest than the rest is wide) are set aside from the fit of a curve of the given degrees (with
    automatic degrees: of the last candidates) and kept as that many eigenvalues growing like $n/m$
    ([`Spikes`][]). `return_report=True` also returns the [`Report`][] of every
    candidate. No candidate passing raises `ValueError` with that report. Where the observed eigenvalues
    leave the rank of the $n \times n$ matrix open (the free Lévy–Khintchine law fits them nearly as well
    with a lower total rate, which puts a larger atom at 0 at size $n$), an [`UnidentifiedRankWarning`][]
    and the report's `note` say so, with both atoms. Deterministic: the
    random nested submatrices of a matrix input are drawn from `fit_config.seed` (default 0), so
    the same input gives the same bits in every call and every process. The returned spectrum's
    `check` is `RESULTS.successful`.

    **Under `jax.jit`, `jax.vmap`, `jax.grad`** (a traced `x`): the eigenvalues `(m,)` with automatic or
    given degrees, or the matrix `(m, m)` with `deg` (diagonalised in the program, its zero rows set
    aside); `n` and `grid_size` stay Python integers. The curve of the given degrees, or every candidate
    curve of automatic degrees side by side (the first valid one that passes is returned; else the free
    Lévy–Khintchine law of the spectrum's sign, checked and gated by its refits to free compressions as above;
    a spectrum where none passes reports `RESULTS.no_model_passed`), is fitted, solved on a grid covering its
    support at size $n$ and checked as above, in one compiled program (`_pipeline.py`, `_traced_choice.py`; with
    the degrees given, isolated outliers are set aside as above, in $2\sqrt m$ fixed slots; with automatic degrees
    the last tier, curves beside outliers, is not tried, nor is a matrix checked to be a free compression); `n` may
    then be traced too (a ragged batch, each spectrum to its own size). `throw=True`
    raises the check's message at run time; `throw=False` returns it in `Spectrum.check`, one
    [`RESULTS`][] item per spectrum, so one bad spectrum of a batch never aborts the others.
    """
    check_x64()
    if is_concrete(n):
        arguments.matrix_size("n", n)
    arguments.kind("kind", kind)
    if deg is not None:
        deg = arguments.degrees(deg)
    grid_size = arguments.integer("grid_size", grid_size, lower=16, fix="pass the number of grid points, e.g. grid_size=1024")
    if not is_concrete(x, n0, weights, n):
        if return_report:
            raise ValueError("return_report=True is plain Python (the report is text); under jit/vmap/grad read Spectrum.check instead.")
        return predict_traced(x, n, kind, deg, n0, log, weights, fit_config, levy_config, grid_size, solver, throw)
    spec, report = _choose(x, arguments.matrix_size("n", n), kind, deg, n0, log, weights, fit_config, levy_config, grid_size, solver, return_report)
    return (spec, report) if return_report else spec


def eigvalsh(
    x: Shaped[ArrayLike, "..."] | Mapping | Sequence,
    n: int | Real[ArrayLike, ""],
    kind: AbstractDecompression = Free(),
    **options,
) -> Float[Array, " n"]:
    r"""Predicted eigenvalues of the $n \times n$ matrix from a small one: `predict(x, n, kind, **options).eigvalsh(n)`,
    the $n$ quantiles $Q((k - \frac12)/n)$ of the predicted law (atoms included; a matrix's zero rows
    keep their share of zeros). Same arguments as [`predict`][]."""
    if not is_concrete(n):
        raise ValueError("eigvalsh returns n eigenvalues, so n must be a Python integer (static under jit); for a traced size use predict(x, n, ...).")
    n = arguments.matrix_size("n", n)
    spec = predict(x, n, kind, **options)
    assert isinstance(spec, Spectrum)
    return spec.eigvalsh(n)

