"""ConvTranspose: grouped 1-d/2-d transposed convolution in NCHW with explicit pads.

Computed as the equivalent stride-1 Conv over the input with stride-1 zeros inserted and
padded by dilation*(kernel-1) minus the pads (plus output_padding at the end), with the
flipped, channel-swapped weight; the Conv template schedules it.

attrs: kernel_shape, strides, dilations, pads (begins then ends; negative ones widen the
output), output_padding, group,
weight_block (0: W is ONNX's [C, O/g, *K]; b: W is the equivalent Conv weight packed
[O/b, C/g, *K, b], see conv_layout). Inputs: X, W, optional B [O].
"""
from __future__ import annotations

from convrnn.compiler import symbolic_dims
from convrnn.compiler.ir import Dim, TensorType
from convrnn.schedules.ops._broadcast import te_shape
from convrnn.schedules.ops.conv import check_conv_operands
from convrnn.schedules.registry import OpDef, register


def transpose_output_dim(size: Dim, kernel: int, stride: int, pad_begin: int, pad_end: int,
                         dilation: int, output_padding: int) -> Dim:
    """stride * (size - 1) + output_padding + dilation * (kernel - 1) + 1 - pads (a formula over
    a symbolic size)."""
    out = symbolic_dims.add(symbolic_dims.mul(stride, symbolic_dims.sub(size, 1)),
                            output_padding + dilation * (kernel - 1) + 1 - pad_begin - pad_end)
    if isinstance(out, int) and out <= 0:
        raise ValueError(f"pads ({pad_begin}, {pad_end}) leave no output of an input of {size}")
    return out


@register
class ConvTranspose(OpDef):
    name = "ConvTranspose"

    def infer(self, inputs, attrs):
        x, w, b = (list(inputs) + [None])[:3]
        block, group = attrs.get("weight_block", 0), attrs["group"]
        kernel = list(attrs["kernel_shape"])
        if block:
            out_channels, in_per_group = w.shape[0] * block, w.shape[1]
            expected = (w.shape[0], x.shape[1] // max(group, 1), *kernel, block)
        else:
            out_channels, in_per_group = w.shape[1] * group, x.shape[1] // max(group, 1)
            expected = (x.shape[1], w.shape[1], *kernel)
        if tuple(w.shape) != expected:
            raise ValueError(f"weight shape {w.shape} does not match kernel {kernel} (expected {expected})")
        sizes = check_conv_operands(x, w, b, attrs, out_channels, in_per_group, negative_pads=True, symbolic=True)
        rank = len(kernel)
        pads, extra = attrs["pads"], attrs["output_padding"]
        if len(extra) != rank or any(e < 0 for e in extra):
            raise ValueError(f"output_padding {extra} should have {rank} entries >= 0")
        spatial = [transpose_output_dim(size, kernel[i], attrs["strides"][i], pads[i], pads[i + rank],
                                        attrs["dilations"][i], extra[i]) for i, size in enumerate(sizes)]
        return [TensorType((x.shape[0], out_channels, *spatial), x.dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te
        from convrnn.schedules.conv_compute import conv_compute, pad_input

        x, w, b = (list(inputs) + [None])[:3]
        kernel, dilations, group = attrs["kernel_shape"], attrs["dilations"], attrs["group"]
        rank = len(kernel)
        reach = [d * (k - 1) for d, k in zip(dilations, kernel)]
        pads, extra = attrs["pads"], attrs["output_padding"]
        padded = pad_input(x, [r - p for r, p in zip(reach, pads[:rank])],
                           [r - p + e for r, p, e in zip(reach, pads[rank:], extra)], interior=attrs["strides"])
        if not attrs.get("weight_block", 0):
            in_per_group, out_per_group = int(x.shape[1]) // group, int(w.shape[1])

            def flipped(oc, ic, *taps):
                channel = oc // out_per_group * in_per_group + ic
                return w[(channel, oc % out_per_group, *[k - 1 - t for k, t in zip(kernel, taps)])]

            w = te.compute((out_per_group * group, in_per_group, *kernel), flipped, name="flip")
        conv_attrs = dict(attrs, strides=[1] * rank)
        shape = te_shape(outputs[0].shape, [x])  # a formula spatial dim: a variable bound from the output
        return [conv_compute(padded, w, b, conv_attrs, [x.shape[0], *shape[1:]])]

    def schedule(self, sch, target, attrs):
        from convrnn.schedules.conv2d_cpu import schedule_conv

        schedule_conv(sch, target, attrs)
