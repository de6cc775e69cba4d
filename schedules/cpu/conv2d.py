"""The CPU schedule template of a direct N-d convolution in NCHW (conv_compute.py's stages).

Two register-blocked forms, chosen by `conv_knobs`:
  "oc_vector": a tile of output channels (vectorized: the weight's blocked layout makes them
      contiguous) x output positions along the width (each input value broadcast); serves
      dense, grouped and 1x1 convolutions.
  "ow_vector": a tile of output positions along the width, vectorized, over `oh_tile` output
      rows; for depthwise convs and channel counts without a vector-sized block.
Either way the reduction loops run outside the tile, the tile stays in registers, the outer
loops (batch, channel tiles, rows, width tiles) are fused and run in parallel, and the
padding and weight-packing stages are separate parallel loops, except that a grouped conv
pads per tile, inside its task.

A symbolic output width (the time axis of a sequence model) cannot take a guarded register
tile (TVM 0.27 does not lower one over a symbolic extent, see cpu/dense.py). So Conv.compute
computes it in whole tiles of `symbolic_width_tile` positions into a buffer padded up to a
multiple of the tile (the input padded to match), and a "crop" stage copies out the real
width. A conv with a fused residual input cannot read past that input's width: it keeps
tiles of 1 position ("oc_vector": vectorized over output channels; "ow_vector": scalar).
"""
from __future__ import annotations

import math
from typing import Any, Optional

from convrnn.compiler import tvm_adapter as tvm_
from convrnn.compiler.target import Target
from convrnn.schedules.conv_layout import weight_block
from convrnn.schedules.epilogue import inline_epilogue
from convrnn.schedules.cpu.tiling import (accumulators, blocks_by_name, row_tile, schedule_rows, tile_reduction,
                                      vector_tile, with_knobs)
from convrnn.schedules.implementations import Implementation, implements

# The length assumed for a symbolic (time) axis when weighing the weight against the input.
SYMBOLIC_LENGTH = 256


SYMBOLIC_WIDTH_TILE = 16  # positions per tile of a symbolic width (a vector of "ow_vector")


def symbolic_width_tile(attrs: dict[str, Any]) -> int:
    """The width tile of a conv whose output width is symbolic (1: no padded compute)."""
    if any("input" in step for step in attrs.get("epilogue", ())):
        return 1  # a residual input: reading it past its width would be out of bounds
    return int((attrs.get("knobs") or {}).get("ow_tile", SYMBOLIC_WIDTH_TILE))


MAX_ROW_TILE = 8  # output rows per "ow_vector" tile: each input row load serves up to 3 of them


def row_tiles(out_height: Optional[int]) -> list[int]:
    """The row tiles an "ow_vector" conv may take: divisors of its output height (1 for a 1-d conv)."""
    return [rows for rows in range(1, MAX_ROW_TILE + 1) if out_height and out_height % rows == 0] or [1]


def conv_knobs(out_channels: int, group: int, out_width: Optional[int], lanes: int, packed_block: int = 0,
               weight_elements: int = 0, input_elements: int = 0, out_height: Optional[int] = None) -> dict[str, Any]:
    """Untuned default tiles for one conv: the knob dictionary a tuner would search.

    channels_outer: the loop over output-channel tiles runs outside the loops over positions
    (each weight block stays in cache while it sweeps the image) when the weight is the
    larger operand; otherwise inside them (the input rows of one position stay in L1 while
    every channel tile uses them).
    """
    channels_outer = weight_elements >= input_elements
    block = packed_block or weight_block(out_channels // group)
    if out_width is None:
        if not block:
            return {"template": "ow_vector", "ow_tile": 1, "oh_tile": row_tiles(out_height)[-1],
                    "channels_outer": channels_outer}
        return {"template": "oc_vector", "oc_tile": block, "ow_tile": 1, "channels_outer": channels_outer}
    if not block:
        # Several output rows per tile (a depthwise conv's taps are few): measured 3-4x faster
        # than one row on MobileNetV2's depthwise layers here.
        return {"template": "ow_vector", "ow_tile": vector_tile(out_width, lanes, 2 * lanes),
                "oh_tile": row_tiles(out_height)[-1], "channels_outer": channels_outer}
    oc_tile = block
    if block == lanes and out_channels % (2 * block) == 0 and out_width is not None and out_width <= 14:
        oc_tile = 2 * block  # narrow images: two channel vectors per input broadcast
    vectors = -(-oc_tile // lanes)
    return {"template": "oc_vector", "oc_tile": oc_tile, "ow_tile": row_tile(out_width, accumulators(lanes) // vectors),
            "channels_outer": channels_outer}


def conv_knob_space(out_channels: int, group: int, out_width: Optional[int], lanes: int,
                    packed_block: int = 0, out_height: Optional[int] = None) -> dict[str, list]:
    """What a tuner may try around `conv_knobs`' defaults: the same template, channel tiles of
    one or two weight blocks, width tiles that divide the width and fit the registers, and
    both loop orders."""
    block = packed_block or weight_block(out_channels // group)
    if not block:
        widths = [8, 16, 32] if out_width is None else sorted({vector_tile(out_width, lanes, limit)
                                                       for limit in (lanes // 2, lanes, 2 * lanes, 4 * lanes)})
        return {"template": ["ow_vector"], "ow_tile": widths, "oh_tile": row_tiles(out_height),
                "channels_outer": [True, False]}
    oc_tiles = [block] + ([2 * block] if (out_channels // group) % (2 * block) == 0 else [])
    if out_width is None:
        widths = [4, 8, 16]  # symbolic: tiles of the padded width (conv_compute's crop)
    else:
        limit = accumulators(lanes) // -(-block // lanes)
        widths = [w for w in range(1, min(limit, out_width) + 1) if out_width % w == 0 or w == limit]
    return {"template": ["oc_vector"], "oc_tile": oc_tiles, "ow_tile": widths, "channels_outer": [True, False]}


def schedule_conv(sch: Any, target: Target, attrs: dict[str, Any]) -> None:
    lanes = target.vector_lanes
    stages = blocks_by_name(sch)
    conv = stages["conv"]
    if "flip" in stages:  # ConvTranspose's weight view: read through, never stored
        sch.compute_inline(stages["flip"])
    rank = len(attrs["kernel_shape"])
    extents = [tvm_.loop_extent(sch, loop) for loop in sch.get_loops(conv)]  # n, oc, *spatial, ic, *window
    out_channels, spatial, window = extents[1], extents[2:2 + rank], extents[3 + rank:]
    weight_elements = out_channels * extents[2 + rank] * math.prod(window)
    input_elements = extents[2 + rank] * attrs["group"] * math.prod(
        (SYMBOLIC_LENGTH if size is None else size) * stride for size, stride in zip(spatial, attrs["strides"]))
    knobs = with_knobs(conv_knobs(out_channels, attrs["group"], spatial[-1], lanes, attrs.get("weight_block", 0),
                                  weight_elements, input_elements, spatial[-2] if rank > 1 else None), attrs)
    if "crop" in stages:  # a symbolic width computed in whole tiles (module docstring)
        knobs["ow_tile"] = symbolic_width_tile(attrs)
    factors = [None] * (2 + rank)
    factors[-1] = knobs["ow_tile"]
    order = None if knobs["channels_outer"] else [0, *range(2, 2 + rank), 1]
    write_back = inline_epilogue(sch, stages, "bias")
    pad_placed = False
    if knobs["template"] == "oc_vector":
        factors[1] = knobs["oc_tile"]
        tile_reduction(sch, conv, write_back, factors, 1, lanes, layout_block=knobs["oc_tile"], outer_order=order)
    else:
        if rank > 1 and knobs.get("oh_tile", 1) > 1:
            factors[-2] = knobs["oh_tile"]
        tiles = tile_reduction(sch, conv, write_back, factors, 1 + rank, lanes, outer_order=order)
        if "pad" in stages and attrs["group"] > 1:
            # A grouped (depthwise) tile reads one group's channels: pad just the window it
            # reads, in the same task, rather than the whole input in a parallel pass of its own.
            sch.compute_at(stages["pad"], tiles)
            pad_placed = True
    if "overhang" in stages:  # clamped reads past a symbolic width's end (conv_compute.pad_input)
        sch.compute_inline(stages["overhang"])
    for name in ("pad", "pack", "crop"):
        if name in stages and not (name == "pad" and pad_placed):
            schedule_rows(sch, stages[name])


@implements("llvm", "Conv")
class ConvOnCpu(Implementation):
    def schedule(self, sch, target, attrs):
        schedule_conv(sch, target, attrs)

    def knob_space(self, inputs, attrs, outputs, target):
        out = outputs[0].shape
        width = out[-1] if isinstance(out[-1], int) else None
        height = out[-2] if len(out) > 3 and isinstance(out[-2], int) else None
        return conv_knob_space(out[1], attrs["group"], width, target.vector_lanes, attrs.get("weight_block", 0),
                               height)
