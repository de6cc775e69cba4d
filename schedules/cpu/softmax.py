"""Softmax and LogSoftmax on the CPU (schedules/ops/softmax.py)."""
from __future__ import annotations

from convrnn.schedules.implementations import Implementation, implements


@implements("llvm", "Softmax", "LogSoftmax")
class SoftmaxOnCpu(Implementation):
    def schedule(self, sch, target, attrs):
        # The generic schedule would inline shifted_exp into the sum (and recompute it):
        # keep every stage, each with parallel rows and a vectorized inner loop.
        from convrnn.compiler import tvm_adapter as tvm_
        from convrnn.schedules.cpu.generic import parallelize_and_vectorize

        for block in tvm_.blocks(sch):
            parallelize_and_vectorize(sch, block, target.vector_lanes)
