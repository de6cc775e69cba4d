"""Loop: ONNX's Loop, its body a Graph run once per iteration; no kernel of its own.

Inputs: the max trip count (int64, one element, or absent), the initial condition (bool, one
element, or absent: true), the initial values of the N carried values, then the outer values
the body reads (its captures). Outputs: the N final carried values, then the K scan outputs,
each the body's value of every iteration stacked on a new first axis, of the run-time length
named by attrs["trips"].

attrs: body (Graph: inputs iteration number, condition, the N carried values, the captures;
outputs condition, the N carried values, the K scan values), carried (N), trips.
compiler/control_flow.py lowers the body; the runtime (runtime/program.py) runs the loop.
"""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.registry import OpDef, register


@register
class Loop(OpDef):
    name = "Loop"

    def infer(self, inputs, attrs):
        body, carried = attrs["body"], attrs["carried"]
        if len(body.inputs) != len(inputs) or len(body.outputs) < 1 + carried:
            raise ValueError(f"the body takes {len(body.inputs)} inputs and gives {len(body.outputs)} outputs "
                             f"for a loop of {len(inputs)} inputs and {carried} carried values")
        for index, (given, expected) in enumerate(zip(inputs[:2], ("int64", "bool"))):
            if given is not None and (given.dtype != expected or given.num_elements({s: 1 for s in given.symbols}) != 1
                                      or given.symbols):
                raise ValueError(f"input {index} must hold one {expected}, it is {given}")
        condition = body.outputs[0].type
        if condition.dtype != "bool" or not condition.is_static or condition.num_elements() != 1:
            raise ValueError(f"the body's condition output must hold one bool, it is {condition}")
        finals = []
        for index, (initial, out) in enumerate(zip(inputs[2:2 + carried], body.outputs[1:1 + carried])):
            if initial is None:
                raise ValueError(f"carried value {index} has no initial value")
            if initial != out.type:
                raise ValueError(f"carried value {index} is {initial} before the loop and {out.type} after "
                                 "an iteration: a carried value must keep its type and shape")
            finals.append(initial)
        scans = [TensorType((attrs["trips"], *v.type.shape), v.type.dtype) for v in body.outputs[1 + carried:]]
        return finals + scans
