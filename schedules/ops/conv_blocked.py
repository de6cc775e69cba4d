"""ConvBlocked: a 2-d convolution writing the NCHW{c} activation layout (conv_layout.py).

The blocked_layout pass turns an eligible Conv into one; its weight and bias are laid out
once, at compile time, with the output channels padded up to whole blocks.

attrs: kernel_shape, strides, dilations, pads, group (1, or the channel count: depthwise) as
Conv's; block (c, the output's channel block); in_block (0: X is NCHW [N, C, H, W]; otherwise
X is blocked [N, C/i, H, W, i]); channels (the real output channel count); epilogue as Conv's,
its extra inputs in the output's blocked layout; knobs (cpu/conv_blocked.py).
Inputs and weight layouts:
  X NCHW          W [O/c, C, KH, KW, c]
  X blocked by i  W [O/c, C/i, KH, KW, i, c], or [O/c, 1, KH, KW, C, c] when C < i: the
                  reduction skips a lone block's padded channels
  depthwise       W [O/c, 1, KH, KW, c] (X blocked by c)
then the optional bias B [O/c * c] and the epilogue's extras.
"""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.conv_layout import channel_blocks
from convrnn.schedules.epilogue import check_epilogue
from convrnn.schedules.registry import OpDef, register
from convrnn.schedules.window import check_window_attrs, static_spatial, window_output_dim


def expected_weight_shape(x: TensorType, w: TensorType, attrs) -> tuple:
    """The weight shape a ConvBlocked with this input and these attrs reads."""
    block, in_block = attrs["block"], attrs["in_block"]
    out_blocks = channel_blocks(attrs["channels"], block)
    kernel = tuple(attrs["kernel_shape"])
    if attrs["group"] > 1:
        return (out_blocks, 1, *kernel, block)
    if in_block:
        lone = x.shape[1] == 1 and w.rank == 6 and 0 < w.shape[-2] < in_block
        return (out_blocks, x.shape[1], *kernel, w.shape[-2] if lone else in_block, block)
    return (out_blocks, x.shape[1], *kernel, block)


def check_blocked_input(x: TensorType, attrs) -> None:
    rank, in_block, channels = len(attrs["kernel_shape"]), attrs["in_block"], attrs["channels"]
    if rank != 2:
        raise ValueError(f"a blocked conv is 2-d, not {rank}-d")
    if x.rank != (5 if in_block else 4) or (in_block and x.shape[-1] != in_block):
        raise ValueError(f"input {x} does not match in_block {in_block}")
    if not isinstance(x.shape[1], int):
        raise ValueError(f"input {x} has symbolic channels")
    group = attrs["group"]
    if group > 1 and (group != channels or in_block != attrs["block"]
                      or x.shape[1] != channel_blocks(channels, in_block)):
        raise ValueError(f"a grouped blocked conv must be depthwise over input {x} blocked like its output "
                         f"(group {group}, {channels} channels)")


@register
class ConvBlocked(OpDef):
    name = "ConvBlocked"

    def infer(self, inputs, attrs):
        x, w, b = (list(inputs) + [None])[:3]
        check_blocked_input(x, attrs)
        expected = expected_weight_shape(x, w, attrs)
        if tuple(w.shape) != expected or w.dtype != x.dtype:
            raise ValueError(f"weight {w} does not match input {x} (expected shape {expected})")
        block, rank = attrs["block"], 2
        padded_channels = channel_blocks(attrs["channels"], block) * block
        if b is not None and (tuple(b.shape) != (padded_channels,) or b.dtype != x.dtype):
            raise ValueError(f"bias {b} for {padded_channels} (padded) output channels")
        check_window_attrs(rank, attrs["kernel_shape"], attrs["strides"], attrs["pads"], attrs["dilations"])
        sizes = static_spatial(x.shape[:2 + rank], self.name, symbolic=True)
        pads = attrs["pads"]
        spatial = [window_output_dim(size, k, s, pads[i], pads[i + rank], d) for i, (size, k, s, d) in
                   enumerate(zip(sizes, attrs["kernel_shape"], attrs["strides"], attrs["dilations"]))]
        output = TensorType((x.shape[0], expected[0], *spatial, block), x.dtype)
        check_epilogue(attrs.get("epilogue", ()), list(inputs[3:]), output)
        return [output]

    def compute(self, inputs, attrs, outputs):
        from convrnn.schedules.cpu.conv_blocked import conv_blocked_compute

        x, w, b = (list(inputs) + [None])[:3]
        return [conv_blocked_compute(x, w, b, attrs, outputs[0].shape, inputs[3:])]
