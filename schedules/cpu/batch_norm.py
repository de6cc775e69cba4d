"""BatchNormalization on the CPU: its normalized output in parallel, vectorized."""
from __future__ import annotations

from convrnn.schedules.implementations import Implementation, implements


@implements("llvm", "BatchNormalization")
class BatchNormOnCpu(Implementation):
    def schedule(self, sch, target, attrs):
        from convrnn.compiler import tvm_adapter as tvm_
        from convrnn.schedules.cpu.generic import parallelize_and_vectorize

        parallelize_and_vectorize(sch, tvm_.blocks(sch)[-1], target.vector_lanes)
