"""The reductions: axes as an attribute, or as an input from opset 13 (ReduceSum) or 18 (the
others); no axes means all axes unless noop_with_empty_axes. With that flag, as over a scalar's
no axes, each element is reduced alone: L1 gives |x|, SumSquare x*x, LogSum log(x) (as
onnxruntime and the reference do), the other reductions x itself."""
from convrnn.frontend.registry import converter

REDUCTIONS = ("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
              "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare")


# Reductions of one element that are not the element itself.
_NOT_IDENTITY_ALONE = ("ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare")


def _axes_input_since(op_type: str) -> int:
    return 13 if op_type == "ReduceSum" else 18


def _each_element_alone(ctx, x):
    if ctx.node.op_type not in _NOT_IDENTITY_ALONE:
        return [x]
    # A trailing unit axis to reduce over (a view: no copy).
    column = ctx.emit1("Reshape", [x], {"shape": [*x.type.shape, 1]}, temp=True)
    return ctx.emit(ctx.node.op_type, [column], {"axes": [x.type.rank], "keepdims": 0})


@converter(*REDUCTIONS, since=1)
def convert_reduce(ctx):
    x = ctx.required_input(0)
    rank = x.type.rank
    if ctx.opset >= _axes_input_since(ctx.node.op_type):
        axes = ctx.constant(1, "axes")
        axes = None if axes is None else [int(a) for a in axes.reshape(-1)]
    else:
        axes = ctx.attr("axes")
    if not axes:
        if ctx.attr("noop_with_empty_axes", 0) or rank == 0:
            return _each_element_alone(ctx, x)
        axes = list(range(rank))
    if not all(-rank <= a < rank for a in axes):
        raise ctx.error(f"axes {axes} are out of range for rank {rank}")
    attrs = {"axes": sorted({a % rank for a in axes}), "keepdims": int(ctx.attr("keepdims", 1))}
    return ctx.emit(ctx.node.op_type, [x], attrs)
