"""ReduceSum / ReduceMean / ReduceMax: axes as an attribute, or as an input from opset 13
(ReduceSum) or 18 (the others); no axes means all axes unless noop_with_empty_axes."""
from convrnn.frontend.registry import converter

_AXES_INPUT_SINCE = {"ReduceSum": 13, "ReduceMean": 18, "ReduceMax": 18}


@converter("ReduceSum", "ReduceMean", "ReduceMax", since=1)
def convert_reduce(ctx):
    x = ctx.required_input(0)
    rank = x.type.rank
    if ctx.opset >= _AXES_INPUT_SINCE[ctx.node.op_type]:
        axes = ctx.constant(1, "axes")
        axes = None if axes is None else [int(a) for a in axes.reshape(-1)]
    else:
        axes = ctx.attr("axes")
    if not axes:
        if ctx.attr("noop_with_empty_axes", 0):
            return [x]
        axes = list(range(rank))
    if not all(-rank <= a < rank for a in axes):
        raise ctx.error(f"axes {axes} are out of range for rank {rank}")
    if rank == 0:
        return [x]
    attrs = {"axes": sorted({a % rank for a in axes}), "keepdims": int(ctx.attr("keepdims", 1))}
    return ctx.emit(ctx.node.op_type, [x], attrs)
