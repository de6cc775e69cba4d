"""Reshape, Flatten, Squeeze, Unsqueeze: all become the view op Reshape with a resolved shape."""
from convrnn.frontend.registry import converter
from convrnn.schedules.ops.reshape import product_dim, resolve_reshape


def _view(ctx, shape):
    x = ctx.required_input(0)
    if tuple(shape) == x.type.shape:
        return [x]
    source = ctx.builder.view_sources.get(id(x), x)
    if tuple(shape) == source.type.shape:  # a view back to what a view came from
        return [source]
    (out,) = ctx.emit("Reshape", [source], {"shape": list(shape)})
    ctx.builder.view_sources[id(out)] = source
    return [out]


def _raw_axes(ctx):
    """Squeeze/Unsqueeze axes: an attribute before opset 13, an input from 13 (None: absent)."""
    return ctx.attr("axes") if ctx.opset < 13 else ctx.shape_vector(1, "axes")


def _normalized(ctx, axes, rank):
    if any(isinstance(a, str) for a in axes) or not all(-rank <= a < rank for a in axes) \
            or len({a % rank for a in axes}) != len(axes):
        raise ctx.error(f"invalid axes {axes} for rank {rank}")
    return sorted(a % rank for a in axes)


@converter("Reshape", since=5)
def convert_reshape(ctx):
    x = ctx.required_input(0)
    target = ctx.shape_vector(1, "shape")
    try:
        return _view(ctx, resolve_reshape(x.type.shape, target, bool(ctx.attr("allowzero", 0))))
    except ValueError as exc:
        raise ctx.error(str(exc)) from None


@converter("Flatten", since=1)
def convert_flatten(ctx):
    shape = ctx.type(0).shape
    axis = ctx.attr("axis", 1)
    if not -len(shape) <= axis <= len(shape):
        raise ctx.error(f"axis {axis} is out of range for rank {len(shape)}")
    if axis < 0:
        axis += len(shape)
    try:
        return _view(ctx, [product_dim(shape[:axis]), product_dim(shape[axis:])])
    except ValueError as exc:
        raise ctx.unsupported(str(exc)) from None


@converter("Squeeze", since=1)
def convert_squeeze(ctx):
    shape = ctx.type(0).shape
    axes = _raw_axes(ctx)
    # No axes: every dim known to be 1 (a symbolic dim is assumed not to be).
    axes = [a for a, d in enumerate(shape) if d == 1] if axes is None else _normalized(ctx, axes, len(shape))
    for a in axes:  # ONNX requires a squeezed axis to be 1: a symbolic one is refined to 1
        if isinstance(shape[a], str):
            ctx.builder.refine([(shape[a], 1)])
    shape = ctx.type(0).shape
    if any(shape[a] != 1 for a in axes):
        raise ctx.error(f"cannot squeeze axes {axes} of shape {list(shape)}: not all are 1")
    return _view(ctx, [d for a, d in enumerate(shape) if a not in axes])


@converter("Unsqueeze", since=1)
def convert_unsqueeze(ctx):
    shape = list(ctx.type(0).shape)
    axes = _raw_axes(ctx)
    if not axes:
        raise ctx.error("axes are required")
    for a in _normalized(ctx, axes, len(shape) + len(axes)):
        shape.insert(a, 1)
    return _view(ctx, shape)
