"""freedecomp_jax: free decompression with algebraic spectral curves, in JAX."""

import importlib.metadata

from ._curve import SpectralCurve as SpectralCurve

try:
    __version__ = importlib.metadata.version("freedecomp_jax")
except importlib.metadata.PackageNotFoundError:  # pragma: no cover - source checkout
    __version__ = "0.0.0+unknown"
