"""ConcatBlocked on the CPU (schedules/ops/concat_blocked.py)."""
from __future__ import annotations

from convrnn.schedules.conv_layout import channel_blocks
from convrnn.schedules.implementations import Implementation, implements
from convrnn.schedules.ops.concat_blocked import channel_offsets

MAX_UNROLLED_CHANNELS = 256  # output channels a position's unrolled copy may hold


@implements("llvm", "ConcatBlocked")
class ConcatBlockedOnCpu(Implementation):
    def schedule(self, sch, target, attrs):
        from convrnn.compiler import tvm_adapter as tvm_
        from convrnn.schedules.cpu.generic import schedule_generic
        from convrnn.schedules.cpu.tiling import parallel_fused

        block, channels = attrs["block"], list(attrs["channels"])
        offsets = channel_offsets(channels)
        (concat,) = tvm_.blocks(sch)
        loops = sch.get_loops(concat)
        if all(o % block == 0 for o in offsets) or len(loops) != 5 \
                or channel_blocks(sum(channels), block) * block > MAX_UNROLLED_CHANNELS:
            schedule_generic(sch, target)
            return
        # Inputs that are not whole blocks shift into place: per position, every output
        # channel unrolled, so each one's source input, block and lane are constants (no
        # division, select or gather per element; the copies of a contiguous run vectorize).
        n, outer, height, width, lane = loops
        sch.reorder(n, height, width, outer, lane)
        parallel_fused(sch, [n, height])
        sch.unroll(outer)
        sch.unroll(lane)
