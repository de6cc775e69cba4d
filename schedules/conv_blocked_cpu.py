"""The TE compute and CPU schedule template of ConvBlocked (schedules/ops/conv_blocked.py).

The output's channel block is the vector: a register tile is `oc_blocks` channel blocks x
`oh_tile` rows x `ow_tile` columns of output positions, each position one vector per block.
The reduction (input channels, then the window) runs outside the tile; each step broadcasts
one input value (one load serves every channel of a block) against one weight vector, and
stores are whole contiguous vectors. A depthwise conv loads its input as vectors too (a
channel block of one position), at any stride: the layout makes the channels, not the width,
contiguous. A symbolic width over a symbolic height (every axis of a real model's input may
be; a static height gives its accumulators among rows) is computed in whole tiles of
`ow_tile` positions (default SYMBOLIC_WIDTH_TILE) into a buffer padded up to a multiple of
it, then cropped ("crop" stage) with the bias and epilogue: a guarded register tile over a
symbolic extent does not lower in TVM 0.27, and untiled a row of one position held a single
accumulator (beats_tcn's 16-channel conv ran at 13% of the FMA peak).

Knob `pad` places the zero padding: "inline" (a select in each read: a depthwise conv's reads
are whole vectors, and inline ran 1.2-2x faster than the alternatives on MobileNetV2's
layers here), "task" (the window one tile reads, in its task) or "pass" (a parallel pass of
its own: the default of a dense conv, whose reads are broadcasts; inline was 1.3-1.5x slower).

Stages: "pad" (absent without padding), "conv", "crop" (a symbolic width only), "bias"
(absent without bias), then the epilogue's (epilogue.py).
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

from convrnn.compiler import tvm_adapter as tvm_
from convrnn.compiler.target import Target
from convrnn.schedules.epilogue import apply_epilogue, inline_epilogue
from convrnn.schedules.generic import parallelize_and_vectorize
from convrnn.schedules.tiling import (ACCUMULATORS, accumulators, blocks_by_name, largest_divisor, parallel_fused,
                                      row_tile, schedule_rows, tile_reduction, vectorize_innermost, with_knobs)

MAX_OC_BLOCKS = 4
PAD_PLACES = ("inline", "task", "pass")
SYMBOLIC_WIDTH_TILE = 8  # output positions per tile over a symbolic width
MIN_ROW_TILE = 4  # rows per tile worth keeping the width untiled for (a symbolic width)
# Untuned, an output row at least PAIRED_ROW long tiles two channel blocks by part of the row,
# in whole tiles of at least MIN_PAIRED_TILE positions (no guarded partial tile).
PAIRED_ROW = 16
MIN_PAIRED_TILE = 6


def _whole_width_tiles(out_shape: Sequence[Any], rank: int) -> bool:
    """A symbolic output width with no static height to find accumulators among (symbolic, or
    with no divisor of at least MIN_ROW_TILE rows that fits the registers, as 122 = 2 x 61):
    computed in whole width tiles (otherwise untiled width and tiles of rows, no crop pass)."""
    if not isinstance(out_shape[1 + rank], str):
        return False
    height = out_shape[rank]
    return rank == 1 or isinstance(height, str) or largest_divisor(height, ACCUMULATORS) < MIN_ROW_TILE


def symbolic_width_tile(attrs: dict[str, Any], out_blocks: int) -> int:
    """The width tile of a blocked conv whose output width is symbolic (1: no padded compute).
    Untuned: of 8 and 4 positions, the one whose tile by the channel blocks beside it (a
    divisor of `out_blocks`) holds the most accumulators, the narrower on a tie (less padding
    computed); 8 for a depthwise conv (one channel block)."""
    tuned = (attrs.get("knobs") or {}).get("ow_tile")
    if tuned is not None:
        return int(tuned)
    if attrs["group"] > 1:
        return SYMBOLIC_WIDTH_TILE
    return max((SYMBOLIC_WIDTH_TILE, 4),
               key=lambda tile: (tile * largest_divisor(out_blocks, ACCUMULATORS // tile), -tile))


def conv_blocked_compute(x: Any, w: Any, bias: Optional[Any], attrs: dict[str, Any], out_shape: Sequence[Any],
                         extras: Sequence[Any]) -> Any:
    from convrnn.compiler.tvm_adapter import te
    from convrnn.schedules.conv_compute import pad_input
    from convrnn.schedules.window import spatial_extents

    from convrnn.schedules.conv_compute import whole_tiles

    rank = len(attrs["kernel_shape"])
    strides, dilations, pads = attrs["strides"], attrs["dilations"], attrs["pads"]
    block, in_block = attrs["block"], attrs["in_block"]
    spatial = spatial_extents(out_shape[2:2 + rank], x.shape[2:2 + rank], tvm_.size_var)
    width, overhang = None, 0
    tile = symbolic_width_tile(attrs, int(w.shape[0]))
    if _whole_width_tiles(out_shape, rank) and tile > 1:  # whole tiles over a symbolic width, cropped
        width, overhang = whole_tiles(spatial, strides[-1], tile)
    padded = pad_input(x, pads[:rank], pads[rank:], overhang=overhang)
    taps = [te.reduce_axis((0, int(k)), name=f"rk{i}") for i, k in enumerate(attrs["kernel_shape"])]

    def window(pos):
        return [p * s + k * d for p, s, k, d in zip(pos, strides, taps, dilations)]

    if attrs["group"] > 1:  # depthwise: channel block `outer` of the input is the output's
        def body(n, outer, *rest):
            pos, lane = rest[:rank], rest[rank]
            return te.sum(padded[(n, outer, *window(pos), lane)] * w[(outer, 0, *taps, lane)], axis=taps)
    elif in_block:
        in_outer = te.reduce_axis((0, int(x.shape[1])), name="rcb")
        # The weight's input lanes: fewer than in_block when one block holds every input channel.
        in_inner = te.reduce_axis((0, int(w.shape[-2])), name="rci")

        def body(n, outer, *rest):
            pos, lane = rest[:rank], rest[rank]
            return te.sum(padded[(n, in_outer, *window(pos), in_inner)] * w[(outer, in_outer, *taps, in_inner, lane)],
                          axis=[in_outer, *taps, in_inner])
    else:
        channel = te.reduce_axis((0, int(x.shape[1])), name="rc")

        def body(n, outer, *rest):
            pos, lane = rest[:rank], rest[rank]
            return te.sum(padded[(n, channel, *window(pos))] * w[(outer, channel, *taps, lane)],
                          axis=[channel, *taps])

    shape = (x.shape[0], int(w.shape[0]), *spatial, block)
    out = te.compute(shape, body, name="conv")
    if width is not None:
        shape = (*shape[:1 + rank], width, block)
        conv = out
        out = te.compute(shape, lambda *i: conv[i], name="crop")
    if bias is not None:
        conv = out
        out = te.compute(shape, lambda n, outer, *rest: conv[(n, outer, *rest)] + bias[outer * block + rest[-1]],
                         name="bias")
    return apply_epilogue(out, attrs.get("epilogue", ()), extras)


def _accumulator_budget(block: int, lanes: int) -> int:
    """Register tiles may hold this many output positions x channel blocks."""
    return max(accumulators(lanes) // max(block // lanes, 1), 1)


def conv_blocked_knobs(out_blocks: int, out_height: int, out_width: Optional[int], attrs: dict[str, Any],
                       lanes: int) -> dict[str, Any]:
    """Untuned default tiles: on a long row (PAIRED_ROW), whole tiles of a third of the
    registers' positions by two channel blocks; otherwise as many positions of one row as fit
    (rows too when the row is short or symbolic), and two channel blocks per tile when there is
    still room (each broadcast input then serves both)."""
    budget = _accumulator_budget(attrs["block"], lanes)
    paired = largest_divisor(out_width, max(budget // 3, 1))
    if (attrs["group"] == 1 and out_blocks % 2 == 0 and out_width is not None and out_width >= PAIRED_ROW
            and paired >= MIN_PAIRED_TILE):
        # a long row: a third of the registers' positions, whole tiles of them, for two channel
        # blocks (a 128 -> 64 channel 3 x 3 conv over 900 x 168 ran 18% faster at 8 x 2 than at
        # 24 x 1 here; MobileNetV2 1.0 1.21 -> 1.09x onnxruntime's time)
        return {"ow_tile": paired, "oh_tile": 1, "oc_blocks": 2, "channels_outer": True, "pad": "pass"}
    ow_tile = 1 if out_width is None else row_tile(out_width, budget)
    oh_tile = largest_divisor(out_height, budget // ow_tile)
    oc_blocks = 1
    if attrs["group"] == 1:
        while (oc_blocks * 2 <= MAX_OC_BLOCKS and out_blocks % (oc_blocks * 2) == 0
               and 2 * oc_blocks * oh_tile * ow_tile <= budget):
            oc_blocks *= 2
    return {"ow_tile": ow_tile, "oh_tile": oh_tile, "oc_blocks": oc_blocks, "channels_outer": True,
            "pad": "inline" if attrs["group"] > 1 else "pass"}


def conv_blocked_knob_space(out_shape: Sequence[Any], attrs: dict[str, Any], lanes: int) -> dict[str, list]:
    """Tiles that divide the output (a width tile may also be a partial register-full) within
    the register budget, channel blocks that divide the block count, both loop orders."""
    out_blocks, out_height, out_width = out_shape[1], out_shape[2], out_shape[3]
    budget = _accumulator_budget(attrs["block"], lanes)
    if isinstance(out_width, int):
        widths = sorted({w for w in range(1, min(budget, out_width) + 1) if out_width % w == 0}
                        | {row_tile(out_width, budget)})
    elif _whole_width_tiles(out_shape, 2):  # whole tiles of a padded symbolic width (1: untiled)
        widths = sorted({1, 4, SYMBOLIC_WIDTH_TILE, min(12, budget)})
    else:  # a symbolic width over a static height: rows hold the accumulators
        widths = [1]
    rows = [r for r in range(1, min(budget, out_height) + 1) if out_height % r == 0] if isinstance(out_height, int) else [1]
    blocks = [1] if attrs["group"] > 1 else [b for b in range(1, MAX_OC_BLOCKS + 1) if out_blocks % b == 0]
    return {"ow_tile": widths, "oh_tile": rows, "oc_blocks": blocks, "channels_outer": [True, False],
            "pad": list(PAD_PLACES)}


def schedule_conv_blocked(sch: Any, target: Target, attrs: dict[str, Any]) -> None:
    if target.kind != "llvm":
        raise NotImplementedError(f"no blocked conv schedule for target kind {target.kind}")
    stages = blocks_by_name(sch)
    conv = stages["conv"]
    out_blocks, out_height, out_width = [tvm_.loop_extent(sch, loop) for loop in sch.get_loops(conv)[1:4]]
    knobs = with_knobs(conv_blocked_knobs(out_blocks, out_height, out_width, attrs, target.vector_lanes), attrs)
    if None in (out_height, out_width) and "pad" not in (attrs.get("knobs") or {}):
        # TVM cannot split a symbolic extent into border and interior: inline padding keeps a
        # select and a clamp in every read (a depthwise 5 x 5 conv over symbolic dims ran 16x
        # slower than over static ones), per task a window copy per tile; a pass of its own.
        knobs["pad"] = "pass"
    cropped = "crop" in stages
    if out_width is None:  # whole tiles of a padded width (the compute's), or untiled
        knobs["ow_tile"] = symbolic_width_tile(attrs, out_blocks) if cropped else 1
        budget = _accumulator_budget(attrs["block"], target.vector_lanes)
        tuned = attrs.get("knobs") or {}
        if cropped and "oh_tile" not in tuned:
            knobs["oh_tile"] = 1  # the width tile's positions are the accumulators
        if cropped and "oc_blocks" not in tuned and attrs["group"] == 1:
            # as many channel blocks as the registers hold beside the row of positions: each
            # broadcast input serves them all (3 of a 48-channel conv's 3 blocks, 5 of 80's)
            knobs["oc_blocks"] = largest_divisor(out_blocks, budget // knobs["ow_tile"])
        elif cropped and knobs["oc_blocks"] * knobs["ow_tile"] > budget:
            knobs["oc_blocks"] = 1
    write_back = None if cropped else inline_epilogue(sch, stages, "bias")
    factors = [None, knobs["oc_blocks"], knobs["oh_tile"], knobs["ow_tile"], attrs["block"]]
    order = None if knobs["channels_outer"] else [0, 2, 3, 1, 4]
    tiles = tile_reduction(sch, conv, write_back, factors, 4, target.vector_lanes, outer_order=order)
    if cropped:  # the conv into its padded buffer; the crop, bias and epilogue as one pass after it
        last = inline_epilogue(sch, stages, "bias")
        if last is None:
            last = stages["crop"]
        else:
            sch.compute_inline(stages["crop"])
        parallelize_and_vectorize(sch, last, target.vector_lanes)
    if "overhang" in stages:
        sch.compute_inline(stages["overhang"])
    if "pad" in stages:
        if knobs["pad"] == "inline":
            sch.compute_inline(stages["pad"])
        elif knobs["pad"] == "task":
            sch.compute_at(stages["pad"], tiles)
            vectorize_innermost(sch, stages["pad"], target.vector_lanes)
        elif None in (out_height, out_width):
            # a pass of its own, parallel over images and channel blocks only: fused with a
            # symbolic (derived) height the loops fail TVM 0.27's iter-map check at build
            loops = sch.get_loops(stages["pad"])
            parallel_fused(sch, loops[:2])
            vectorize_innermost(sch, stages["pad"], target.vector_lanes)
        else:
            schedule_rows(sch, stages["pad"])
