"""MaxPool, AveragePool, LpPool, GlobalMaxPool, GlobalAveragePool, GlobalLpPool -> the IR
pools, over 1-d, 2-d and 3-d windows.

Across opsets: MaxPool gains the Indices output and storage_order (8), dilations and ceil_mode
(10); AveragePool gains ceil_mode (10) and dilations (19); LpPool's p is a float in opset 1 and
an int from 2, and it gains ceil_mode and dilations (18). A MaxPool whose Indices output is
used is the IR op MaxPoolWithIndices.
"""
from convrnn.frontend.ops.window_attrs import check_rank, spatial_sizes, window_attrs
from convrnn.frontend.registry import converter


def _window_pool(ctx):
    x = ctx.required_input(0)
    check_rank(ctx, x.type.rank - 2, supported=(1, 2, 3))
    kernel = ctx.attr("kernel_shape")
    if kernel is None:
        raise ctx.error("kernel_shape is required")
    attrs = window_attrs(ctx, kernel, spatial_sizes(ctx))
    attrs["ceil_mode"] = int(ctx.attr("ceil_mode", 0))
    return attrs


@converter("MaxPool", since=1)
def convert_max_pool(ctx):
    if ctx.type(0).dtype not in ("float32", "float64", "float16", "int8", "uint8"):
        raise ctx.unsupported(f"input type {ctx.type(0).dtype}")
    attrs = _window_pool(ctx)
    if len(ctx.node.output) > 1 and ctx.node.output[1]:
        storage_order = int(ctx.attr("storage_order", 0))
        if storage_order not in (0, 1):
            raise ctx.error(f"storage_order must be 0 or 1, got {storage_order}")
        return ctx.emit("MaxPoolWithIndices", [ctx.required_input(0)], {**attrs, "storage_order": storage_order})
    y = ctx.emit1("MaxPool", [ctx.required_input(0)], attrs)
    return [y] + [None] * (len(ctx.node.output) - 1)


@converter("AveragePool", since=1)
def convert_average_pool(ctx):
    if ctx.opset < 19 and ctx.has_attr("dilations"):
        raise ctx.error("dilations is an AveragePool attribute only from opset 19")
    attrs = _window_pool(ctx)
    attrs["count_include_pad"] = int(ctx.attr("count_include_pad", 0))
    return ctx.emit("AveragePool", [ctx.required_input(0)], attrs)


def _p(ctx):
    p = ctx.attr("p", 2)
    if p <= 0 or (ctx.opset >= 2 and p != int(p)):
        raise ctx.error(f"p must be a positive integer, got {p}")
    return float(p)


@converter("LpPool", since=1)
def convert_lp_pool(ctx):
    return ctx.emit("LpPool", [ctx.required_input(0)], {**_window_pool(ctx), "p": _p(ctx)})


@converter("GlobalMaxPool", "GlobalAveragePool", since=1)
def convert_global_pool(ctx):
    return ctx.emit(ctx.node.op_type, [ctx.required_input(0)])


@converter("GlobalLpPool", since=1)
def convert_global_lp_pool(ctx):
    return ctx.emit("GlobalLpPool", [ctx.required_input(0)], {"p": _p(ctx)})
