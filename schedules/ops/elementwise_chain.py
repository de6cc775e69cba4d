"""ElementwiseChain: several elementwise ops (unary.py, binary.py) computed in one kernel,
each output element in registers from its inputs, no intermediate tensor in memory.

attrs "steps": the ops in order, each {"op": name, "args": [ref, ...], "attrs": {...}};
a ref k >= 0 is input k, a ref -1 - j is step j's result. The last step is the output.
Each step keeps its own (broadcast) shape; the schedule inlines them into the output's loop.
"""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.registry import OpDef, get_op, register


def _refs(step: dict, inputs: list, results: list):
    return [inputs[ref] if ref >= 0 else results[-1 - ref] for ref in step["args"]]


@register
class ElementwiseChain(OpDef):
    name = "ElementwiseChain"

    def infer(self, inputs, attrs):
        types: list[TensorType] = []
        for step in attrs["steps"]:
            (out,) = get_op(step["op"]).infer(_refs(step, list(inputs), types), step.get("attrs", {}))
            types.append(out)
        return [types[-1]]

    def compute(self, inputs, attrs, outputs):
        # Each step its own stage, so every step sees typed tensor elements (TIR arithmetic
        # has no dtype to ask); the generic schedule inlines them all into the last.
        from convrnn.compiler.tvm_adapter import te, tirx
        from convrnn.schedules.ops._broadcast import broadcast_compute

        results: list = []
        for index, step in enumerate(attrs["steps"]):
            opdef, args, name = get_op(step["op"]), _refs(step, list(inputs), results), f"step{index}"
            if len(args) == 1:
                results.append(te.compute(args[0].shape, _unary_body(opdef, args[0], step.get("attrs", {}), tirx),
                                          name=name))
            else:
                results.append(broadcast_compute(args, _binary_body(opdef, tirx), name=name))
        return [results[-1]]


def _unary_body(opdef, x, attrs, tirx):
    return lambda *i: opdef.expr(x[i], attrs, tirx)


def _binary_body(opdef, tirx):
    return lambda x, y: opdef.expr(x, y, tirx)
