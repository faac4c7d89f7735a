"""Type aliases shared across the package (jaxtyping)."""

from typing import TypeAlias

import numpy as np
from jaxtyping import (
    Array,
    ArrayLike,
    Bool,
    Complex,
    Float,
    Inexact,
    Int,
    Num,
    Real,
    Shaped,
)

RealScalarLike: TypeAlias = float | int | np.floating | np.integer | Real[ArrayLike, ""]
ComplexLike: TypeAlias = complex | float | Shaped[ArrayLike, "..."]
Coeffs: TypeAlias = Float[Array, "Lp1 Kp1"]

__all__ = ["Array", "ArrayLike", "Bool", "Inexact", "Num", "Complex", "Float", "Int", "Real", "Shaped", "RealScalarLike", "ComplexLike", "Coeffs"]
