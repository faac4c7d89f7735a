"""freedecomp_jax: free decompression with algebraic spectral curves, in JAX.

Pipeline: eigenvalues -> fit (SpectralCurve) -> physical branch -> evolution in matrix size
-> Spectrum at size n (density, atoms, quantiles, spectral quantities).
"""

import importlib.metadata

from . import distributions as distributions
from ._branch import BranchTracker as BranchTracker
from ._curve import SpectralCurve as SpectralCurve
from ._roots import Aberth as Aberth, Roots as Roots, polyroots as polyroots

try:
    __version__ = importlib.metadata.version("freedecomp_jax")
except importlib.metadata.PackageNotFoundError:  # pragma: no cover - source checkout
    __version__ = "0.0.0+unknown"
