"""[`FitConfig`][] (how curves are fitted) and [`FitDiagnostics`][] (what a fit found)."""

import dataclasses

import equinox as eqx
import jax.numpy as jnp

from ._branch import BranchTracker
from ._custom_types import Array, Bool, Float, Int
from ._stieltjes import PointGeometry


class FitConfig(eqx.Module):
    r"""Defaults of [`fit`][] (no per-data-set knobs: every scale is taken from the data).

    - `points`: a [`PointGeometry`][] (where $m_{\rm emp}$ is sampled).
    - `moments`: sample moments $\mu_1..\mu_r$ enforced exactly besides $c_{L0} = 0$ and
      unit mass ($r$ = `moments`).
    - `steps`: the most optax L-BFGS steps on the branch-aware loss (in coordinates whitened by
      the loss Hessian at the closed-form start, where the squared gradient is the Newton
      decrement, about twice the loss still to gain).
    - `handoff`: L-BFGS hands over to Newton once the squared whitened gradient is below
      `handoff` times the loss (what is left to gain, under half a percent of the loss at the
      default, is Newton's to take quadratically).
    - `polish`: the most Newton steps with the exact Hessian after L-BFGS; they stop when the
      step is at the rounding level. Newton converges quadratically, so the fit is the
      minimiser whatever path the optimiser took (a vmapped batch computes what single
      calls do: with a fixed two Newton steps after eight L-BFGS steps, one lane of a batch of
      16 Marchenko–Pastur spectra stayed 9e-7 from its single fit, whose line search had taken
      other steps; three steps, 7.5e-12; four, 1e-16).
    - `density_penalty`, `mass_penalty`: weights $\alpha$, $\beta$ of the loss.
    - `n_grid`: real grid of the penalties; `n_check`: finer grid of the diagnostics.
    - `log_decades`: with `log=None`, log mode is used for a positive spectrum spanning
      more than this many decades.
    - `max_deg_z`, `max_deg_m`: the largest degrees `deg=None` considers;
      `plateau_factor`: how far above the median candidate score the chosen degrees' score
      may lie; `max_tries`: how many eligible candidates are refined and checked for
      validity before giving up (see [`fit_with_diagnostics`][]).
    - `seed`: seed of the random splits and nested submatrices of `deg=None`.
    - `tracker`: the [`BranchTracker`][] of the physical branch.
    """

    points: PointGeometry = PointGeometry()
    moments: int = eqx.field(static=True, default=2)
    steps: int = eqx.field(static=True, default=8)
    handoff: float = eqx.field(static=True, default=1e-2)
    polish: int = eqx.field(static=True, default=6)
    density_penalty: float = eqx.field(static=True, default=10.0)
    mass_penalty: float = eqx.field(static=True, default=10.0)
    n_grid: int = eqx.field(static=True, default=128)
    n_check: int = eqx.field(static=True, default=1024)
    log_decades: float = eqx.field(static=True, default=3.0)
    max_deg_z: int = eqx.field(static=True, default=3)
    max_deg_m: int = eqx.field(static=True, default=6)
    plateau_factor: float = eqx.field(static=True, default=3.0)
    max_tries: int = eqx.field(static=True, default=4)
    seed: int = eqx.field(static=True, default=0)
    tracker: BranchTracker = BranchTracker()

    def __check_init__(self):
        if self.moments < 0 or self.steps < 0 or self.polish < 0:
            raise ValueError("FitConfig: moments, steps and polish must be >= 0.")
        if not self.handoff > 0:
            raise ValueError("FitConfig: handoff must be > 0.")
        if self.n_grid < 8 or self.n_check < 8:
            raise ValueError("FitConfig: n_grid and n_check must be >= 8.")
        if self.max_deg_z < 1 or self.max_deg_m < 2:
            raise ValueError("FitConfig: max_deg_z must be >= 1 and max_deg_m >= 2.")

    def compiled(self) -> "FitConfig":
        """This config with the fields of the degree choice (`max_deg_z`, `max_deg_m`,
        `plateau_factor`, `max_tries`, `seed`: read by plain Python, never inside a compiled
        program) at their defaults: the static key of the compiled data, fit and scoring programs,
        so that changing only those fields reuses the programs already compiled."""
        return dataclasses.replace(self, **{name: _DEFAULT_CHOICE[name] for name in _CHOICE})


_CHOICE = ("max_deg_z", "max_deg_m", "plateau_factor", "max_tries", "seed")
_DEFAULT_CHOICE = {f.name: f.default for f in dataclasses.fields(FitConfig) if f.name in _CHOICE}


class FitDiagnostics(eqx.Module):
    r"""What a fit found, returned next to the curve by [`fit_with_diagnostics`][].

    - `deg`: `(deg_z, deg_m)`; `reason`: why these degrees; `candidates`: for `deg=None`,
      one `(deg, score, valid)` row per degree pair tried (score: relative validation
      error, see [`fit_with_diagnostics`][]).
    - `log`: whether log mode was used.
    - `atom_weight`: fraction of exact zeros (an atom at 0), `zero_tolerance` the threshold.
    - `residual`: relative algebraic residual $\|A b\|$ of the closed-form start.
    - `mismatch_start`, `mismatch`: relative RMS of $m_P - m_{\rm emp}$ at the fit points,
      before and after the refinement; `loss_start`, `loss`: the refinement loss.
    - `refined`: the refinement was kept (it lowered the loss and kept the branch valid).
    - `branch_failures`: points (fit points and check grid) where the physical branch
      could not be tracked (`curve.stieltjes_with_status` != 0); points inside the atom at 0
      ($|x| \le$ `zero_tolerance`, when the data have zeros) are not counted: there $m$ is the
      atom's pole, $-w_0/x$.
    - `mass`: $\int \rho\,dx + \sum$ atoms on the check grid (the atom at 0 by its weight, not by
      its grid points); `negative_mass`: $\int \max(-\operatorname{Im} m(x+i0)/\pi, 0)\,dx$.
    """

    deg: tuple[int, int] = eqx.field(static=True)
    log: Bool[Array, ""]
    atom_weight: Float[Array, ""]
    zero_tolerance: Float[Array, ""]
    residual: Float[Array, ""]
    mismatch_start: Float[Array, ""]
    mismatch: Float[Array, ""]
    loss_start: Float[Array, ""]
    loss: Float[Array, ""]
    refined: Bool[Array, ""]
    branch_failures: Int[Array, ""]
    mass: Float[Array, ""]
    negative_mass: Float[Array, ""]
    reason: str = eqx.field(static=True, default="degrees given by the caller")
    candidates: tuple = eqx.field(static=True, default=())

    @property
    def valid(self) -> Bool[Array, ""]:
        """Branch tracked everywhere, density non-negative and unit total mass (to 1e-3)."""
        return (self.branch_failures == 0) & (self.negative_mass <= 1e-3) & (jnp.abs(self.mass - 1) <= 1e-3)
