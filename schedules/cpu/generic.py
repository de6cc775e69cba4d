"""The generic CPU schedule: every kernel without a template of its own gets this one.

Inline the injective producer stages, then for each remaining block run the fused outer
spatial loops in parallel and vectorize the innermost spatial loop where its extent is a
known multiple of a vector width. Sound for any TE compute, never pathological for
elementwise, data movement and small reductions.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from convrnn.compiler import tvm_adapter as tvm_
from convrnn.compiler.target import Target
from convrnn.schedules.implementations import GENERIC, Implementation, implements

# Fewer iterations than this in the parallel loop and threads cost more than they give.
_MIN_PARALLEL_EXTENT = 2
# Nor do they for a block of fewer loop iterations in all than this (every iteration one
# element or one multiply-add, a vector counted by its elements): a parallel region's launch
# and join take microseconds, what a [1, 256] activation of a decoder step takes in all.
MIN_PARALLEL_WORK = 1 << 14
PARALLEL_TASKS = 1024  # iterations of a parallel loop over a symbolic shape that are enough
SYMBOLIC_EXTENT = 64  # what a symbolic extent is taken to be, for that count


def schedule_generic(sch: Any, target: Target) -> None:
    _inline_injective_producers(sch)
    for block in tvm_.blocks(sch):
        parallelize_and_vectorize(sch, block, target.vector_lanes)


def _inline_injective_producers(sch: Any) -> None:
    for block in tvm_.blocks(sch)[:-1]:
        if "R" in tvm_.block_iter_kinds(sch, block) or not sch.get_consumers(block):
            continue
        try:
            sch.compute_inline(block)
        except tvm_.ScheduleError:
            pass  # not inlinable (e.g. read twice at different indices in a reduction): keep it


def _parallel_depth(sch: Any, loops: list) -> int:
    """How many of the outer loops (over a symbolic shape) to fuse into the parallel loop:
    until they hold PARALLEL_TASKS iterations (a symbolic extent counted as SYMBOLIC_EXTENT),
    the inner ones left serial. Every iteration of the fused loop decomposes its index by
    divisions by the symbolic extents: per vector of an elementwise op that cost more than
    the op (bilstm.int8's quantization of [1, 64, 64, 512] ran at 4 GB/s)."""
    tasks = 1
    for depth, loop in enumerate(loops, start=1):
        extent = tvm_.loop_extent(sch, loop)
        tasks *= SYMBOLIC_EXTENT if extent is None else extent
        if tasks >= PARALLEL_TASKS:
            return depth
    return len(loops)


def vector_factor(extent: "int | None", lanes: int) -> int:
    """The largest power of two <= lanes dividing extent (1 when none helps)."""
    if not extent:
        return 1
    factor = lanes
    while factor > 1 and extent % factor:
        factor //= 2
    return factor if factor >= 4 else 1


def parallelize_and_vectorize(sch: Any, block: Any, lanes: int) -> None:
    loops = sch.get_loops(block)
    kinds = tvm_.block_iter_kinds(sch, block)
    if len(loops) != len(kinds):
        return  # loops no longer map one-to-one onto iterators: leave the block as it is
    extents = [tvm_.loop_extent(sch, loop) for loop in loops]
    if 0 in extents:
        return  # an empty tensor: its loops run no iteration (and cannot be fused or split)
    work = None if None in extents else int(np.prod(extents, dtype=np.int64))
    spatial = [loop for loop, kind in zip(loops, kinds) if kind == "S"]
    if len(spatial) < len(kinds) and kinds[: len(spatial)] != ["S"] * len(spatial):
        return  # reductions interleaved with spatial loops: leave it serial
    if not spatial:
        return
    if len(spatial) == len(kinds):  # no reduction: vectorize the innermost loop
        inner = spatial[-1]
        factor = vector_factor(tvm_.loop_extent(sch, inner), lanes)
        if factor > 1:
            outer, vec = sch.split(inner, factors=[None, factor])
            sch.vectorize(vec)
            spatial = spatial[:-1] + [outer]
        elif len(spatial) > 1:
            # Keep the innermost loop out of the fused parallel loop: fusing it would cost
            # every element a div/mod, and serial it stays contiguous for LLVM to vectorize.
            spatial = spatial[:-1]
    if None in extents:
        spatial = spatial[:_parallel_depth(sch, spatial)]
    fused = sch.fuse(*spatial) if len(spatial) > 1 else spatial[0]
    extent = tvm_.loop_extent(sch, fused)
    if (extent is None or extent >= _MIN_PARALLEL_EXTENT) and (work is None or work >= MIN_PARALLEL_WORK):
        sch.parallel(fused)


@implements("llvm", GENERIC)
class GenericOnCpu(Implementation):
    """Every op the CPU table does not name: its compute, inlined, parallel and vectorized."""

    def schedule(self, sch, target, attrs):
        schedule_generic(sch, target)
