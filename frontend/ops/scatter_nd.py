"""ScatterND: reduction from opset 16 (none, add, mul) and 18 (max, min)."""
from convrnn.frontend.ops.scatter_reduction import reduction_attr
from convrnn.frontend.registry import converter


@converter("ScatterND", since=11)
def convert_scatter_nd(ctx):
    inputs = [ctx.required_input(0), ctx.required_input(1), ctx.required_input(2)]
    return ctx.emit("ScatterND", inputs, {"reduction": reduction_attr(ctx)})
