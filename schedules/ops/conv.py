"""Conv: grouped 1-d/2-d convolution in NCHW with explicit pads.

attrs: kernel_shape, strides, dilations (one per spatial axis), pads (begins then ends),
group, weight_block (0: W is [O, C/g, *K]; b: W is packed [O/b, C/g, *K, b], see conv_layout).
Inputs: X, W, optional B [O], then the extra inputs of a fused epilogue (attrs["epilogue"],
see schedules/epilogue.py; set by the fuse_epilogue pass).
"""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.compiler.symbolic_dims import equate
from convrnn.schedules.epilogue import check_epilogue
from convrnn.schedules.registry import OpDef, register
from convrnn.schedules.window import check_window_attrs, spatial_extents, static_spatial, window_output_dim


def weight_out_channels(w: TensorType, block: int) -> int:
    return w.shape[0] * block if block else w.shape[0]


def check_conv_operands(x: TensorType, w: TensorType, b, attrs, out_channels: int, in_per_group: int,
                        negative_pads: bool = False, symbolic: bool = False) -> list:
    """Checks shared with ConvTranspose; returns the spatial dims of X (static, or also
    symbolic when `symbolic`)."""
    rank = len(attrs["kernel_shape"])
    if rank not in (1, 2):
        raise ValueError(f"{rank}-d convolution is not supported (1-d and 2-d are)")
    if x.rank != rank + 2:
        raise ValueError(f"input of rank {x.rank} does not match a {rank}-d kernel")
    check_window_attrs(rank, attrs["kernel_shape"], attrs["strides"], attrs["pads"], attrs["dilations"],
                       negative_pads)
    group = attrs["group"]
    channels = equate(x.shape[1], in_per_group * group, "input channels") if group >= 1 else x.shape[1]
    if group < 1 or channels != in_per_group * group or out_channels % group:
        raise ValueError(f"input channels {x.shape[1]}, weight {w.shape} and group {group} are inconsistent")
    if len({x.dtype, w.dtype} | ({b.dtype} if b is not None else set())) != 1:
        raise ValueError("X, W and B must have one dtype")
    if b is not None and tuple(b.shape) != (out_channels,):
        raise ValueError(f"bias of shape {b.shape} for {out_channels} output channels")
    return static_spatial(x.shape, "Conv", symbolic=symbolic)


@register
class Conv(OpDef):
    name = "Conv"

    def infer(self, inputs, attrs):
        x, w, b = (list(inputs) + [None])[:3]
        extras = list(inputs[3:])
        block = attrs.get("weight_block", 0)
        out_channels = weight_out_channels(w, block)
        kernel = list(attrs["kernel_shape"])
        channels = x.shape[1] if isinstance(x.shape[1], int) else w.shape[1] * max(attrs["group"], 1)
        expected = (w.shape[0], channels // max(attrs["group"], 1), *kernel) + ((block,) if block else ())
        if tuple(w.shape) != expected:
            raise ValueError(f"weight shape {w.shape} does not match kernel {kernel} (expected {expected})")
        sizes = check_conv_operands(x, w, b, attrs, out_channels, w.shape[1], symbolic=True)
        rank = len(kernel)
        pads = attrs["pads"]
        spatial = [window_output_dim(size, k, s, pads[i], pads[i + rank], d)
                   for i, (size, k, s, d) in enumerate(zip(sizes, kernel, attrs["strides"], attrs["dilations"]))]
        output = TensorType((x.shape[0], out_channels, *spatial), x.dtype)
        check_epilogue(attrs.get("epilogue", ()), extras, output)
        return [output]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler import tvm_adapter as tvm_
        from convrnn.schedules.cpu.conv2d import symbolic_width_tile
        from convrnn.schedules.conv_compute import conv_compute, crop_width, pad_input, whole_tiles

        x, w, b = (list(inputs) + [None])[:3]
        rank = len(attrs["kernel_shape"])
        spatial = spatial_extents(outputs[0].shape[2:], x.shape[2:], tvm_.size_var)
        overhang = 0
        tile = symbolic_width_tile(attrs) if isinstance(outputs[0].shape[-1], str) else 1
        if tile > 1:  # a symbolic width in whole tiles, cropped at the end (cpu/conv2d.py)
            width, overhang = whole_tiles(spatial, attrs["strides"][-1], tile)
        padded = pad_input(x, attrs["pads"][:rank], attrs["pads"][rank:], overhang=overhang)
        out = conv_compute(padded, w, b, attrs, [x.shape[0], outputs[0].shape[1], *spatial], extras=inputs[3:])
        return [crop_width(out, width) if tile > 1 else out]
