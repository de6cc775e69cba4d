"""The boundaries of the NCHW{c} activation layout (schedules/conv_layout.py):

ToBlocked   [N, C, *S] -> [N, ceil(C/c), *S, c], padded channels zero; attrs: block (c).
FromBlocked [N, ceil(C/c), *S, c] -> [N, C, *S]; attrs: block (c), channels (C), and optionally perm:
            the result transposed by it (as Transpose's perm), in the same pass.

The blocked_layout pass puts them where a chain of blocked ops meets the rest of the graph.
"""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.conv_layout import channel_blocks
from convrnn.schedules.registry import OpDef, register


@register
class ToBlocked(OpDef):
    name = "ToBlocked"

    def infer(self, inputs, attrs):
        (x,) = inputs
        block = attrs["block"]
        if x.rank < 3 or not isinstance(x.shape[1], int) or block < 1:
            raise ValueError(f"{x} cannot take blocks of {block} channels (needs [N, C, spatial...], C static)")
        return [TensorType((x.shape[0], channel_blocks(x.shape[1], block), *x.shape[2:], block), x.dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te, tirx

        (x,) = inputs
        block, channels = attrs["block"], int(x.shape[1])

        def value(n, outer, *rest):
            channel = outer * block + rest[-1]
            # A clamped (always valid) read under a select, so both sides may be evaluated.
            read = x[(n, tirx.min(channel, channels - 1), *rest[:-1])]
            return tirx.Select(channel < channels, read, tirx.const(0, x.dtype))

        shape = (x.shape[0], channel_blocks(channels, block), *x.shape[2:], block)
        return [te.compute(shape, value, name="to_blocked")]


@register
class FromBlocked(OpDef):
    name = "FromBlocked"

    def infer(self, inputs, attrs):
        (x,) = inputs
        channels, block = attrs["channels"], attrs["block"]
        if x.rank < 4 or x.shape[-1] != block or x.shape[1] != channel_blocks(channels, block):
            raise ValueError(f"{x} is not a blocked layout of {channels} channels")
        shape = (x.shape[0], channels, *x.shape[2:-1])
        perm = attrs.get("perm", list(range(len(shape))))
        if sorted(perm) != list(range(len(shape))):
            raise ValueError(f"perm {perm} is not a permutation of the {len(shape)} axes")
        return [TensorType(tuple(shape[p] for p in perm), x.dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te

        (x,) = inputs
        block = attrs["block"]
        shape = (x.shape[0], attrs["channels"], *x.shape[2:-1])
        perm = attrs.get("perm", list(range(len(shape))))

        def value(*index):
            n, c, *pos = [index[perm.index(axis)] for axis in range(len(shape))]  # the unpermuted index
            return x[(n, c // block, *pos, c % block)]

        return [te.compute([shape[p] for p in perm], value, name="from_blocked")]
