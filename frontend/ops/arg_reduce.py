"""ArgMax / ArgMin: axis (negative from opset 11), keepdims, select_last_index (opset 12+)."""
from convrnn.frontend.registry import converter


@converter("ArgMax", "ArgMin", since=1)
def convert_arg_reduce(ctx):
    x = ctx.required_input(0)
    rank = x.type.rank
    axis = int(ctx.attr("axis", 0))
    if not -rank <= axis < rank:
        raise ctx.error(f"axis {axis} is out of range for rank {rank}")
    attrs = {"axis": axis % rank, "keepdims": int(ctx.attr("keepdims", 1)),
             "select_last_index": int(ctx.attr("select_last_index", 0))}
    return ctx.emit(ctx.node.op_type, [x], attrs)
