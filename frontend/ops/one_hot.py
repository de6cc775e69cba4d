"""OneHot: depth a compile-time constant (it fixes the output's shape); values [off, on] may be
a run-time tensor. Negative indices count from the end at every opset, as in onnxruntime
(opset 9's text calls them out of range; 11 made them count from the end)."""
from convrnn.frontend.registry import converter


@converter("OneHot", since=9)
def convert_one_hot(ctx):
    indices, values = ctx.required_input(0), ctx.required_input(2)
    depth = ctx.constant(1, "depth")
    if depth is None or depth.size != 1:
        raise ctx.error(f"depth must be a scalar, got {None if depth is None else depth.shape}")
    depth = int(depth.reshape(()).item())
    if depth < 1:
        raise ctx.error(f"depth must be >= 1, got {depth}")
    if values.type.shape != (2,):
        raise ctx.error(f"values must be [off_value, on_value], got shape {values.type.shape}")
    rank = indices.type.rank + 1
    axis = int(ctx.attr("axis", -1))
    if not -rank <= axis < rank:
        raise ctx.error(f"axis {axis} is out of range for an output of rank {rank}")
    attrs = {"axis": axis % rank, "depth": depth}
    return ctx.emit("OneHot", [indices, values], attrs)
