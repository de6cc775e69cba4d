"""ConcatBlocked: Concat along the channels of NCHW{c} values (schedules/conv_layout.py).

Inputs [N, ceil(C_j/c), *S, c]; attrs: "block" (c), "channels" (each input's C_j). Output
channel k of sum(C_j) comes from the input whose channels hold it, so inputs whose C_j are not
whole blocks (an FPN's four 24-channel levels) shift into place; the output's padded
channels are zero.
"""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.conv_layout import channel_blocks
from convrnn.schedules.ops._broadcast import te_shape
from convrnn.schedules.registry import OpDef, register


def channel_offsets(channels: list[int]) -> list[int]:
    """Each input's first channel in the output."""
    return [sum(channels[:j]) for j in range(len(channels))]


@register
class ConcatBlocked(OpDef):
    name = "ConcatBlocked"

    def infer(self, inputs, attrs):
        block, channels = attrs["block"], list(attrs["channels"])
        if len(channels) != len(inputs) or not inputs:
            raise ValueError(f"{len(inputs)} inputs with channels {channels}")
        first = inputs[0]
        for x, count in zip(inputs, channels):
            if x.rank < 3 or x.dtype != first.dtype or x.shape[-1] != block or x.shape[1] != channel_blocks(count, block) \
                    or x.shape[0] != first.shape[0] or x.shape[2:] != first.shape[2:]:
                raise ValueError(f"input {x} does not hold {count} channels in blocks of {block} like {first}")
        return [TensorType((first.shape[0], channel_blocks(sum(channels), block), *first.shape[2:-1], block),
                           first.dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te, tirx

        block, channels = attrs["block"], list(attrs["channels"])
        offsets = channel_offsets(channels)
        dtype = inputs[0].dtype

        def value(n, outer, *rest):
            channel = outer * block + rest[-1]
            result = tirx.const(0, dtype)
            for x, offset, count in reversed(list(zip(inputs, offsets, channels))):
                local = channel - offset
                if offset % block == 0:  # whole blocks: the lanes line up
                    read = x[(n, outer - offset // block, *rest)]
                else:
                    read = x[(n, tirx.floordiv(local, block), *rest[:-1], tirx.floormod(local, block))]
                result = tirx.if_then_else(tirx.all(offset <= channel, channel < offset + count), read, result)
            return result

        return [te.compute(te_shape(outputs[0].shape, inputs), value, name="concat_blocked")]
