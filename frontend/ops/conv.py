"""Conv (opsets 1-22: the attributes did not change) -> IR Conv.

A constant weight is packed here, once, into the blocked layout the CPU template reads.
"""
from convrnn.frontend.ops.window_attrs import check_rank, spatial_sizes, window_attrs
from convrnn.frontend.registry import converter
from convrnn.schedules.conv_layout import pack_weight, weight_block


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
    block = weight_block(w.type.shape[0] // max(group, 1))
    weight = ctx.builder.constant_of(w)
    if block and weight is not None:
        w = ctx.make_constant(pack_weight(weight, block), "packed_weight")
        attrs["weight_block"] = block
    return ctx.emit("Conv", [x, w, b], attrs)
