"""Transpose (no perm: reverse the axes)."""
from convrnn.frontend.registry import converter


@converter("Transpose", since=1)
def convert_transpose(ctx):
    rank = ctx.type(0).rank
    perm = ctx.attr("perm") or list(reversed(range(rank)))
    return ctx.emit("Transpose", [ctx.required_input(0)], {"perm": [p % rank if rank else 0 for p in perm]})
