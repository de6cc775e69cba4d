"""Expand (two-way broadcast of the input and the target shape) and ConstantOfShape over symbolic dims."""
import numpy as np

from convrnn.compiler import symbolic_dims
from convrnn.frontend.registry import converter
from convrnn.schedules.shapes import broadcast_shapes


def _expand(ctx, x, target):
    try:
        with symbolic_dims.collecting_equalities() as equalities:
            shape = broadcast_shapes(x.type.shape, target)
    except ValueError as exc:
        raise ctx.error(str(exc)) from None
    if equalities:  # two symbolic dims ONNX requires equal (a run-time slice's and a range's)
        ctx.builder.refine(equalities)  # rewrites x's type too
        shape = tuple(ctx.builder.refined_dims(shape))
    if shape == x.type.shape:
        return [x]
    return ctx.emit("Expand", [x], {"shape": list(shape)})


@converter("Expand", since=8)
def convert_expand(ctx):
    return _expand(ctx, ctx.required_input(0), ctx.shape_vector(1, "shape"))


@converter("ConstantOfShape", since=9)
def convert_constant_of_shape(ctx):
    # A constant shape was folded already: here the shape holds symbolic dims (e.g. [batch, 256])
    # and the result is the value broadcast to it.
    value = ctx.attr("value")
    scalar = np.zeros(1, np.float32) if value is None else np.asarray(value).reshape(1)
    return _expand(ctx, ctx.make_constant(scalar, "value"), ctx.shape_vector(0, "shape"))

