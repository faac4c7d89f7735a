"""`_report.py`: what `predict`'s report says about the chosen law, and the warning for a rank the data do not fix."""

import re
import warnings

import numpy as np
import pytest

import freedecomp_jax as fdj
from freedecomp_jax._levy_fit import fit_levy_step
from freedecomp_jax._report import rank_note


def _power_law_gram(seed: int, n: int, q: int, m: int):
    """A Gram matrix X X^T / q of n rows and q features with population eigenvalues i^-1.5 (a spectrum
    over decades, which no algebraic curve of the default degrees fits), its full spectrum, and the
    eigenvalues of a random principal submatrix of m rows."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, q)) * np.arange(1, q + 1) ** -0.75
    a = x @ x.T / q
    idx = rng.permutation(n)[:m]
    return np.linalg.eigvalsh(a), np.linalg.eigvalsh(a[np.ix_(idx, idx)])


def test_a_rank_the_data_do_not_fix_is_reported_and_warned():
    """q = 600 features, 150 rows observed, predicted at n = 1200 with defaults: the free Levy-Khintchine
    law is chosen, and its total rate is not fixed by the 150 eigenvalues (the ladder keeps a step above
    the unconstrained rate). `predict` warns, and the report carries the same note, with the atom at 0
    at n of the returned law (checked against the share of exact zeros among its n quantiles) and of the
    unconstrained fit (checked against the closed form 1 - R* m/n of `fit_levy` without a ladder). The
    truth's atom, 1 - q/n = 0.5 (exact: the dense spectrum's zeros), lies between the two: the data allow it.
    The curve tier is limited to degrees up to (1, 2) (none passes on these decades either way): the subject
    is the law that follows it, and the smaller tier compiles in 12 s less."""
    n, q, m = 1200, 600, 150
    full, small = _power_law_gram(0, n, q, m)
    with pytest.warns(fdj.UnidentifiedRankWarning, match="do not fix the rank") as caught:
        spec, report = fdj.predict(small, n, return_report=True, fit_config=fdj.FitConfig(max_deg_z=1, max_deg_m=2))
    assert report.chosen == "LevyKhintchine"
    assert report.note == str(caught[0].message) and report.note in str(report)
    assert caught[0].filename == __file__  # the warning points at the caller's line, not into the library
    low, kept = (float(v) for v in re.search(r"an atom of ([0-9.]+) at 0 at size 1200\) to the returned law's \(an atom of ([0-9.]+):", report.note).groups())
    zeros = np.mean(np.asarray(spec.eigvalsh(n)) == 0.0)
    assert abs(zeros - kept) <= 2.0 / n + 5e-4
    unconstrained = fdj.fit_levy(small, config=fdj.LevyConfig(rate_steps=0))
    assert low == pytest.approx(max(0.0, 1.0 - float(np.sum(unconstrained.rates)) * m / n), abs=5e-4)
    truth = np.mean(np.abs(full) <= n * np.finfo(float).eps * full.max())
    assert truth == pytest.approx(1 - q / n, abs=1.0 / n)
    assert kept < truth < low


def test_no_note_where_the_data_fix_the_rate():
    """Marchenko-Pastur of ratio 1/2 at m = 400 (`fit_levy` keeps its unconstrained rate, test_levy.py): the
    floor is the law, and nothing is left open; the law of a lower rate (atom 0.75 at 8m) against a higher
    one (no atom) is."""
    m = 400
    x = np.random.default_rng(3).standard_normal((m, 2 * m))
    fitted = fit_levy_step(np.linalg.eigvalsh(x @ x.T / (2 * m)))
    assert int(fitted.step) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert rank_note(fitted.law, fitted.floor, 8 * m, m) == ""
    lower = fdj.LevyKhintchine(0.0, 0.0, [2.0], [0.5], m)
    higher = fdj.LevyKhintchine(0.0, 0.0, [16.0], [1 / 16], m)
    note = rank_note(higher, lower, 8 * m, m)
    assert "(an atom of 0.750 at 0 at size 3200)" in note and "(an atom of 0.000:" in note and "Deformed(m / q)" in note
