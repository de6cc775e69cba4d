"""LpNormalization (axis default -1, p default 2) and InstanceNormalization (epsilon default
1e-5). Their later versions only widen the admitted types."""
from convrnn.frontend.registry import converter


@converter("LpNormalization", since=1)
def convert_lp_normalization(ctx):
    x = ctx.required_input(0)
    axis, p = int(ctx.attr("axis", -1)), int(ctx.attr("p", 2))
    if not -x.type.rank <= axis < x.type.rank:
        raise ctx.error(f"axis {axis} is out of range for rank {x.type.rank}")
    if p not in (1, 2):
        raise ctx.error(f"p must be 1 or 2, got {p}")
    return ctx.emit("LpNormalization", [x], {"axis": axis % x.type.rank, "p": p})


@converter("InstanceNormalization", since=1)
def convert_instance_normalization(ctx):
    inputs = [ctx.required_input(i) for i in range(3)]
    return ctx.emit("InstanceNormalization", inputs, {"epsilon": float(ctx.attr("epsilon", 1e-5))})
