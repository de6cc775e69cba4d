"""The blocked layouts the CPU conv templates read (numpy only, no TVM).

Weights: a conv weight [O, I/g, *K] is stored as [O/b, I/g, *K, b]: the b output channels of
one block are contiguous, so the kernel loads them as one vector. The frontend packs constant
weights once at compile time; a pass that rewrites weights (BatchNorm folding) can unpack,
change and repack them with these helpers.

Activations (the blocked_layout pass): NCHW{c} is [N, ceil(C/c), H, W, c], channel k at
[:, k // c, :, :, k % c]. C need not divide by c: the last block is padded. Padded channels
hold finite values nobody reads: a conv reading the layout has zero weights for them, and
every other op on it works per channel.
"""
from __future__ import annotations

import numpy as np

# Output channels per block: one AVX-512 vector, two AVX2 vectors.
MAX_BLOCK = 16
# Channels per block of the NCHW{c} activation layout (the same vector).
ACTIVATION_BLOCK = 16
# Below this many lanes vectorizing over output channels does not pay: the template
# vectorizes over output width instead and reads the weight unpacked.
MIN_BLOCK = 4


def weight_block(out_channels_per_group: int) -> int:
    """The block size for a conv with this many output channels per group (0: do not pack)."""
    block = MAX_BLOCK
    while block >= MIN_BLOCK and out_channels_per_group % block:
        block //= 2
    return block if block >= MIN_BLOCK else 0


def pack_weight(weight: np.ndarray, block: int) -> np.ndarray:
    """[O, I, *K] -> [O/b, I, *K, b]."""
    out_channels = weight.shape[0]
    if out_channels % block:
        raise ValueError(f"{out_channels} output channels are not a multiple of block {block}")
    blocked = weight.reshape((out_channels // block, block) + weight.shape[1:])
    return np.ascontiguousarray(np.moveaxis(blocked, 1, -1))


def unpack_weight(packed: np.ndarray) -> np.ndarray:
    """[O/b, I, *K, b] -> [O, I, *K]."""
    blocked = np.moveaxis(packed, -1, 1)
    return np.ascontiguousarray(blocked.reshape((-1,) + blocked.shape[2:]))


def transpose_conv_weight(weight: np.ndarray, group: int) -> np.ndarray:
    """A ConvTranspose weight [C, O/g, *K] as the equivalent Conv weight [O, C/g, *K]
    (per group, input and output channels swap and the window is flipped)."""
    in_channels, out_per_group = weight.shape[:2]
    kernel = weight.shape[2:]
    grouped = weight.reshape((group, in_channels // group, out_per_group) + kernel)
    swapped = np.swapaxes(grouped, 1, 2).reshape((group * out_per_group, in_channels // group) + kernel)
    flipped = swapped[(slice(None), slice(None)) + (slice(None, None, -1),) * len(kernel)]
    return np.ascontiguousarray(flipped)


def channel_blocks(channels: int, block: int) -> int:
    """The blocks NCHW{c} needs for `channels` (the last one padded)."""
    return -(-channels // block)


def pad_axis(array: np.ndarray, axis: int, size: int) -> np.ndarray:
    """`array` zero-padded at the end of `axis` up to `size`."""
    widths = [(0, 0)] * array.ndim
    widths[axis] = (0, size - array.shape[axis])
    return np.pad(array, widths)
