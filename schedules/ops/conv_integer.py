"""ConvInteger: int32 Y = conv(x - x_zero_point, w - w_zero_point), grouped 1-d/2-d, NCHW.

Inputs x, w (uint8 or int8), x_zero_point (None or one element), w_zero_point (None, one
element, or one per output channel). attrs: kernel_shape, strides, dilations, pads (begins
then ends), group. Padding holds x's zero point, as in onnxruntime (im2col pads with it): a
padded position adds nothing. Products accumulate in int32.
"""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.ops.matmul_integer import INTEGER_OPERANDS
from convrnn.schedules.registry import OpDef, register
from convrnn.schedules.window import check_window_attrs, spatial_extents, static_spatial, window_output_dim


def _first(tensor):
    return tensor[(0,) * len(tensor.shape)]


@register
class ConvInteger(OpDef):
    name = "ConvInteger"

    def infer(self, inputs, attrs):
        x, w, x_zero, w_zero = (list(inputs) + [None, None])[:4]
        for operand, zero, what in ((x, x_zero, "x"), (w, w_zero, "w")):
            if operand.dtype not in INTEGER_OPERANDS:
                raise ValueError(f"{what} must be uint8 or int8, got {operand.dtype}")
            if zero is not None and zero.dtype != operand.dtype:
                raise ValueError(f"{what}'s zero point is {zero.dtype}, {what} is {operand.dtype}")
        kernel = list(attrs["kernel_shape"])
        rank = len(kernel)
        if rank not in (1, 2) or x.rank != rank + 2 or w.rank != rank + 2 or list(w.shape[2:]) != kernel:
            raise ValueError(f"x {x.shape} and w {w.shape} do not make a {rank}-d convolution")
        check_window_attrs(rank, kernel, attrs["strides"], attrs["pads"], attrs["dilations"], False)
        group = attrs["group"]
        if group < 1 or x.shape[1] != w.shape[1] * group or w.shape[0] % group:
            raise ValueError(f"input channels {x.shape[1]}, weight {w.shape} and group {group} are inconsistent")
        if x_zero is not None and x_zero.shape not in ((), (1,)):
            raise ValueError(f"x's zero point must be one element, got {x_zero.shape}")
        if w_zero is not None and w_zero.shape not in ((), (1,), (w.shape[0],)):
            raise ValueError(f"w's zero point {w_zero.shape} is neither one element nor one per output channel")
        sizes = static_spatial(x.shape, "ConvInteger", symbolic=True)
        pads = attrs["pads"]
        spatial = [window_output_dim(size, k, s, pads[i], pads[i + rank], d)
                   for i, (size, k, s, d) in enumerate(zip(sizes, kernel, attrs["strides"], attrs["dilations"]))]
        return [TensorType((x.shape[0], w.shape[0], *spatial), "int32")]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler import tvm_adapter as tvm_
        from convrnn.compiler.tvm_adapter import te
        from convrnn.schedules.conv_compute import pad_input

        x, w, x_zero, w_zero = (list(inputs) + [None, None])[:4]
        rank = len(attrs["kernel_shape"])

        def shift_x(*i):
            value = x[i].astype("int32")
            return value if x_zero is None else value - _first(x_zero).astype("int32")

        def shift_w(oc, *rest):
            value = w[(oc, *rest)].astype("int32")
            if w_zero is None:
                return value
            zero = w_zero[oc] if len(w_zero.shape) == 1 and not _is_one(w_zero.shape[0]) else _first(w_zero)
            return value - zero.astype("int32")

        shifted_x = te.compute(x.shape, shift_x, name="shift_x")
        shifted_w = te.compute(w.shape, shift_w, name="shift_w")
        padded = pad_input(shifted_x, attrs["pads"][:rank], attrs["pads"][rank:])
        spatial = spatial_extents(outputs[0].shape[2:], x.shape[2:], tvm_.size_var)
        strides, dilations, group = attrs["strides"], attrs["dilations"], attrs["group"]
        in_per_group, out_per_group = int(w.shape[1]), int(w.shape[0]) // group
        rc = te.reduce_axis((0, in_per_group), name="rc")
        rk = [te.reduce_axis((0, int(k)), name=f"rk{i}") for i, k in enumerate(attrs["kernel_shape"])]

        def body(n, oc, *pos):
            channel = oc // out_per_group * in_per_group + rc if group > 1 else rc
            window = [p * s + k * d for p, s, k, d in zip(pos, strides, rk, dilations)]
            return te.sum(padded[(n, channel, *window)] * shifted_w[(oc, rc, *rk)], axis=[rc, *rk])

        return [te.compute((x.shape[0], w.shape[0], *spatial), body, name="conv")]


def _is_one(dim) -> bool:
    return getattr(dim, "value", dim) == 1
