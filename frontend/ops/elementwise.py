"""Elementwise ops that map one-to-one onto an IR op of the same name."""
from convrnn.frontend.registry import converter


@converter("Relu", "Sigmoid", "Tanh", since=1)
def convert_unary(ctx):
    return ctx.emit(ctx.node.op_type, [ctx.required_input(0)])


@converter("Add", "Sub", "Mul", since=1)
def convert_binary(ctx):
    if ctx.opset < 7 and ctx.attr("broadcast", 0):
        raise ctx.unsupported("legacy broadcast attribute (opset < 7)")
    return ctx.emit(ctx.node.op_type, [ctx.required_input(0), ctx.required_input(1)])
