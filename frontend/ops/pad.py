"""Pad: pads as an attribute before opset 11, as inputs from 11 (constant_value input, axes input from 18)."""
import numpy as np

from convrnn.frontend.registry import converter

_MODES = ("constant", "reflect", "edge", "wrap")


def _emit(ctx, pads, value):
    x = ctx.required_input(0)
    mode = ctx.attr("mode", "constant")
    if mode not in _MODES:
        raise ctx.unsupported(f"pad mode {mode!r}")
    if not any(pads):
        return [x]
    rank = len(pads) // 2
    if any(isinstance(p, str) for p in pads[:rank]):
        raise ctx.unsupported(f"pads {pads}: a begin pad computed from symbolic dims (end pads may be)")
    return ctx.emit("Pad", [x], {"pads": [p if isinstance(p, str) else int(p) for p in pads], "mode": mode,
                                 "value": value})


@converter("Pad", since=2)
def convert_pad_attributes(ctx):
    return _emit(ctx, ctx.attr("pads"), float(ctx.attr("value", 0.0)))


@converter("Pad", since=11)
def convert_pad_inputs(ctx):
    rank = ctx.type(0).rank
    pads = ctx.shape_vector(1, "pads")  # ints, or dim formulas computed from symbolic dims
    value = ctx.constant(2, "constant_value")
    axes = ctx.constant(3, "axes") if ctx.opset >= 18 else None
    if axes is not None:
        axes = [int(a) % rank for a in axes.reshape(-1)]
        if len(pads) != 2 * len(axes):
            raise ctx.error(f"{len(pads)} pads for {len(axes)} axes")
        full = [0] * (2 * rank)
        for k, axis in enumerate(axes):
            full[axis], full[axis + rank] = pads[k], pads[k + len(axes)]
        pads = full
    if len(pads) != 2 * rank:
        raise ctx.error(f"{len(pads)} pads for rank {rank}")
    return _emit(ctx, pads, 0.0 if value is None or value.size == 0 else np.asarray(value).reshape(-1)[0].item())
