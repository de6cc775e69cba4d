"""ConvTranspose: grouped 1-d/2-d transposed convolution in NCHW with explicit pads.

Computed in its gather form: the compute (for every target) sums each output position's taps
under a test of which taps reach it; the CPU's kernel is written directly in TIR, each output
phase from its own taps only (schedules/cpu/conv_transpose.py); symbolic batch and spatial dims.

attrs: kernel_shape, strides, dilations, pads (begins then ends; negative ones widen the
output), output_padding, group; optional knobs (cpu/conv_transpose.py). Inputs: X, W in ONNX's
layout [C, O/g, *K], optional B [O].
"""
from __future__ import annotations

from convrnn.compiler import symbolic_dims
from convrnn.compiler.ir import Dim, TensorType
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
        group = attrs["group"]
        if attrs.get("weight_block", 0):
            raise ValueError("a ConvTranspose weight is read in ONNX's layout [C, O/g, *K], not packed")
        kernel = list(attrs["kernel_shape"])
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
        """The gather form as one TE compute: out[n, o, y] sums X[n, c, i] W[c, o, k] over the
        taps k whose position y + pad - k·d is a whole multiple i·s inside X. (The CPU's kernel
        is its own TIR, per output phase: schedules/cpu/conv_transpose.py.)"""
        from convrnn.compiler import tvm_adapter as tvm_
        from convrnn.compiler.tvm_adapter import te, tirx
        from convrnn.schedules.window import spatial_extents

        x, w, b = (list(inputs) + [None])[:3]
        group = attrs["group"]
        in_per_group, out_per_group = x.shape[1] // group, w.shape[1]
        strides, dilations, pads = attrs["strides"], attrs["dilations"], attrs["pads"]
        sizes = x.shape[2:]
        rc = te.reduce_axis((0, in_per_group), name="rc")
        taps = [te.reduce_axis((0, int(k)), name=f"rk{i}") for i, k in enumerate(attrs["kernel_shape"])]
        zero = tirx.const(0.0, x.dtype)

        def body(n, o, *pos):
            channel = o // out_per_group * in_per_group + rc
            reached = [p + pads[i] - taps[i] * dilations[i] for i, p in enumerate(pos)]
            inside = tirx.all(*[tirx.all(r >= 0, r % strides[i] == 0, r // strides[i] < sizes[i])
                               for i, r in enumerate(reached)])
            index = [tirx.max(tirx.min(r // strides[i], sizes[i] - 1), 0) for i, r in enumerate(reached)]
            product = x[(n, channel, *index)] * w[(channel, o % out_per_group, *taps)]
            return te.sum(tirx.Select(inside, product, zero), axis=[rc, *taps])

        out_spatial = spatial_extents(outputs[0].shape[2:], x.shape[2:], tvm_.size_var)
        out = te.compute((x.shape[0], outputs[0].shape[1], *out_spatial), body, name="conv_transpose")
        if b is None:
            return [out]
        return [te.compute(out.shape, lambda n, o, *pos: out[(n, o, *pos)] + b[o], name="bias")]
