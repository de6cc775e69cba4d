"""The TE compute of a grouped N-d convolution, shared by Conv and ConvTranspose.

Stages, named so the CPU template (cpu/conv2d.py) can find them:
  "pad"  the zero-padded input (absent when there is no padding),
  "pack" the weight in the blocked layout (absent when it arrives packed or is not blocked),
  "conv" the reduction over input channels and the window,
  "bias" the bias epilogue (absent without bias),
  "epilogue0", "epilogue1", ... the fused elementwise steps (epilogue.py).
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

from convrnn.schedules.conv_layout import weight_block
from convrnn.schedules.epilogue import apply_epilogue


def static_or_expr(dim: Any) -> Any:
    """An int for a constant extent, the expression itself for a symbolic one."""
    value = getattr(dim, "value", dim)
    return value if isinstance(value, int) else dim


def whole_tiles(spatial: list, stride: int, tile: int) -> tuple[Any, Any]:
    """For a window op over a symbolic last axis, computed in whole tiles of `tile` positions
    (TVM 0.27 cannot lower a guarded register tile over a symbolic extent): widen the output's
    last extent in `spatial` up to a multiple of the tile (in place); returns the real width
    (for `crop_width`) and the input positions the widened tiles read past the end (for
    pad_input's `overhang`)."""
    width = spatial[-1]
    spatial[-1] = (width + tile - 1) // tile * tile
    return width, (tile - 1) * stride


def crop_width(out: Any, width: Any) -> Any:
    """The "crop" stage: the real width of an output computed in whole tiles."""
    from convrnn.compiler.tvm_adapter import te

    return te.compute((*out.shape[:-1], width), lambda *i: out[i], name="crop")


def pad_input(x: Any, begins: Sequence[int], ends: Sequence[int], interior: Sequence[int] = (),
              fill: Any = None, overhang: Any = 0) -> Any:
    """Pad the spatial axes (2 .. 2 + len(begins); axes after them, such as the channel block
    of a blocked layout, are kept) with `fill` (default zero; negative pads crop); `interior`
    inserts stride-1 fill values between elements (ConvTranspose). `overhang` more positions
    past the last axis's end are read by whole tiles whose outputs there are cropped: with no
    padding they are the "overhang" stage, clamped reads of the last column and no select, for
    the schedule to inline."""
    from convrnn.compiler.tvm_adapter import te, tirx

    rank = len(begins)
    steps = list(interior) or [1] * rank
    if not any(begins) and not any(ends) and all(s == 1 for s in steps):
        if not overhang:
            return x
        last = 1 + rank
        shape = list(x.shape)
        shape[last] = shape[last] + overhang
        return te.compute(shape, lambda *i: x[(*i[:last], tirx.min(i[last], x.shape[last] - 1), *i[last + 1:])],
                          name="overhang")
    ends = [*ends[:-1], ends[-1] + overhang]
    spatial = [static_or_expr(d) for d in x.shape[2:2 + rank]]
    shape = (list(x.shape[:2]) + [b + (d - 1) * s + 1 + e for b, d, s, e in zip(begins, spatial, steps, ends)]
             + list(x.shape[2 + rank:]))

    def value(n, c, *rest):
        pos, tail = rest[:rank], rest[rank:]
        # Select with a clamped (always valid) index, not if_then_else: both sides may be
        # evaluated, so LLVM can vectorize the rows.
        conditions, index = [], []
        for p, b, d, s in zip(pos, begins, spatial, steps):
            shifted = p - b
            conditions += [shifted >= 0, shifted < (d - 1) * s + 1]
            if s > 1:
                conditions.append(tirx.indexmod(shifted, s) == 0)
                shifted = tirx.indexdiv(shifted, s)
            index.append(tirx.max(tirx.min(shifted, d - 1), 0))
        return tirx.Select(tirx.all(*conditions), x[(n, c, *index, *tail)],
                           tirx.const(0, x.dtype) if fill is None else fill)

    return te.compute(shape, value, name="pad")


def conv_compute(x: Any, w: Any, bias: Optional[Any], attrs: dict[str, Any], out_shape: Sequence[Any],
                 extras: Sequence[Any] = ()) -> Any:
    """x [N, C, *S] (already padded when `pad_input` was applied), w [O, C/g, *K] or packed
    [O/b, C/g, *K, b] (attrs["weight_block"] = b), stride/dilation from attrs; then the bias
    and the fused epilogue (attrs["epilogue"], reading `extras`; see epilogue.py)."""
    from convrnn.compiler.tvm_adapter import te

    strides, dilations, group = attrs["strides"], attrs["dilations"], attrs["group"]
    out_channels = int(out_shape[1])
    in_per_group = int(w.shape[1])
    out_per_group = out_channels // group
    block = attrs.get("weight_block", 0)
    if not block:
        block = weight_block(out_per_group)
        if block:
            w = te.compute((out_channels // block, *w.shape[1:], block),
                           lambda ob, *rest: w[(ob * block + rest[-1], *rest[:-1])], name="pack")

    rc = te.reduce_axis((0, in_per_group), name="rc")
    rk = [te.reduce_axis((0, int(k)), name=f"rk{i}") for i, k in enumerate(attrs["kernel_shape"])]

    def weight(oc):
        if block:
            return w[(oc // block, rc, *rk, oc % block)]
        return w[(oc, rc, *rk)]

    def body(n, oc, *pos):
        channel = oc // out_per_group * in_per_group + rc if group > 1 else rc
        window = [p * s + k * d for p, s, k, d in zip(pos, strides, rk, dilations)]
        return te.sum(x[(n, channel, *window)] * weight(oc), axis=[rc, *rk])

    out = te.compute(tuple(out_shape), body, name="conv")
    if bias is not None:
        conv = out
        out = te.compute(conv.shape, lambda n, oc, *pos: conv[(n, oc, *pos)] + bias[oc], name="bias")
    return apply_epilogue(out, attrs.get("epilogue", ()), extras)

