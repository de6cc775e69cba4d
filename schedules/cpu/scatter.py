"""ScatterElements and ScatterND on the CPU: their computes are TIR externs whose loops are
written scheduled (schedules/ops/_scatter.py), so there is nothing left to schedule."""
from __future__ import annotations

from convrnn.schedules.implementations import Implementation, implements


@implements("llvm", "ScatterElements", "ScatterND")
class ScatterOnCpu(Implementation):
    def schedule(self, sch, target, attrs):
        pass
