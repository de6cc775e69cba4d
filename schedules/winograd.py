"""Winograd's minimal filtering for 3x3 convolutions: the transform matrices and the weight
transform, in numpy (no TVM).

F(m x m, 3 x 3) computes an m x m output tile from an (m + 2) x (m + 2) input tile with
(m + 2)^2 multiplies per channel pair instead of 9 m^2:  Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A.
m = 2 takes 2.25x fewer multiplies than the direct conv and rounds like it (measured here:
max error 3e-6 at output scale 7); m = 4 takes 4x fewer but its larger coefficients cost
accuracy (5e-5 to 1e-4 at the same scale). The matrices are Lavin & Gray's (2015).
"""
from __future__ import annotations

from typing import Optional

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


# Elements of a band's transformed input or product (alpha² x tiles x channels): 4 MiB of
# float32, which stay in the caches between the stages (a 64-channel 200 x 161 layer: bands of
# 10 tile rows ran 1.6x faster than the direct conv, bands of 50 rows 1.2x, the whole image 0.85x)
BAND_ELEMENTS = 1 << 20


def band_tile_rows(out_height: int, out_width: int, channels: int, out_channels: int, tile: int) -> Optional[int]:
    """Tile rows per band of a Winograd conv: all of them when the whole image's transformed
    input and product (alpha² x tiles x channels) fit BAND_ELEMENTS, else the most that fit,
    dividing the tile rows; None when the output's height is no multiple of the tile (its
    last band would be partial)."""
    rows, cols = -(-out_height // tile), -(-out_width // tile)
    per_row = (tile + 2) ** 2 * cols * max(channels, out_channels)
    if per_row * rows <= BAND_ELEMENTS:
        return rows
    if out_height % tile:
        return None
    fitting = max(BAND_ELEMENTS // per_row, 1)
    return max(factor for factor in range(1, fitting + 1) if rows % factor == 0)
