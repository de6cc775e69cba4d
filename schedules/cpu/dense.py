"""The CPU schedule template of matrix products (MatMul, Gemm, MatMulInteger).

The compute (schedules/dense_compute.py): one reduction stage "dense" over K, optionally
followed by a "scale" stage (Gemm's alpha, beta and C) and a fused epilogue's stages
(epilogue.py), all inlined into the register tile's write-back. Schedule: a tile of rows x
columns held in registers (columns vectorized, rows unrolled, each A value broadcast), the
reduction over K outside the tile, batch and tile loops fused and run in parallel.
"""
from __future__ import annotations

from typing import Any, Optional

from convrnn.compiler import tvm_adapter as tvm_
from convrnn.compiler.target import Target
from convrnn.schedules.epilogue import inline_epilogue
from convrnn.schedules.cpu.generic import parallelize_and_vectorize, schedule_generic
from convrnn.schedules.cpu.tiling import (accumulators, blocks_by_name, row_tile, tile_reduction, vector_tile,
                                      with_knobs)
from convrnn.schedules.implementations import Implementation, implements

MAX_ROW_TILE = 8
# A symbolic row count is computed in whole tiles of this many rows into a padded buffer and
# cropped (MatMul's "crop" stage): a guarded tile over a symbolic extent does not lower.
SYMBOLIC_ROW_TILE = 4


def dense_knobs(rows: Optional[int], columns: Optional[int], lanes: int) -> dict[str, Any]:
    """Untuned default tiles (None: a symbolic extent)."""
    # A single row (a matrix-vector product) is bound by reading B: longer contiguous row pieces;
    # so are untiled (symbolic) rows, whose accumulators all come from the columns.
    column_tile = vector_tile(columns, lanes, (8 if rows in (1, None) else 2) * lanes)
    vectors = max(-(-column_tile // lanes), 1)
    # A symbolic row count gets untiled rows: a guarded tile over a symbolic extent does not
    # lower in TVM 0.27 (its cache's compacted size goes negative).
    rows_limit = min(accumulators(lanes) // vectors, MAX_ROW_TILE) if rows is not None else 1
    return {"column_tile": column_tile, "row_tile": row_tile(rows, rows_limit)}


def dense_knob_space(rows: Optional[int], columns: Optional[int], lanes: int) -> dict[str, list]:
    """What a tuner may try around `dense_knobs`' defaults (a symbolic row count stays untiled)."""
    column_tiles = sorted({vector_tile(columns, lanes, limit) for limit in (lanes, 2 * lanes, 4 * lanes, 8 * lanes)})
    row_tiles = [1] if rows is None else sorted({min(t, rows) for t in (1, 2, 4, 6, 8)})
    return {"column_tile": column_tiles, "row_tile": row_tiles}


def schedule_dense(sch: Any, target: Target, attrs: dict[str, Any]) -> None:
    """Tile the last output axis (vectorized) and the one before it (unrolled rows)."""
    stages = blocks_by_name(sch)
    dense = stages["dense"]
    if "crop" in stages:  # padded rows or columns: the product into its own buffer, then crop and epilogue
        _schedule_product(sch, target, dense, None, attrs, cropped=True)
        parallelize_and_vectorize(sch, inline_epilogue(sch, stages, "crop"), target.vector_lanes)
        return
    _schedule_product(sch, target, dense, inline_epilogue(sch, stages, "scale"), attrs)


def _schedule_product(sch: Any, target: Target, dense: Any, epilogue: Any, attrs: dict[str, Any],
                      cropped: bool = False) -> None:
    loops = sch.get_loops(dense)[:-1]  # the output axes (the last loop is K)
    if not loops:
        schedule_generic(sch, target)  # a dot product
        return
    lanes = target.vector_lanes
    rows = tvm_.loop_extent(sch, loops[-2]) if len(loops) > 1 else 1
    padded_rows = cropped and rows is None  # MatMul's compute padded symbolic rows to whole tiles
    if padded_rows:
        columns = tvm_.loop_extent(sch, loops[-1])
        knobs = dense_knobs(SYMBOLIC_ROW_TILE, columns, lanes)
        # the rows are a whole tile of SYMBOLIC_ROW_TILE: the rest of the registers for columns
        # (a CTC head's 80 x 96 x 6640 product: 4 x 80 columns, not 4 x 32)
        knobs["column_tile"] = vector_tile(columns, lanes, accumulators(lanes) // SYMBOLIC_ROW_TILE * lanes)
        knobs = with_knobs(knobs, attrs)
        knobs["row_tile"] = SYMBOLIC_ROW_TILE  # the compute padded the rows to whole tiles of it
    else:
        knobs = with_knobs(dense_knobs(rows, tvm_.loop_extent(sch, loops[-1]), lanes), attrs)
    factors: list[Optional[int]] = [None] * len(loops)
    factors[-1] = knobs["column_tile"]
    order = None
    if len(loops) > 1:
        factors[-2] = knobs["row_tile"]
        if rows is None:
            # Symbolic rows: column tiles outside the row tiles, so that the rows one thread
            # takes in turn reuse one column tile of B from L1 instead of streaming all of B each.
            order = list(range(len(loops) - 2)) + [len(loops) - 1, len(loops) - 2]
    tile_reduction(sch, dense, epilogue, factors, len(loops) - 1, lanes, outer_order=order)


@implements("llvm", "MatMul", "Gemm")
class DenseOnCpu(Implementation):
    def schedule(self, sch, target, attrs):
        schedule_dense(sch, target, attrs)

    def knob_space(self, inputs, attrs, outputs, target):
        out = outputs[0].shape
        if len(out) < 2:
            return None  # a matrix-vector product or a dot product: no tiles to choose
        static = [d if isinstance(d, int) else None for d in out[-2:]]
        return dense_knob_space(static[0], static[1], target.vector_lanes)


@implements("llvm", "MatMulInteger")
class IntegerMatMulOnCpu(Implementation):
    def schedule(self, sch, target, attrs):
        from convrnn.compiler import tvm_adapter as tvm_
        # The int32 widening and zero-point shift are read inside the product's register tile.
        for block in tvm_.blocks(sch):
            if tvm_.block_name(sch, block).startswith("shift_"):
                sch.compute_inline(block)
        schedule_dense(sch, target, attrs)
