"""GatherElements (opset 11+; axis may be negative)."""
from convrnn.frontend.registry import converter


@converter("GatherElements", since=11)
def convert_gather_elements(ctx):
    data, indices = ctx.required_input(0), ctx.required_input(1)
    rank = data.type.rank
    axis = int(ctx.attr("axis", 0))
    if not -rank <= axis < rank:
        raise ctx.error(f"axis {axis} is out of range for rank {rank}")
    return ctx.emit("GatherElements", [data, indices], {"axis": axis % rank})

