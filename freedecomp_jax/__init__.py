"""freedecomp_jax: free decompression with algebraic spectral curves, in JAX.

Pipeline: eigenvalues -> fit (SpectralCurve) -> physical branch -> evolution in matrix size
-> Spectrum at size n (density, atoms, quantiles, spectral quantities).
"""

import importlib.metadata

from . import data as data, distributions as distributions
from ._branch import BranchTracker as BranchTracker
from ._cache import enable_compilation_cache as enable_compilation_cache
from ._curve import SpectralCurve as SpectralCurve
from ._decompress import DecompressConfig as DecompressConfig, decompress as decompress, eigvalsh as eigvalsh, predict as predict
from ._fit import (
    FitConfig as FitConfig,
    FitDiagnostics as FitDiagnostics,
    fit as fit,
    fit_with_diagnostics as fit_with_diagnostics,
)
from ._levy import LevyConfig as LevyConfig, LevyKhintchine as LevyKhintchine, fit_levy as fit_levy
from ._roots import Aberth as Aberth, Roots as Roots, polyroots as polyroots
from ._sharding import sharded as sharded
from ._spectrum import Spectrum as Spectrum, evolve_moments as evolve_moments
from ._stieltjes import PointGeometry as PointGeometry, empirical_stieltjes as empirical_stieltjes

try:
    __version__ = importlib.metadata.version("freedecomp_jax")
except importlib.metadata.PackageNotFoundError:  # pragma: no cover - source checkout
    __version__ = "0.0.0+unknown"
