"""Reading the window attributes shared by Conv, ConvTranspose and the pools.

Registers no converter: it turns ONNX's kernel_shape/strides/dilations/pads/auto_pad, with
their defaults, into explicit lists for the IR.
"""
from __future__ import annotations

from typing import Optional, Sequence

from convrnn.schedules.window import auto_pads, static_spatial


def window_attrs(ctx, kernel: Sequence[int], sizes: Optional[Sequence[int]] = None) -> dict:
    """kernel_shape, strides, dilations and explicit pads (auto_pad resolved against `sizes`,
    the static spatial input dims, which SAME_* padding needs)."""
    rank = len(kernel)
    strides = list(ctx.attr("strides", [1] * rank))
    dilations = list(ctx.attr("dilations", [1] * rank))
    pads = list(ctx.attr("pads", [0] * (2 * rank)))
    auto_pad = ctx.attr("auto_pad", "NOTSET")
    if auto_pad not in ("NOTSET", "", "VALID", "SAME_UPPER", "SAME_LOWER"):
        raise ctx.error(f"unknown auto_pad {auto_pad!r}")
    if auto_pad.startswith("SAME"):
        if sizes is None:
            raise ctx.unsupported(f"auto_pad={auto_pad}")
        pads = auto_pads(auto_pad, sizes, kernel, strides, dilations, pads)
    elif auto_pad == "VALID":
        pads = [0] * (2 * rank)
    for name, values, length in (("strides", strides, rank), ("dilations", dilations, rank), ("pads", pads, 2 * rank)):
        if len(values) != length:
            raise ctx.error(f"{name} {values} should have {length} entries for a {rank}-d window")
    return {"kernel_shape": [int(k) for k in kernel], "strides": [int(s) for s in strides],
            "dilations": [int(d) for d in dilations], "pads": [int(p) for p in pads]}


def spatial_sizes(ctx, index: int = 0) -> list[int]:
    """The static spatial dims of input `index` (an error naming the symbolic one otherwise)."""
    try:
        return static_spatial(ctx.type(index).shape, ctx.node.op_type)
    except ValueError as exc:
        raise ctx.unsupported(str(exc)) from None


def check_rank(ctx, rank: int, supported=(1, 2)) -> None:
    if rank not in supported:
        names = [f"{r}-d" for r in supported]
        listed = ", ".join(names[:-1]) + " and " + names[-1]
        raise ctx.unsupported(f"{rank}-d {ctx.node.op_type} ({listed} are supported)")
