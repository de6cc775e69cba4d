"""Pools on the CPU (schedules/ops/pool.py). MaxPoolWithIndices takes the generic schedule."""
from __future__ import annotations

from convrnn.schedules.implementations import Implementation, implements

# Fewer (batch, channel) planes than this and the parallel tasks are output rows instead.
MIN_PARALLEL_PLANES = 8


@implements("llvm", "MaxPool", "AveragePool", "LpPool")
class WindowPoolOnCpu(Implementation):
    def schedule(self, sch, target, attrs):
        # Row by row: each parallel task computes whole output rows, taps outside the width
        # loop, and pads only the input rows it reads (compute_at), so the padded copy stays
        # in cache. The width loop is vectorized only at stride 1 over a static width that whole
        # vectors divide: a strided vector load is scalarized by TVM's codegen (5x slower than
        # onnxruntime on ResNet's 3x3/2 pool), while a plain loop, strided or symbolic, is left
        # for LLVM to vectorize (no register tile here, so a symbolic width needs no whole tiles).
        from convrnn.compiler import tvm_adapter as tvm_
        from convrnn.schedules.cpu.tiling import blocks_by_name, parallel_fused, vectorize_innermost

        stages = blocks_by_name(sch)
        pool = stages["pool"]
        rank = len(attrs["kernel_shape"])
        loops = sch.get_loops(pool)
        blocked = bool(attrs.get("block", 0))
        rows, width = loops[:1 + rank], loops[1 + rank]
        if blocked:  # the channel block is the vector, at any stride
            lane, taps = loops[2 + rank], loops[3 + rank:]
            sch.reorder(*rows, width, *taps, lane)
        else:
            taps = loops[2 + rank:]
            sch.reorder(*rows, *taps, width)
        planes = [tvm_.loop_extent(sch, loop) for loop in rows[:2]]
        # Enough (batch, channel) planes keep both cores busy; otherwise split the rows too.
        enough_planes = None not in planes and planes[0] * planes[1] >= MIN_PARALLEL_PLANES
        task = parallel_fused(sch, rows[:2] if enough_planes or rank == 1 else rows)
        if "pad" in stages:
            sch.compute_at(stages["pad"], task)
            if blocked:
                vectorize_innermost(sch, stages["pad"], target.vector_lanes)
        extent = tvm_.loop_extent(sch, width)
        vectorized = blocked or (attrs["strides"][-1] == 1 and extent is not None and extent % target.vector_lanes == 0)
        # Vectorize while the block has its init (TVM needs a complete block), then split it off.
        if blocked:
            vectorize_innermost(sch, pool, target.vector_lanes)
        elif vectorized:
            sch.vectorize(sch.split(width, factors=[None, target.vector_lanes])[1])
        init = sch.decompose_reduction(pool, taps[0])
        if vectorized:
            vectorize_innermost(sch, init, target.vector_lanes)
        for name in ("divide", "lp_root"):  # AveragePool's divisor, LpPool's root
            if name in stages:
                sch.reverse_compute_at(stages[name], task, preserve_unit_loops=True)
                vectorize_innermost(sch, stages[name], target.vector_lanes)


@implements("llvm", "GlobalMaxPool", "GlobalAveragePool", "GlobalLpPool")
class GlobalPoolOnCpu(Implementation):
    def schedule(self, sch, target, attrs):
        from convrnn.schedules.cpu.generic import schedule_generic
        from convrnn.schedules.cpu.tiling import blocks_by_name, parallel_fused, vectorize_innermost

        if not attrs.get("block", 0):
            schedule_generic(sch, target)
            return
        # Blocked: the channel block is the vector, inside the reduction over positions.

        stages = blocks_by_name(sch)
        pool = stages["pool"]
        loops = sch.get_loops(pool)  # n, c, the unit spatial loops, the lane, the taps
        rank = (len(loops) - 3) // 2
        rows, lane, taps = loops[:2], loops[2 + rank], loops[3 + rank:]
        sch.reorder(*rows, *taps, lane)
        task = parallel_fused(sch, rows)
        vectorize_innermost(sch, pool, target.vector_lanes)
        init = sch.decompose_reduction(pool, taps[0])
        vectorize_innermost(sch, init, target.vector_lanes)
        if "divide" in stages:
            sch.reverse_compute_at(stages["divide"], task, preserve_unit_loops=True)
            vectorize_innermost(sch, stages["divide"], target.vector_lanes)
