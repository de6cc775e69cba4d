"""Gather along any (possibly negative) axis; also embedding lookups (int indices into a table)."""
from convrnn.frontend.registry import converter


@converter("Gather", since=1)
def convert_gather(ctx):
    data, indices = ctx.required_input(0), ctx.required_input(1)
    rank = data.type.rank
    axis = ctx.attr("axis", 0)
    if not -rank <= axis < rank:
        raise ctx.error(f"axis {axis} is out of range for rank {rank}")
    return ctx.emit("Gather", [data, indices], {"axis": axis % rank})
