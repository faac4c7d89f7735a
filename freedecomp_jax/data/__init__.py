"""Example spectra shipped with the package (see README.md in this folder for provenance)."""

import json
from importlib import resources

import numpy as np

NTK_SIZES = (1024, 2048, 4096, 8192, 16384, 32768, 50056)


def _ntk_file(name: str):
    return resources.files(__name__).joinpath("ntk_resnet50_cifar", name)


def load_ntk(n: int = 1024) -> np.ndarray:
    """Sorted eigenvalues (float64) of the n x n principal submatrix of a ResNet-50 NTK on CIFAR-10.

    The subsets are nested: smaller matrices are principal submatrices of larger ones.
    `n` must be one of `NTK_SIZES`.
    """
    if n not in NTK_SIZES:
        raise ValueError(f"no NTK spectrum of size {n}; available sizes: {NTK_SIZES}.")
    with _ntk_file(f"eig_n{n}.npy").open("rb") as f:
        return np.load(f)


def load_ntk_draw(k: int) -> np.ndarray:
    """Eigenvalues of the k-th (0..4) independent random 1024 x 1024 principal submatrix of the NTK."""
    if k not in range(5):
        raise ValueError(f"draw index must be 0..4; got {k}.")
    with _ntk_file(f"eig_n1024_draw{k}.npy").open("rb") as f:
        return np.load(f)


def ntk_eigvalsh_seconds() -> dict[int, float]:
    """Wall time (s) a dense eigvalsh took for each NTK size on the machine that made the data."""
    with _ntk_file("sizes.json").open("r") as f:
        meta = json.load(f)
    return {v["size"]: v["eigvalsh_wall_seconds"] for v in meta.values() if "eigvalsh_wall_seconds" in v}
