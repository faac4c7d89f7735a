"""Closed-form spectral laws: ground truths for free decompression (curves, densities, samplers)."""

from ._base import AbstractDistribution as AbstractDistribution
from ._deformed import DeformedMarchenkoPastur as DeformedMarchenkoPastur
from ._deformed import DeformedWigner as DeformedWigner
from ._free_poisson import CompoundFreePoisson as CompoundFreePoisson
from ._free_poisson import FreeLevy as FreeLevy
from ._fuss_catalan import FussCatalan as FussCatalan
from ._kesten_mckay import KestenMcKay as KestenMcKay
from ._marchenko_pastur import MarchenkoPastur as MarchenkoPastur
from ._wachter import Wachter as Wachter
from ._wigner import Wigner as Wigner
