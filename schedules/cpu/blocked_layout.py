"""FromBlocked on the CPU: NCHW{c} back to a plain layout (schedules/ops/blocked_layout.py)."""
from __future__ import annotations

from convrnn.schedules.implementations import Implementation, implements


@implements("llvm", "FromBlocked")
class FromBlockedOnCpu(Implementation):
    def schedule(self, sch, target, attrs):
        # In the input's order where the channel is not the output's innermost axis: each read
        # is a whole vector (a channel block of one position) and the lanes go out as scattered
        # stores. The generic schedule walked the output's order, gathering every element with
        # a div/mod of its own: the CRNN's features (perm [3, 0, 1, 2]) took 0.063 ms.
        from convrnn.schedules.cpu.generic import schedule_generic
        from convrnn.schedules.cpu.tiling import blocks_by_name, parallel_fused, vectorize_innermost

        stage = blocks_by_name(sch)["from_blocked"]
        loops = sch.get_loops(stage)
        channel = attrs["perm"].index(1) if "perm" in attrs else 1
        block = attrs["block"]
        if channel == len(loops) - 1 or attrs["channels"] % block:
            schedule_generic(sch, target)  # (padded channels: a partial last block)
            return
        outer, lane = sch.split(loops[channel], factors=[None, block])
        rest = loops[channel + 1:]
        sch.reorder(*loops[:channel], outer, *rest, lane)
        parallel_fused(sch, [*loops[:channel], outer, *rest[:-1]])
        vectorize_innermost(sch, stage, target.vector_lanes)
