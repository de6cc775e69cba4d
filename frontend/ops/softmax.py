"""Softmax, LogSoftmax and Hardmax: before opset 13 over every axis from `axis` on (default 1),
from 13 along the one axis `axis` (default -1)."""
from convrnn.frontend.registry import converter


def _axes(ctx, default, trailing):
    rank = ctx.type(0).rank
    axis = ctx.attr("axis", default)
    if not -rank <= axis < rank:
        raise ctx.error(f"axis {axis} is out of range for rank {rank}")
    axis %= rank
    return list(range(axis, rank)) if trailing else [axis]


@converter("Softmax", "LogSoftmax", "Hardmax", since=1)
def convert_softmax_coerced(ctx):
    return ctx.emit(ctx.node.op_type, [ctx.required_input(0)], {"axes": _axes(ctx, 1, trailing=True)})


@converter("Softmax", "LogSoftmax", "Hardmax", since=13)
def convert_softmax(ctx):
    return ctx.emit(ctx.node.op_type, [ctx.required_input(0)], {"axes": _axes(ctx, -1, trailing=False)})
