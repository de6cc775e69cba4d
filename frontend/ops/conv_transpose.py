"""ConvTranspose (opsets 1-22: the attributes did not change) -> IR ConvTranspose.

Pads come from `pads`, or from `output_shape` / auto_pad SAME_* (the spec's total padding,
split per auto_pad). The weight stays in ONNX's layout [C, O/g, *K]: the kernel broadcasts its
scalars (schedules/cpu/conv_transpose.py), so no packing helps it.
"""
from convrnn.frontend.ops.window_attrs import check_rank, spatial_sizes, window_attrs
from convrnn.frontend.registry import converter


@converter("ConvTranspose", since=1)
def convert_conv_transpose(ctx):
    x, w, b = ctx.required_input(0), ctx.required_input(1), ctx.input(2)
    if x.type.rank != w.type.rank:
        raise ctx.error(f"input of rank {x.type.rank} and weight of rank {w.type.rank}")
    rank = x.type.rank - 2
    check_rank(ctx, rank)
    kernel = [int(k) for k in ctx.attr("kernel_shape", w.type.shape[2:])]
    if kernel != list(w.type.shape[2:]):
        raise ctx.error(f"kernel_shape {kernel} does not match weight shape {list(w.type.shape)}")
    sizes = spatial_sizes(ctx)
    auto_pad = ctx.attr("auto_pad", "NOTSET")
    attrs = window_attrs(ctx, kernel, sizes)  # pads are replaced below where the output size sets them
    output_padding = [int(p) for p in ctx.attr("output_padding", [0] * rank)]
    if len(output_padding) != rank:
        raise ctx.error(f"output_padding {output_padding} should have {rank} entries")
    output_shape = ctx.attr("output_shape")
    if output_shape is not None or auto_pad.startswith("SAME"):
        targets = [int(d) for d in output_shape[-rank:]] if output_shape is not None \
            else [size * stride for size, stride in zip(sizes, attrs["strides"])]
        attrs["pads"] = _pads_for_output(sizes, kernel, attrs, output_padding, targets, auto_pad)
    group = int(ctx.attr("group", 1))
    attrs.update(output_padding=output_padding, group=group)
    return ctx.emit("ConvTranspose", [x, w, b], attrs)


def _pads_for_output(sizes, kernel, attrs, output_padding, targets, auto_pad):
    """The spec's pads for a requested output size: the larger half at the end for SAME_UPPER,
    at the beginning otherwise; negative where the output is larger than the input gives."""
    begins, ends = [], []
    for size, k, stride, dilation, extra, target in zip(sizes, kernel, attrs["strides"], attrs["dilations"],
                                                         output_padding, targets):
        total = stride * (size - 1) + extra + dilation * (k - 1) + 1 - target
        small, large = total // 2, total - total // 2
        begins.append(small if auto_pad == "SAME_UPPER" else large)
        ends.append(large if auto_pad == "SAME_UPPER" else small)
    return begins + ends
