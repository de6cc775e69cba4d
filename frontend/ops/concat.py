"""Concat along a (possibly negative) axis."""
from convrnn.frontend.registry import converter


@converter("Concat", since=4)
def convert_concat(ctx):
    values = [v for v in ctx.inputs if v is not None]
    rank = values[0].type.rank
    axis = ctx.attr("axis")
    if axis is None or not -rank <= axis < rank:
        raise ctx.error(f"axis {axis} is out of range for rank {rank}")
    # Empty inputs contribute nothing (exporters emit them for optional pieces).
    values = [v for v in values if 0 not in v.type.shape] or values[:1]
    if len(values) == 1:
        return values
    return ctx.emit("Concat", values, {"axis": axis % rank})
