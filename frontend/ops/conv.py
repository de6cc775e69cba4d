"""Conv (opsets 1-22: the attributes did not change) -> IR Conv, its weight in ONNX's layout
(a target's passes pack it for their kernels: compiler/passes/pack_conv_weights.py)."""
from convrnn.frontend.ops.window_attrs import check_rank, spatial_sizes, window_attrs
from convrnn.frontend.registry import converter


@converter("Conv", since=1)
def convert_conv(ctx):
    x, w, b = ctx.required_input(0), ctx.required_input(1), ctx.input(2)
    if x.type.rank != w.type.rank:
        raise ctx.error(f"input of rank {x.type.rank} and weight of rank {w.type.rank}")
    check_rank(ctx, x.type.rank - 2)
    kernel = list(ctx.attr("kernel_shape", w.type.shape[2:]))
    if [int(k) for k in kernel] != list(w.type.shape[2:]):
        raise ctx.error(f"kernel_shape {kernel} does not match weight shape {list(w.type.shape)}")
    attrs = window_attrs(ctx, kernel, spatial_sizes(ctx))
    group = int(ctx.attr("group", 1))
    attrs.update(group=group, weight_block=0)
    return ctx.emit("Conv", [x, w, b], attrs)
