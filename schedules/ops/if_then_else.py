"""If whose condition is computed at run time: both branches are compiled, the taken one runs.

Inputs: the condition (bool, one element), then the outer values the then-branch reads, then
those the else-branch reads (each branch's Graph takes its own as inputs, in that order).
Outputs: the branch's outputs, whose types the two branches must agree on.
attrs: then_branch, else_branch (Graphs). No kernel of its own (compiler/control_flow.py).
"""
from __future__ import annotations

from convrnn.schedules.registry import OpDef, register


@register
class If(OpDef):
    name = "If"

    def infer(self, inputs, attrs):
        then_branch, else_branch = attrs["then_branch"], attrs["else_branch"]
        condition = inputs[0]
        if condition is None or condition.dtype != "bool" or condition.symbols or condition.num_elements() != 1:
            raise ValueError(f"the condition must hold one bool, it is {condition}")
        if len(inputs) != 1 + len(then_branch.inputs) + len(else_branch.inputs):
            raise ValueError(f"{len(inputs) - 1} captured values for branches taking "
                             f"{len(then_branch.inputs)} and {len(else_branch.inputs)}")
        then_types = [v.type for v in then_branch.outputs]
        else_types = [v.type for v in else_branch.outputs]
        if then_types != else_types:
            raise ValueError(f"the branches' outputs differ: then {[str(t) for t in then_types]}, "
                             f"else {[str(t) for t in else_types]}")
        return then_types
