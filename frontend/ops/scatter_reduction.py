"""The "reduction" attribute the scatter ops share, checked against the node's opset."""

# The reductions each opset admits (before 16 there is no attribute: plain replacement).
_SINCE = {"none": 11, "add": 16, "mul": 16, "max": 18, "min": 18}


def reduction_attr(ctx) -> str:
    reduction = ctx.attr("reduction", "none")
    if reduction not in _SINCE:
        raise ctx.error(f"reduction {reduction!r} is not one of {', '.join(_SINCE)}")
    if ctx.opset < _SINCE[reduction]:
        raise ctx.error(f"reduction {reduction!r} is defined from opset {_SINCE[reduction]}")
    return reduction
