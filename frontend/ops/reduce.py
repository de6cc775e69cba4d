"""The reductions: axes as an attribute, or as an input from opset 13 (ReduceSum) or 18 (the
others); no axes means all axes unless noop_with_empty_axes. With that flag, as over a scalar's
no axes, each element is reduced alone: L1 gives |x|, SumSquare x*x, LogSum log(x) (as
onnxruntime and the reference do), the other reductions x itself. A reduction over an empty
axis is its identity (0, 1, -inf for a max, ...): a constant, as is an empty result."""
import numpy as np

from convrnn.frontend.registry import converter

REDUCTIONS = ("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
              "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare")


# Reductions of one element that are not the element itself.
_NOT_IDENTITY_ALONE = ("ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare")


def _identity(op_type: str, dtype: str):
    """The reduction of no elements."""
    kind = np.dtype(dtype).kind
    if op_type in ("ReduceMax", "ReduceMin"):
        largest = op_type == "ReduceMin"
        if kind == "b":
            return largest
        if kind == "f":
            return np.inf if largest else -np.inf
        info = np.iinfo(dtype)
        return info.max if largest else info.min
    if op_type in ("ReduceLogSum", "ReduceLogSumExp"):
        return -np.inf
    if op_type == "ReduceMean":
        return np.nan
    return 1 if op_type == "ReduceProd" else 0


def _empty_reduction(ctx, x, attrs):
    """The constant result of a reduction over an empty axis, or one with no elements."""
    axes, keep = attrs["axes"], attrs["keepdims"]
    shape = [1 if a in axes else d for a, d in enumerate(x.type.shape) if keep or a not in axes]
    if any(isinstance(d, str) for d in shape):
        raise ctx.unsupported(f"a reduction over an empty axis with symbolic dims (output shape {shape})")
    return [ctx.make_constant(np.full(shape, _identity(ctx.node.op_type, x.type.dtype), dtype=x.type.dtype), "empty")]


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
    if 0 in x.type.shape:
        return _empty_reduction(ctx, x, attrs)
    return ctx.emit(ctx.node.op_type, [x], attrs)
