"""ScatterElements: reduction from opset 16 (none, add, mul) and 18 (max, min); axis may be negative."""
from convrnn.frontend.ops.scatter_reduction import reduction_attr
from convrnn.frontend.registry import converter


@converter("ScatterElements", since=11)
def convert_scatter_elements(ctx):
    data = ctx.required_input(0)
    rank = data.type.rank
    axis = int(ctx.attr("axis", 0))
    if not -rank <= axis < rank:
        raise ctx.error(f"axis {axis} is out of range for rank {rank}")
    attrs = {"axis": axis % rank, "reduction": reduction_attr(ctx)}
    return ctx.emit("ScatterElements", [data, ctx.required_input(1), ctx.required_input(2)], attrs)
