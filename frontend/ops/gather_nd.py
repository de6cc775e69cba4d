"""GatherND (batch_dims from opset 12)."""
from convrnn.frontend.registry import converter


@converter("GatherND", since=11)
def convert_gather_nd(ctx):
    batch_dims = int(ctx.attr("batch_dims", 0))
    return ctx.emit("GatherND", [ctx.required_input(0), ctx.required_input(1)], {"batch_dims": batch_dims})
