"""WinogradConv: a 3x3, stride-1 convolution computed by Winograd's F(m x m, 3 x 3) (NCHW).

The select_winograd pass turns an eligible Conv into one (compiler/passes/select_winograd.py).
Inputs: X [N, C, H, W], U the transformed weight [alpha, alpha, K/L, C, L]
(schedules/winograd.py), optional B [K], then the extra inputs of a fused epilogue.
attrs: tile (m: 2 or 4), pads (top, left, bottom, right), epilogue (as Conv's), knobs; and from
the blocked_layout pass, block (L: the output, and the epilogue's extras, are NCHW{L}
[N, K/L, OH, OW, L]) and in_block (L: X is NCHW{L} too).
"""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.epilogue import check_epilogue
from convrnn.schedules.registry import OpDef, register
from convrnn.schedules.winograd import CHANNEL_BLOCK, MATRICES


@register
class WinogradConv(OpDef):
    name = "WinogradConv"

    def infer(self, inputs, attrs):
        x, u, b = (list(inputs) + [None])[:3]
        tile, pads = attrs["tile"], attrs["pads"]
        if tile not in MATRICES:
            raise ValueError(f"Winograd tile {tile} is not one of {sorted(MATRICES)}")
        block, in_block = attrs.get("block", 0), attrs.get("in_block", 0)
        if block not in (0, CHANNEL_BLOCK) or in_block not in (0, block) or in_block and x.shape[-1] != in_block:
            raise ValueError(f"blocks of {block} (output) and {in_block} (input {x}): only {CHANNEL_BLOCK} is supported")
        if x.rank != (5 if in_block else 4) or not all(isinstance(d, int) for d in x.shape[1:]):
            raise ValueError(f"input {x} is not NCHW (or NCHW{{c}}) with static channels and spatial dims")
        in_channels = x.shape[1] * (in_block or 1)
        alpha = tile + 2
        if u.rank != 5 or u.shape[:2] != (alpha, alpha) or u.shape[3] != in_channels or u.shape[4] != CHANNEL_BLOCK:
            raise ValueError(f"transformed weight {u} does not match input {x} and tile {tile}")
        if in_channels % CHANNEL_BLOCK or len(pads) != 4 or min(pads) < 0 or x.dtype != u.dtype:
            raise ValueError(f"input {x} with pads {pads} cannot take a Winograd conv")
        out_channels = u.shape[2] * CHANNEL_BLOCK
        if b is not None and (b.shape != (out_channels,) or b.dtype != x.dtype):
            raise ValueError(f"bias {b} for {out_channels} output channels")
        height, width = (x.shape[2] + pads[0] + pads[2] - 2, x.shape[3] + pads[1] + pads[3] - 2)
        if height < 1 or width < 1:
            raise ValueError(f"a 3x3 window does not fit input {x} with pads {pads}")
        if block:
            output = TensorType((x.shape[0], out_channels // block, height, width, block), x.dtype)
        else:
            output = TensorType((x.shape[0], out_channels, height, width), x.dtype)
        check_epilogue(attrs.get("epilogue", ()), list(inputs[3:]), output)
        return [output]

    def compute(self, inputs, attrs, outputs):
        from convrnn.schedules.epilogue import apply_epilogue
        from convrnn.schedules.cpu.winograd import winograd_compute

        x, u, b = (list(inputs) + [None])[:3]
        out = winograd_compute(x, u, b, attrs, outputs[0].shape)
        return [apply_epilogue(out, attrs.get("epilogue", ()), inputs[3:])]
