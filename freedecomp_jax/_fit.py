r"""Fit a spectral curve $P(z, m) = 0$ to the eigenvalues of a small matrix.

Three stages, all pure JAX for fixed degrees (`jit`, `vmap`, `grad` compose):

1. **Data.** $m_{\rm emp}$ at fit points off the real axis (`_stieltjes.py`). Exact zeros
   (see `_fit_problem.zero_tolerance`) are snapped to 0: they are an atom. Everything that depends
   on the number of eigenvalues is reduced here to fixed-size arrays, so the compiled code
   of each degree pair serves spectra of every size.
2. **Closed-form start.** $P(z_k, m_k) \approx 0$ is linear in the coefficients. In scaled
   variables $\hat z = (z - c)/s$, $\hat m = s\,m$ (the transform of the rescaled spectrum;
   linear mode: $c$, $s$ centre and half-width of the data, log mode: $c = 0$, $s$ the
   geometric centre), each equation divided by the norm of its monomials (so every point
   and every decade counts alike) and each column by its largest entry, the homogeneous
   least-squares problem $\min_{\|b\|=1}\|A b\|$ subject to $B b = 0$ is one SVD, in the
   real stacking $[\operatorname{Re}A; \operatorname{Im}A]$. The unknowns are the
   (column-scaled) coefficients of the scaled monomials themselves: orthonormal bases
   (the reference's choice) improve the SVD but make the map back to monomials so
   ill-conditioned in log mode that the constraints are lost on the way back; in these
   coordinates every constraint holds to rounding. Constraints:
   $[w^q]\, w^L P(1/w, m(w)) = 0$ for $q = 0, \dots, r+1$ with
   $m(w) = -\sum_{p \le r} \mu_p w^{p+1}$: $q=0$ is $c_{L0} = 0$, $q = 1$ unit mass, and
   $q = p+1$ enforces the sample moment $\mu_p$ ($p \le r$ = `config.moments`, every one
   of them). An atom of weight $w_0$ at 0 adds $a_K(0) = 0$ and
   $a_{K-1}(0) = w_0\,a_K'(0)$ ($a_j(z) = \sum_i c_{ij} z^i$): a simple pole of $m$ at 0
   with residue $-w_0$, so the curve itself carries the atom with exactly the observed
   weight (chosen over fitting the rest and adding the atom afterwards, which would raise
   `deg_z` by `deg_m`). Constraints act through the projector $\Pi$ onto their null
   space (inactive rows, e.g. no atom, are masked, so shapes stay static under `vmap`);
   the smallest right singular vector of $[A\Pi;\ \rho(I - \Pi)]$ ($\rho > \|A\|$) is the
   constrained minimiser, and its derivative is the eigenvector perturbation formula (a
   `custom_jvp`), which needs only a simple smallest singular value.
3. **Refinement** of the branch-aware loss
   $$\sum_k \omega_k |m_P(z_k) - m_k|^2 + \alpha\,\Big(\int \rho_P^-\Big)^2 + \beta\,(M_P - M_{\rm emp})^2,$$
   $m_P$ the curve's physical branch, $\omega_k \propto \operatorname{Im} z_k / \operatorname{Im} m_k$
   (the inverse sampling variance of $m_{\rm emp}$, normalised by $\sum\omega|m|^2$),
   $\rho_P^-$ the negative part of the density just above a grid that resolves near-zero
   structure, $M$ the mass seen by a Poisson kernel above a uniform grid (curve vs data).
   optax L-BFGS (at most `config.steps`, zoom line search) trains the leaf of an Equinox
   module (split off by `eqx.partition`) holding the coefficients in coordinates whitened by
   the exact Hessian at the start, until the Newton decrement falls below `config.handoff`
   times the loss; backtracking Newton steps with the exact Hessian (in closed form: $P$ is
   linear in the coefficients; at most `config.polish`) then land on the minimiser. The
   branch enters every step as data, carried from the last step by Newton in the coefficients
   (the tracker from infinity where that is in doubt, and at the last step); derivatives
   come from two Newton steps on $P(z, \cdot) = 0$ from it, i.e. the implicit function
   theorem. The returned coefficients carry the derivative of the minimiser (a custom JVP:
   the implicit function theorem on the stationarity, built only when differentiated), never
   that of the optimiser's iterations.
   The refinement is kept only if it lowers the loss without new branch failures.

`deg=None` chooses the degrees by self-validation (see [`fit_with_diagnostics`][]).
"""

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence

import jax.numpy as jnp
import numpy as np

from . import _arguments as arguments
from ._curve import SpectralCurve
from ._custom_types import ArrayLike, Float, Shaped
from ._fit_choice import candidate_degrees, fit_automatic, fit_candidate
from ._fit_config import FitConfig, FitDiagnostics
from ._fit_problem import _transformed
from ._fit_refine import _core_jit, _data_jit, _scores
from ._inputs import (
    _check_spectrum,
    _Inputs,
    _parse_inputs,
    _Spectrum,
)
from ._x64 import check_x64, is_concrete


def _data(inputs: _Inputs, log: bool | None, config: FitConfig):
    """The fit data of the base spectrum and of the joint ones (moved to its size)."""
    b = inputs.base
    base = _data_jit(b.eigs, b.weights, log, b.eps, config)
    extra = ()
    if inputs.joint:
        mode = bool(base.log)
        extra = tuple(_held_out_data(s, b.eigs.shape[0], mode, config) for s in inputs.joint)
    return base, extra


def _held_out_data(s: _Spectrum, slots: int, mode: bool, config: FitConfig):
    """The fit data of a smaller spectrum (joint or nested) moved to the base's size, its eigenvalues padded
    with weight 0 to the base's `slots` (the data stage ignores them), so every size shares one compiled program."""
    eigs, w = jnp.asarray(s.eigs, dtype=jnp.float64), jnp.asarray(s.weights, dtype=jnp.float64)
    pad = slots - eigs.shape[0]
    if pad > 0:
        eigs = jnp.concatenate([eigs, jnp.full(pad, jnp.max(jnp.where(w > 0, eigs, -jnp.inf)))])
        w = jnp.concatenate([w, jnp.zeros(pad)])
    return _transformed(_data_jit(eigs, w, mode, s.eps, config), jnp.asarray(s.t))


def _fit_fixed(inputs: _Inputs, deg: tuple[int, int], log: bool | None, config: FitConfig):
    base, extra = _data(inputs, log, config)
    c, n0, diag = _core_jit(base, extra, deg, jnp.asarray(inputs.n0, dtype=jnp.float64), config)
    return SpectralCurve(c, n0), diag


def _fit_candidate(inputs: _Inputs, deg: tuple[int, int], log: bool | None, config: FitConfig):
    """A candidate of automatic degrees (or its refit to a validation draw): the one program of its frame
    (`_fit_choice.fit_candidate`), so every candidate and refit shares one compilation."""
    base, extra = _data(inputs, log, config)
    c, n0, diag = fit_candidate(base, extra, deg, jnp.asarray(inputs.n0, dtype=jnp.float64), config)
    return SpectralCurve(c, n0), diag


@dataclasses.dataclass(frozen=True)
class CurveCandidate:
    """One candidate of automatic degrees: its degrees, validation score, and `refine` (for the first
    `max_tries` eligible ones; None otherwise): the refined fit, `(curve, diagnostics)`, computed when called."""

    deg: tuple[int, int]
    score: float  # relative validation error (the larger of the two scores)
    eligible: bool  # score on the plateau (see fit_with_diagnostics)
    refine: Callable[[], tuple[SpectralCurve, FitDiagnostics]] | None


def candidate_scores(inputs: _Inputs, log: bool | None, config: FitConfig) -> list[tuple[tuple[int, int], float, bool]]:
    """`(deg, score, eligible)` for every candidate of automatic degrees, simplest first (fewest
    branch points deg_z (deg_m - 1), then fewest sheets deg_m; see fit_with_diagnostics): the closed-form fit's score at the fit points and, when there are
    nested smaller spectra, its error predicting them; eligible when both are within
    `plateau_factor` of the median over all candidates."""
    b = inputs.base
    base = _data_jit(b.eigs, b.weights, log, b.eps, config)
    mode = bool(base.log)
    held_out = inputs.nested + inputs.joint
    validation = tuple(_held_out_data(s, b.eigs.shape[0], mode, config) for s in held_out)
    count = int(np.sum(np.asarray(b.weights) > 0))
    degrees = [(L, K) for L, K in candidate_degrees(config) if 4 * (L + 1) * (K + 1) <= count]
    both = np.asarray(_scores(base, validation, tuple(degrees), config), dtype=float)
    eligible = np.all(both <= config.plateau_factor * np.median(both, axis=0), axis=1)
    scores = both.max(axis=1) if held_out else both[:, 0]
    return [(deg, float(score), bool(ok)) for deg, score, ok in zip(degrees, scores, eligible)]


def curve_candidates(inputs: _Inputs, log: bool | None, config: FitConfig, table=None) -> Iterator[CurveCandidate]:
    """Candidate curves of automatic degrees in the order of [`candidate_scores`][] (`table`, computed
    if not given): the first `max_tries` eligible ones can be refined (`refine`, when the caller
    reaches them); the others come back with `refine=None`."""
    table = candidate_scores(inputs, log, config) if table is None else table
    median = float(np.median([score for _, score, _ in table]))
    tries = 0

    scored = "fit points and nested smaller spectra" if inputs.nested or inputs.joint else "fit points"

    def refine(deg, score):
        curve, diag = _fit_candidate(inputs, deg, log, config)  # log=None decides the mode as the scores did
        reason = (
            f"deg=None: candidate {deg}, validation score {score:.2e} on the {scored} (median over {len(table)} "
            f"candidates {median:.2e}, eligible within {config.plateau_factor:g}x)"
        )
        return curve, dataclasses.replace(diag, reason=reason)

    for deg, score, ok in table:
        if ok and tries < config.max_tries:
            tries += 1
            yield CurveCandidate(deg, score, True, lambda deg=deg, score=score: refine(deg, score))
        else:
            yield CurveCandidate(deg, score, ok, None)


def _first_valid(inputs: _Inputs, log: bool | None, config: FitConfig):
    """`fit_with_diagnostics(deg=None)`: the first eligible candidate whose refined curve is valid
    (or, if none is, the refined one closest to validity)."""
    tried = []
    table = []
    chosen = None
    scores = candidate_scores(inputs, log, config)
    for cand in curve_candidates(inputs, log, config, scores):
        if cand.refine is None:
            table.append((cand.deg, cand.score, None))
            continue
        curve, diag = cand.refine()
        table.append((cand.deg, cand.score, bool(diag.valid)))
        tried.append((curve, diag))
        if bool(diag.valid):
            chosen = (curve, diag)
            break
    table += [(deg, score, None) for deg, score, _ in scores[len(table) :]]  # not refined: a valid curve came first
    if chosen is None:
        if not tried:
            raise ValueError("deg=None: no candidate degrees were eligible; pass deg=(deg_z, deg_m) explicitly.")
        chosen = min(tried, key=lambda c: (int(c[1].branch_failures), abs(float(c[1].mass) - 1.0)))
        verdict = "none had a valid physical branch; returning the closest (check diagnostics.valid)"
    else:
        verdict = "the first eligible one whose refined curve has a valid physical branch"
    curve, diag = chosen
    return curve, dataclasses.replace(diag, reason=f"{diag.reason}: {verdict}", candidates=tuple(table))


def fit_with_diagnostics(
    eigs: Shaped[ArrayLike, "..."] | Mapping | Sequence,
    deg: tuple[int, int] | None = None,
    n0: float | int | Float[ArrayLike, ""] | None = None,
    *,
    log: bool | None = None,
    weights: Float[ArrayLike, " m"] | None = None,
    config: FitConfig = FitConfig(),
) -> tuple[SpectralCurve, FitDiagnostics]:
    r"""Like [`fit`][], and also return a [`FitDiagnostics`][].

    **Automatic degrees** (`deg=None`). Candidates $(L, K)$,
    $1 \le L \le$ `max_deg_z`, $2 \le K \le$ `max_deg_m`, with at least
    $4(L+1)(K+1)$ eigenvalues, fewest branch points first (by $L(K-1)$, then by $K$): the
    physical sheet meets the other $K - 1$ roots of $P(z, \cdot)$ only at the zeros of the
    discriminant of $P$ in $m$, a polynomial of degree at most $2L(K-1)$ in $z$, and only
    there can decompression carry the branch onto another sheet; so among curves that
    describe the data equally well the one with the fewest branch points extrapolates most
    safely, and of those the one with the fewest sheets. (Curves linear in $z$, whose
    inverse $z(m)$ is rational, the free Lévy–Khintchine laws of finitely many jumps, have
    the fewest for their sheets: (1, 4) comes before (2, 3).) Each gets a
    closed-form fit at the input's size and a score: the relative mismatch between the
    curve and the data at the fit points. With nested spectra available (a matrix input,
    whose random nested principal submatrices of sizes $m/2$, $m/4$ are diagonalised, or
    eigenvalues of several sizes) a second score is the error with which the curve predicts
    them through the exact compression map $(\zeta, y) = (z + (1 - e^{-t})/m_t, e^t m_t)$,
    $t = \log(n_j/n_0) < 0$ (compression is the well-posed direction; it catches curves
    that fit noise, while the first score catches structure that compression washes out).
    Scores fall until the degrees can describe the law, then stay on a plateau set by the
    sampling noise: the chosen degrees are the simplest whose scores are all within
    `plateau_factor` of the median over the candidates and whose refined curve is valid
    (branch tracked everywhere, density $\ge 0$, unit mass; at most `max_tries` are
    refined). [`predict`][] and [`eigvalsh`][] go further (`_select.py`): they pass over a
    candidate whose prediction at the target size fails their check, and for a matrix input they
    take, among the refined valid candidates that pass, the one that best predicts the observed
    spectrum from its own smaller principal submatrices. The chosen
    degrees, the reason and the table of candidates are in the diagnostics.

    Every candidate is fitted padded with zero coefficients to (`max_deg_z`, `max_deg_m`), by one
    compiled program for all of them (then cut to its degrees). Outside a trace the choice is plain
    Python, refining the candidates it reaches one at a time. Under `jit`, `vmap` and `grad`
    (1-D eigenvalues, optionally `weights`) the same rule runs as one compiled program
    (`_fit_choice.py`): candidates masked by their eigenvalue count, the plateau from a masked
    median, the first `max_tries` eligible refined side by side, and the first valid one selected. The curve then has
    those largest degrees, its coefficients 0 beyond the chosen ones (`SpectralCurve.trimmed`
    drops them outside `jit`); the diagnostics name that frame as `deg`. Nested spectra and the table
    of candidates are not available there.
    """
    return _fit_with_diagnostics(eigs, deg, n0, log, weights, config)


def _fit_with_diagnostics(eigs, deg, n0, log, weights, config: FitConfig):
    """`fit_with_diagnostics` (shared by `fit`)."""
    check_x64()
    if deg is not None:
        deg = arguments.degrees(deg)
    if not is_concrete(eigs, n0, weights):
        arr = jnp.asarray(eigs)
        if arr.ndim != 1:
            raise ValueError(f"under jit/vmap, fit takes a 1-D array of eigenvalues per call; got shape {arr.shape}.")
        if jnp.iscomplexobj(arr):
            raise ValueError("eigs is complex; pass the real eigenvalues.")
        w = jnp.ones(arr.shape) if weights is None else jnp.asarray(weights, dtype=jnp.float64)
        n0 = jnp.sum(w > 0).astype(jnp.float64) if n0 is None else n0
        eps = arguments.eps_of(np.empty(0, dtype=arr.dtype))
        inputs = _Inputs(_Spectrum(arr.astype(jnp.float64), w, eps), n0, (), ())
        if deg is None:
            base = _data_jit(inputs.base.eigs, w, log, eps, config)
            c, n0, diag = fit_automatic(base, jnp.sum(w > 0), jnp.asarray(n0, dtype=jnp.float64), config)
            return SpectralCurve(c, n0), diag
        return _fit_fixed(inputs, deg, log, config)
    inputs = _parse_inputs(eigs, n0, weights, config)
    for spec in (inputs.base,) + inputs.joint + inputs.nested:
        _check_spectrum(spec, deg if spec is inputs.base else None, log)
    if deg is None:
        return _first_valid(inputs, log, config)
    return _fit_fixed(inputs, deg, log, config)


def fit(
    eigs: Shaped[ArrayLike, "..."] | Mapping | Sequence,
    deg: tuple[int, int] | None = None,
    n0: float | int | Float[ArrayLike, ""] | None = None,
    *,
    log: bool | None = None,
    weights: Float[ArrayLike, " m"] | None = None,
    config: FitConfig = FitConfig(),
) -> SpectralCurve:
    r"""Fit an algebraic spectral curve $P(z, m) = 0$ to the spectrum of a small matrix.

    **Arguments:**

    - `eigs`: the eigenvalues `(m,)` of an $m \times m$ principal submatrix; or the
      symmetric matrix itself `(m, m)` (its nested submatrices then validate `deg=None`);
      or eigenvalues of several nested sizes, `{size: eigs}` or `[(eigs, size), ...]`,
      fitted jointly: the curve describes the largest size and the others enter through
      the exact compression map. float32 input is upcast to float64; its exact-zero test
      uses float32's precision.
    - `deg`: `(deg_z, deg_m)`, or `None` to choose automatically (see
      [`fit_with_diagnostics`][]; under `jit`/`vmap`/`grad` the curve comes back padded with zero
      coefficients to the largest candidate degrees).
    - `n0`: the matrix size the eigenvalues describe (default: the number of eigenvalues
      with positive weight; pass it for eigenvalues pooled from several submatrices).
    - `log`: sample the transform in log mode (positive spectra spanning decades); `None`
      chooses it when a positive spectrum spans more than `config.log_decades` decades
      (works per spectrum under `vmap`).
    - `weights`: non-negative weights `(m,)`; zeros mark padding, so ragged batches stack
      into `(B, m)` arrays for `jax.vmap`.
    - `config`: a [`FitConfig`][].

    Exact zeros ($|\lambda| \le m\varepsilon\max_k|\lambda_k|$, the rounding of a symmetric
    eigensolver; `FitDiagnostics.zero_tolerance`) are an atom at 0 of weight equal to their
    fraction, carried by the curve itself (a pole of $m$ at 0 with exactly that residue);
    tiny non-zero eigenvalues stay a bulk.

    **Returns:** a [`SpectralCurve`][] with `n0` set. `fit` works under `jit` and `vmap` and is
    differentiable in the eigenvalues, with given or automatic degrees.
    """
    return _fit_with_diagnostics(eigs, deg, n0, log, weights, config)[0]
