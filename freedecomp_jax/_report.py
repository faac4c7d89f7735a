"""[`Report`][]: why [`predict`][] chose its model, candidate by candidate ([`CandidateReport`][]), and what the data leave open."""

import dataclasses
import math

import numpy as np

from ._freeness import EXCESS_TOL
from ._kinds import Free
from ._law import AbstractSpectralLaw


class UnidentifiedRankWarning(UserWarning):
    """Raised by [`predict`][] and [`eigvalsh`][] where the observed eigenvalues leave the rank of the
    $n \times n$ matrix open: the free Lévy–Khintchine law fits them nearly as well with a lower total
    rate, which puts a larger atom at 0 at size $n$ (`Report.note` has the same text). If the matrix is a
    Gram matrix $XX^\top$ of $q$ features, pass `kind=fdj.Deformed(m / q)`; to silence it,
    `warnings.simplefilter("ignore", fdj.UnidentifiedRankWarning)`."""


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
    note: str = ""  # what the data leave open about the chosen law (`rank_note`), also given as a warning

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
        return "\n".join([head, *rows] + ([f"  note: {self.note}"] if self.note else []))


def _atom_at_zero(law: AbstractSpectralLaw, n: int) -> float:
    """The weight of `law`'s atoms at 0 at size `n`."""
    pos, w = (np.asarray(v) for v in law.evolve(math.log(n / float(law.n0)), Free()).atoms())
    return float(np.sum(np.where(pos == 0.0, w, 0.0)))


def rank_note(law: AbstractSpectralLaw, floor: AbstractSpectralLaw, n: int, m: int) -> str:
    r"""What the Lévy–Khintchine law of an unknown rank leaves open (`_levy_fit.py`, "The total rate is not
    identified"), if its atom at 0 at size `n` is more than one eigenvalue in `n` below that of the law of
    its unconstrained total rate `floor`; else "". The rate the data leave free decides how many of the $n$
    eigenvalues are exact zeros, that is the rank of the $n \times n$ matrix between $m$ and $n$."""
    kept, low = _atom_at_zero(law, n), _atom_at_zero(floor, n)
    if not low - kept > 1.0 / n:
        return ""
    return (
        f"the {m} observed eigenvalues do not fix the rank of the {n} x {n} matrix: the free Levy-Khintchine law fits them "
        f"nearly as well over a range of total rates, from its unconstrained fit's (an atom of {low:.3f} at 0 at size {n}) to "
        f"the returned law's (an atom of {kept:.3f}: the default takes the highest rate on that plateau, so that no zero "
        "eigenvalues are born unless the data insist). If the matrix is a Gram matrix X X^T of q features (a Gauss-Newton "
        "matrix: samples x outputs; an activation Gram matrix: the layer's width; random features: their number), pass "
        "kind=fdj.Deformed(m / q)."
    )
