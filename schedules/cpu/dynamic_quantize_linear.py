"""DynamicQuantizeLinear on the CPU (schedules/ops/dynamic_quantize_linear.py)."""
from __future__ import annotations

from convrnn.schedules.implementations import Implementation, implements
from convrnn.schedules.ops.dynamic_quantize_linear import ROW_VECTORS


@implements("llvm", "DynamicQuantizeLinear")
class DynamicQuantizeLinearOnCpu(Implementation):
    def schedule(self, sch, target, attrs):
        from convrnn.compiler import tvm_adapter as tvm_
        from convrnn.schedules.cpu.generic import parallelize_and_vectorize, schedule_generic
        from convrnn.schedules.cpu.tiling import blocks_by_name, tile_reduction

        stages = blocks_by_name(sch)
        if "min_by_rows" not in stages:
            schedule_generic(sch, target)
            return
        for kind in ("min", "max"):  # row blocks in parallel, the row vectorized
            block = stages[f"{kind}_by_rows"]
            rank = len(tvm_.block_iter_kinds(sch, block)) - 1  # the partial result's
            tile_reduction(sch, block, None, [None] * (rank - 1) + [ROW_VECTORS * target.vector_lanes], rank - 1,
                           target.vector_lanes)
        # The scale and zero point stay scalars of their own (inlined, every element would
        # recompute them); the quantization runs in parallel, vectorized.
        parallelize_and_vectorize(sch, stages["quantize"], target.vector_lanes)
