"""MaxPool, AveragePool, GlobalMaxPool, GlobalAveragePool -> the IR pools.

Across opsets: MaxPool gains dilations and the Indices output (8, 10), ceil_mode (10);
AveragePool gains ceil_mode (10) and dilations (19). The Indices output is unsupported.
"""
from convrnn.frontend.ops.window_attrs import check_rank, spatial_sizes, window_attrs
from convrnn.frontend.registry import converter


def _window_pool(ctx):
    x = ctx.required_input(0)
    check_rank(ctx, x.type.rank - 2)
    kernel = ctx.attr("kernel_shape")
    if kernel is None:
        raise ctx.error("kernel_shape is required")
    attrs = window_attrs(ctx, kernel, spatial_sizes(ctx))
    attrs["ceil_mode"] = int(ctx.attr("ceil_mode", 0))
    return attrs


@converter("MaxPool", since=1)
def convert_max_pool(ctx):
    if len(ctx.node.output) > 1 and ctx.node.output[1]:
        raise ctx.unsupported("the Indices output")
    if ctx.type(0).dtype not in ("float32", "float64", "float16", "int8", "uint8"):
        raise ctx.unsupported(f"input type {ctx.type(0).dtype}")
    y = ctx.emit1("MaxPool", [ctx.required_input(0)], _window_pool(ctx))
    return [y] + [None] * (len(ctx.node.output) - 1)


@converter("AveragePool", since=1)
def convert_average_pool(ctx):
    if ctx.opset < 19 and ctx.has_attr("dilations"):
        raise ctx.error("dilations is an AveragePool attribute only from opset 19")
    attrs = _window_pool(ctx)
    attrs["count_include_pad"] = int(ctx.attr("count_include_pad", 0))
    return ctx.emit("AveragePool", [ctx.required_input(0)], attrs)


@converter("GlobalMaxPool", "GlobalAveragePool", since=1)
def convert_global_pool(ctx):
    return ctx.emit(ctx.node.op_type, [ctx.required_input(0)])
