"""The generic CUDA schedule: every kernel without a template of its own is scheduled by TVM's
default GPU rules (dlight: a matrix product's shared-memory tiles, GEMV, reductions, and a
fallback that binds any loop nest to blocks and threads), which read the target's limits
(threads per block, shared memory, warp size)."""
from __future__ import annotations

from convrnn.schedules.implementations import GENERIC, Implementation, implements


@implements("cuda", GENERIC)
class GenericOnCuda(Implementation):
    def apply(self, func, target, attrs):
        from convrnn.compiler import tvm_adapter as tvm_

        return tvm_.default_gpu_schedule(func, target)
