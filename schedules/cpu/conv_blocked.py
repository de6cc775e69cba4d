"""The TE compute and CPU schedule template of ConvBlocked (schedules/ops/conv_blocked.py).

The output's channel block is the vector: a register tile is `oc_blocks` channel blocks x
`oh_tile` rows x `ow_tile` columns of output positions, each position one vector per block.
The reduction (input channels, then the window) runs outside the tile; each step broadcasts
one input value (one load serves every channel of a block) against one weight vector, and
stores are whole contiguous vectors. A depthwise conv loads its input as vectors too (a
channel block of one position), at any stride: the layout makes the channels, not the width,
contiguous. A dense conv's tile is the one with the most FMAs per load that fits the vector
registers (dense_register_tile); knob `reduce_rows` applies one input channel block along a
whole row of tiles before the next (its weights stay in L1), and knob `task_rows` gives a
task that many rows, each input block applied to all of them (its weights loaded once for
them: a tuning choice where the rows are few and the weights many).

A row is computed in whole tiles into a local buffer padded up to a multiple of `ow_tile`,
and the write-back (bias and epilogue) crops it ("crop" stage, inlined there), where the tile
does not divide the width: a symbolic width over a symbolic height (every axis of a real
model's input may be; a static height gives its accumulators among rows; a guarded register
tile over a symbolic extent does not lower in TVM 0.27), or a static width whose best tile
does not divide it (a guarded partial tile kept LLVM from holding the accumulators in
registers). Over a symbolic width a task is a row of tiles: a symbolic tile index costs
divisions.

Knob `pad` places the zero padding: "inline" (a select in each read: a depthwise conv's reads
are whole vectors, and inline ran 1.2-2x faster than the alternatives on MobileNetV2's
layers here), "task" (the window one tile reads, in its task) or "pass" (a parallel pass of
its own: the default of a dense conv, whose reads are broadcasts; inline was 1.3-1.5x slower).

Stages: "pad" (absent without padding), "conv", "crop" (a padded width only), "bias"
(absent without bias), then the epilogue's (epilogue.py).
"""
from __future__ import annotations

import math
from typing import Any, Optional, Sequence

from convrnn.compiler import tvm_adapter as tvm_
from convrnn.compiler.target import Target
from convrnn.schedules.epilogue import apply_epilogue, inline_epilogue
from convrnn.schedules.cpu.tiling import (ACCUMULATORS, accumulators, blocks_by_name, broadcast_tile_registers,
                                      broadcast_tile_score, largest_divisor, parallel_fused,
                                      row_tile, split_tiles, tile_reduction, unroll_short_reduction,
                                      vector_registers, useful_share, vectorize_and_unroll, vectorize_innermost,
                                      with_knobs)
from convrnn.schedules.implementations import Implementation, implements

MAX_OC_BLOCKS = 4
PAD_PLACES = ("inline", "task", "pass")
SYMBOLIC_WIDTH_TILE = 8  # output positions per tile over a symbolic width
SYMBOLIC_WIDTHS = range(4, 9)  # a dense conv's width tiles over a symbolic width
# The weight bytes a tile reads (over all input blocks) from which a row of several tiles is
# reduced input block by block. With each block's lanes unrolled, reducing tile by tile ran
# faster up to about 300 KB (3 x 3 convs: 128 -> 64 channels over 300 x 161, 288 KB, 75 -> 82%
# of the FMA peak; 128 -> 128 over 12 x 38, 295 KB, 76 -> 80%), row by row beyond (256 -> 256
# over 14 x 14, 590 KB: 50 -> 65%).
REDUCE_ROWS_MIN_WEIGHTS = 512 << 10
MAX_TASK_ROWS = 8  # rows one task of a row-by-row reduction may take (their accumulators are a buffer)


def padded_width_tile(attrs: dict[str, Any], out_blocks: int, out_height: Optional[int], out_width: Optional[int],
                      rank: int) -> int:
    """The tile whose multiple the compute pads the output width to, cropping after (1: none).
    Over a symbolic width, the symbolic tile (a guarded register tile over a symbolic extent
    does not lower in TVM 0.27), so that a tile's positions are neighbours in one row: tiles
    of rows over an untiled width broadcast from rows a padded width apart, which alias in the
    L1 cache where that stride is near a multiple of 4 KiB (swift_f0's 62 frames: 1.6x slower);
    a tuned ow_tile of 1 still takes the rows. Over a static one, a dense conv's tile when it
    does not divide the width: guarded, its last partial tile kept LLVM from holding the accumulators
    in registers (a 32 -> 64 channel 3 x 3 conv over 25 x 77 at the 5 x 4 tile: 32% of the FMA
    peak, 75% at 7 x 2). Dims: None where symbolic."""
    if out_width is None:
        return symbolic_width_tile(attrs, out_blocks)
    if rank != 2 or attrs["group"] > 1:
        return 1
    tile = (attrs.get("knobs") or {}).get("ow_tile")
    if tile is None:
        tile = dense_register_tile(out_blocks, out_height, out_width, attrs["block"], attrs["block"])[0]
    return int(tile) if out_width % int(tile) else 1


def dense_register_tile(out_blocks: int, out_height: Optional[int], out_width: Optional[int], lanes: int,
                        block: int, widths: Optional[Sequence[int]] = None) -> tuple[int, int, int]:
    """(ow_tile, oh_tile, oc_blocks) of a dense conv's broadcast tile: of the tiles that fit the
    vector registers, the fastest by tiling.broadcast_tile_score (a row computed padded to a
    multiple of the tile scores the square of its useful share). Rows join a tile as whole
    rows.
    widths: the width tiles to choose from (default: every one up to a static width; one
    position of a symbolic width, whose rows then hold the accumulators)."""
    per_block = max(block // lanes, 1)
    limit = vector_registers(lanes) - 1
    if widths is None:
        widths = range(1, min(out_width, ACCUMULATORS) + 1) if out_width is not None else [1]
    best, best_key = (1, 1, 1), None
    for blocks in (b for b in range(1, MAX_OC_BLOCKS + 1) if out_blocks % b == 0):
        vectors = blocks * per_block
        for ow in widths:
            whole_row = out_width is not None and ow == out_width or out_width is None and ow == 1
            heights = [h for h in range(1, ACCUMULATORS + 1) if out_height % h == 0] \
                if whole_row and out_height is not None else [1]
            for oh in heights:
                if broadcast_tile_registers(ow * oh, vectors) > limit:
                    continue
                score = broadcast_tile_score(ow * oh, vectors) * useful_share(out_width, ow) ** 2
                key = (round(score, 6), -broadcast_tile_registers(ow * oh, vectors))
                if best_key is None or key > best_key:
                    best, best_key = (ow, oh, blocks), key
    return best


def symbolic_width_tile(attrs: dict[str, Any], out_blocks: int) -> int:
    """The width tile of a blocked conv whose output width is symbolic (1: no padded compute):
    a depthwise conv's SYMBOLIC_WIDTH_TILE; a dense conv's from SYMBOLIC_WIDTHS by
    dense_register_tile for the registers of a block-wide vector (the compute pads to it, so
    it cannot depend on the target's lanes)."""
    tuned = (attrs.get("knobs") or {}).get("ow_tile")
    if tuned is not None:
        return int(tuned)
    if attrs["group"] > 1:
        return SYMBOLIC_WIDTH_TILE
    return dense_register_tile(out_blocks, None, None, attrs["block"], attrs["block"], SYMBOLIC_WIDTHS)[0]


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
    static = [d if isinstance(d, int) else None for d in out_shape[2:2 + rank]]
    tile = padded_width_tile(attrs, int(w.shape[0]), static[0] if rank == 2 else None, static[-1], rank)
    if tile > 1:  # whole tiles, cropped
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


def _weight_outweighs_input(out_blocks: int, out_height: Optional[int], out_width: Optional[int],
                            attrs: dict[str, Any]) -> bool:
    """A channels-first (unblocked) input smaller than the weight: per input channel the weight
    holds out_channels x taps values, the input about the output's positions x the strides."""
    if attrs["in_block"] or out_height is None or out_width is None:
        return False
    taps = math.prod(int(k) for k in attrs["kernel_shape"])
    positions = out_height * out_width * math.prod(int(s) for s in attrs["strides"])
    return out_blocks * attrs["block"] * taps >= positions


def conv_blocked_knobs(out_blocks: int, out_height: Optional[int], out_width: Optional[int], attrs: dict[str, Any],
                       lanes: int, in_blocks: int = 1) -> dict[str, Any]:
    """Untuned default tiles: a dense conv's by dense_register_tile, reducing row by row when
    a row holds several tiles and a tile's weights are many (reduce_rows); a depthwise
    conv's as many positions of one row as fit (rows too when the row is short or symbolic)."""
    if attrs["group"] == 1:
        ow_tile, oh_tile, oc_blocks = dense_register_tile(out_blocks, out_height, out_width, lanes, attrs["block"])
        taps = math.prod(int(k) for k in attrs["kernel_shape"])
        tile_weights = in_blocks * taps * oc_blocks * attrs["block"] * attrs["in_block"] * 4
        reduce_rows = (bool(attrs["in_block"]) and in_blocks > 1 and out_width is not None and ow_tile < out_width
                       and tile_weights >= REDUCE_ROWS_MIN_WEIGHTS)
        # positions outside channel blocks: consecutive tasks share their input (1 x 1 convs
        # of 128-512 channels over 28 x 28 - 7 x 7: 55 -> 68% of the FMA peak, 30 -> 50%);
        # but a channels-first input whose weight outweighs it keeps a task's weights in the
        # caches instead (256 -> 512 channels 3 x 3 over 14 x 14: 3.2 -> 1.3 ms)
        return {"ow_tile": ow_tile, "oh_tile": oh_tile, "oc_blocks": oc_blocks,
                "channels_outer": _weight_outweighs_input(out_blocks, out_height, out_width, attrs),
                "pad": "pass", "reduce_rows": reduce_rows, "task_rows": 1}
    budget = _accumulator_budget(attrs["block"], lanes)
    ow_tile = 1 if out_width is None else row_tile(out_width, budget)
    oh_tile = largest_divisor(out_height, budget // ow_tile)
    return {"ow_tile": ow_tile, "oh_tile": oh_tile, "oc_blocks": 1, "channels_outer": True, "pad": "inline",
            "reduce_rows": False}


def conv_blocked_knob_space(out_shape: Sequence[Any], attrs: dict[str, Any], lanes: int) -> dict[str, list]:
    """Width tiles up to the register budget (a static width's divisors and the register
    model's choice, computed padded when partial), rows that divide the height, channel blocks
    that divide the block count, both loop orders, both reduction orders of a dense conv."""
    out_blocks, out_height, out_width = out_shape[1], out_shape[2], out_shape[3]
    height = out_height if isinstance(out_height, int) else None
    width = out_width if isinstance(out_width, int) else None
    budget = _accumulator_budget(attrs["block"], lanes)
    if width is not None:
        widths = sorted({w for w in range(1, min(budget, width) + 1) if width % w == 0}
                        | {row_tile(width, budget)})
        if attrs["group"] == 1:
            widths = sorted(set(widths) | {dense_register_tile(out_blocks, height, width, lanes, attrs["block"])[0]})
    else:  # whole tiles of a padded symbolic width (1: untiled, the rows hold the accumulators)
        widths = sorted({1, 4, SYMBOLIC_WIDTH_TILE, min(12, budget)})
    rows = [r for r in range(1, min(budget, height) + 1) if height % r == 0] if height is not None else [1]
    blocks = [1] if attrs["group"] > 1 else [b for b in range(1, MAX_OC_BLOCKS + 1) if out_blocks % b == 0]
    space = {"ow_tile": widths, "oh_tile": rows, "oc_blocks": blocks, "channels_outer": [True, False],
             "pad": list(PAD_PLACES)}
    if attrs["group"] == 1 and attrs["in_block"] and width is not None:
        space["reduce_rows"] = [False, True]
        if height is not None:  # rows a task reduces together (reduce_rows): a few, each a divisor
            space["task_rows"] = [r for r in range(1, min(height, MAX_TASK_ROWS) + 1) if height % r == 0]
    return space


def schedule_conv_blocked(sch: Any, target: Target, attrs: dict[str, Any]) -> None:
    stages = blocks_by_name(sch)
    conv = stages["conv"]
    conv_loops = sch.get_loops(conv)
    # the conv's width: a multiple of the width tile when the compute padded it ("crop")
    out_blocks, out_height, out_width = [tvm_.loop_extent(sch, loop) for loop in conv_loops[1:4]]
    cropped = "crop" in stages
    real_width = tvm_.loop_extent(sch, sch.get_loops(stages["crop"])[3]) if cropped else out_width
    in_blocks = tvm_.loop_extent(sch, conv_loops[tvm_.block_iter_kinds(sch, conv).index("R")]) if attrs["in_block"] else 1
    tuned = attrs.get("knobs") or {}
    knobs = with_knobs(conv_blocked_knobs(out_blocks, out_height, real_width, attrs, target.vector_lanes, in_blocks),
                       attrs)
    if cropped:
        knobs["ow_tile"] = padded_width_tile(attrs, out_blocks, out_height, real_width, 2)
    if None in (out_height, out_width) and "pad" not in tuned:
        # TVM cannot split a symbolic extent into border and interior: inline padding keeps a
        # select and a clamp in every read (a depthwise 5 x 5 conv over symbolic dims ran 16x
        # slower than over static ones), per task a window copy per tile; a pass of its own.
        knobs["pad"] = "pass"
    if out_width is None and not cropped:
        knobs["ow_tile"] = 1  # untiled: the rows hold the accumulators
    if out_width is None and cropped:  # whole tiles of a symbolic width
        if "oh_tile" not in tuned:
            knobs["oh_tile"] = 1  # the width tile's positions are the accumulators
        if "oc_blocks" not in tuned and attrs["group"] == 1:
            # as many channel blocks as the registers hold beside the row of positions: each
            # broadcast input serves them all
            knobs["oc_blocks"] = dense_register_tile(out_blocks, None, None, target.vector_lanes, attrs["block"],
                                                     [knobs["ow_tile"]])[2]
        elif knobs["oc_blocks"] * knobs["ow_tile"] > _accumulator_budget(attrs["block"], target.vector_lanes):
            knobs["oc_blocks"] = 1
    # A width computed padded: the crop joins the write-back, which alone is guarded.
    write_back = inline_epilogue(sch, stages, "bias")
    if cropped and write_back is None:
        write_back = stages["crop"]
    elif cropped:
        sch.compute_inline(stages["crop"])
    factors = [None, knobs["oc_blocks"], knobs["oh_tile"], knobs["ow_tile"], attrs["block"]]
    order = [0, 1, 2, 3, 4] if knobs["channels_outer"] else [0, 2, 3, 1, 4]
    if knobs.get("reduce_rows") and out_width is not None and attrs["in_block"] and attrs["group"] == 1:
        rows = knobs.get("task_rows", 1)
        if out_height is None or (out_height // knobs["oh_tile"]) % rows:
            rows = 1
        tiles = _reduce_by_rows(sch, conv, write_back, factors, order, target.vector_lanes, rows)
    else:
        serial = out_width is None
        if serial:  # a symbolic width's tiles last, serial: a task per row, no division per tile
            order = [axis for axis in order if axis != 3] + [3]
        # a blocked input's innermost reduction is one block's lanes: unrolled
        tiles = tile_reduction(sch, conv, write_back, factors, 4, target.vector_lanes, outer_order=order,
                               serial_last=serial, unroll_reduction=bool(attrs["in_block"]) and attrs["group"] == 1)
    if "overhang" in stages:
        sch.compute_inline(stages["overhang"])
    if "pad" in stages:
        if knobs["pad"] == "inline":
            sch.compute_inline(stages["pad"])
        elif knobs["pad"] == "task":
            sch.compute_at(stages["pad"], tiles)
            vectorize_innermost(sch, stages["pad"], target.vector_lanes)
        elif None in (out_height, out_width):
            # a pass of its own, parallel over images, channel blocks and a static height's rows:
            # fused with a symbolic (derived) height the loops fail TVM 0.27's iter-map check at
            # build (one channel block of swift_f0 padded serially: 1 MB a conv)
            loops = sch.get_loops(stages["pad"])
            parallel_fused(sch, loops[:2] if out_height is None else loops[:3])
            vectorize_innermost(sch, stages["pad"], target.vector_lanes)
        else:
            # parallel over rows: a blocked input's rows of whole positions, a vector each; an
            # NCHW one's rows of single values, vectorized along the width (its channels are
            # few: parallel over them alone, a stem's pass over a 3 x 226 x 226 input ran 2x
            # slower than its conv)
            loops = sch.get_loops(stages["pad"])
            parallel_fused(sch, loops[:-2] if attrs["in_block"] or attrs["group"] > 1 else loops[:-1])
            vectorize_innermost(sch, stages["pad"], target.vector_lanes)


def _reduce_by_rows(sch: Any, conv: Any, write_back: Optional[Any], factors: list, order: list[int],
                    lanes: int, task_rows: int = 1) -> Any:
    """Tiles of `factors` whose reduction runs input channel block by block along the whole
    row: one block's weights (channel blocks x window x 16 x 16) stay in the L1 cache across
    the row's width tiles, where a tile reducing over every input block streams them all from
    L2 (a 128 -> 64 channel 3 x 3 conv over 300 x 161: 64 -> 77% of the FMA peak here, with
    the 5 x 4 tile). The row's accumulators live in a buffer, each tile's in registers while
    one block's window is applied; a task of `task_rows` rows applies each block to all of
    its rows before the next. Returns the parallel loop over tasks (a per-task producer goes
    there)."""
    if write_back is None:
        write_back = sch.cache_write(conv, 0, "local")
    else:
        sch.set_scope(conv, 0, "local")
    outer, tile = split_tiles(sch, sch.get_loops(write_back), factors)
    outer[2], task_row = sch.split(outer[2], factors=[None, task_rows])
    across = [outer[axis] for axis in order if axis != 3]  # all but the width tiles
    sch.reorder(*across, task_row, outer[3], *tile)
    rows = parallel_fused(sch, across)
    vectorize_innermost(sch, write_back, lanes)
    sch.compute_at(conv, rows, preserve_unit_loops=True)
    kinds = tvm_.block_iter_kinds(sch, conv)
    loops = sch.get_loops(conv)[-len(kinds):]
    spatial = [loop for loop, kind in zip(loops, kinds) if kind == "S"]
    reduction = [loop for loop, kind in zip(loops, kinds) if kind == "R"]
    width_tiles, width = sch.split(spatial[3], factors=[None, factors[3]])
    row_tiles, spatial[2] = sch.split(spatial[2], factors=[task_rows, None])
    spatial[3] = width
    sch.reorder(reduction[0], row_tiles, width_tiles, *reduction[1:], *spatial)
    vectorize_and_unroll(sch, conv, len(spatial), lanes)
    init = sch.decompose_reduction(conv, reduction[0])
    vectorize_innermost(sch, init, lanes)
    unroll_short_reduction(sch, reduction[-1])  # one input block's lanes
    return rows


@implements("llvm", "ConvBlocked")
class ConvBlockedOnCpu(Implementation):
    def schedule(self, sch, target, attrs):
        schedule_conv_blocked(sch, target, attrs)

    def knob_space(self, inputs, attrs, outputs, target):
        return conv_blocked_knob_space(outputs[0].shape, attrs, target.vector_lanes)
