"""freedecomp_jax: free decompression of spectra with algebraic spectral curves, in JAX.

Pipeline: input (eigenvalues or a matrix) -> fit a law (SpectralCurve, LevyKhintchine, ...)
-> decompress it to size n under a kind (Free, Deformed) -> Spectrum (density, atoms,
quantiles, spectral quantities); `predict` chooses and checks the law.
"""

import importlib.metadata

from . import data as data
from . import distributions as distributions
from ._branch import BranchTracker as BranchTracker
from ._cache import enable_compilation_cache as enable_compilation_cache
from ._curve import SpectralCurve as SpectralCurve
from ._curve_solve import CurveSolver as CurveSolver
from ._decompress import decompress as decompress
from ._edge_flow import AbstractEdgeSystem as AbstractEdgeSystem
from ._edge_flow import EdgeFlow as EdgeFlow
from ._fit import fit as fit
from ._fit import fit_with_diagnostics as fit_with_diagnostics
from ._fit_config import FitConfig as FitConfig
from ._fit_config import FitDiagnostics as FitDiagnostics
from ._kinds import AbstractDecompression as AbstractDecompression
from ._kinds import Deformed as Deformed
from ._kinds import Free as Free
from ._law import AbstractSpectralLaw as AbstractSpectralLaw
from ._levy import LevyKhintchine as LevyKhintchine
from ._levy_fit import AbstractUnseen as AbstractUnseen
from ._levy_fit import ImposedRate as ImposedRate
from ._levy_fit import LevyConfig as LevyConfig
from ._levy_fit import PowerLawTail as PowerLawTail
from ._levy_fit import fit_levy as fit_levy
from ._moments import evolve_moments as evolve_moments
from ._one_of import OneOf as OneOf
from ._plot import plot_edges as plot_edges
from ._plot import plot_spectrum as plot_spectrum
from ._report import CandidateReport as CandidateReport
from ._report import Report as Report
from ._report import UnidentifiedRankWarning as UnidentifiedRankWarning
from ._results import RESULTS as RESULTS
from ._roots import Aberth as Aberth
from ._roots import Roots as Roots
from ._roots import polyroots as polyroots
from ._select import eigvalsh as eigvalsh
from ._select import predict as predict
from ._sharding import sharded as sharded
from ._shifted import Shifted as Shifted
from ._spectrum import Spectrum as Spectrum
from ._spikes import Spikes as Spikes
from ._stieltjes import PointGeometry as PointGeometry
from ._stieltjes import empirical_stieltjes as empirical_stieltjes
from ._submatrix import hessian_submatrix as hessian_submatrix
from ._submatrix import kernel_submatrix as kernel_submatrix
from ._zero_rows import ZeroRows as ZeroRows

try:
    __version__ = importlib.metadata.version("freedecomp_jax")
except importlib.metadata.PackageNotFoundError:  # pragma: no cover - source checkout
    __version__ = "0.0.0+unknown"
