"""[`Report`][]: why [`predict`][] chose its model, candidate by candidate ([`CandidateReport`][])."""

import dataclasses

from ._freeness import EXCESS_TOL


@dataclasses.dataclass(frozen=True)
class CandidateReport:
    """One candidate model: what it is, its check figures at size $n$, and the verdict."""

    model: str
    score: float | None = None  # the degree score of a curve of automatic degrees (see fit_with_diagnostics)
    validated: float | None = None  # validated extrapolation error (m/4 and m/2 -> m, `_validate.py`) of a ranked candidate
    failed_points: int | None = None
    mass: float | None = None
    moment_error: float | None = None  # max |e_k|, standard units
    fit_ks: float | None = None  # KS distance to the observed eigenvalues at the observed size (chosen candidate)
    verdict: str = ""


@dataclasses.dataclass(frozen=True)
class Report:
    """Why [`predict`][] chose its model: every candidate, its figures, the verdict."""

    chosen: str
    candidates: tuple[CandidateReport, ...]
    zero_rows: int = 0
    sampling_ks: float | None = None  # the KS that m independent samples of the true law stay below (reference for fit KS)
    compression: tuple[float, float, float, bool] | None = None  # a matrix input's `_freeness.compression_excess`

    def __str__(self) -> str:
        head = f"chosen: {self.chosen}" + (f" (plus {self.zero_rows} zero rows kept as a fixed atom at 0)" if self.zero_rows else "")
        if self.compression is not None:
            excess, ks, level, profile = self.compression
            head += (
                f"\n  free compression: the matrix's principal submatrices of a quarter of its size are at KS {ks:.3f} from free compressions"
                f"{' with the diagonal profile' if profile else ''} ({level:.3f} between two compressions: excess {excess:.3f}, at most {EXCESS_TOL:g})"
            )
        if self.sampling_ks is not None:
            head += f"\n  fit KS: the chosen law at the observed size against the eigenvalues; {self.sampling_ks:.3f} is what sampling explains"
        rows = [f"  {'model':32s} {'score':>9s} {'validated':>9s} {'failed':>6s} {'mass':>8s} {'moments':>8s} {'fit KS':>7s}  verdict"]
        fmt = lambda v, f: "-".rjust(int(f.rstrip("defg").split(".")[0])) if v is None else format(v, f)  # noqa: E731
        for c in self.candidates:
            rows.append(
                f"  {c.model:32s} {fmt(c.score, '9.2e')} {fmt(c.validated, '9.4f')} {fmt(c.failed_points, '6d')} {fmt(c.mass, '8.4f')} {fmt(c.moment_error, '8.2g')} {fmt(c.fit_ks, '7.4f')}  {c.verdict}"
            )
        return "\n".join([head, *rows])
