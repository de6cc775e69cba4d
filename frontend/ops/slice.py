"""Slice (starts/ends/axes/steps as attributes before opset 10, inputs from 10).

ONNX clamps out-of-range starts and ends (INT64_MAX means "to the end"); the IR op gets
in-range starts and exact output sizes for every axis.
"""
from convrnn.frontend.registry import converter


def _clamped_range(dim, start, end, step):
    """(first index, count) of ONNX's slice of one axis of length dim."""
    if start < 0:
        start += dim
    if end < 0:
        end += dim
    if step > 0:
        start, end = min(max(start, 0), dim), min(max(end, 0), dim)
        return start, max(0, -(-(end - start) // step))
    start, end = min(max(start, 0), dim - 1), min(max(end, -1), dim - 1)
    return start, max(0, -(-(start - end) // -step))


def _slice(ctx, starts, ends, axes, steps):
    x = ctx.required_input(0)
    shape, rank = x.type.shape, x.type.rank
    axes = list(range(len(starts))) if axes is None else list(axes)
    steps = [1] * len(starts) if steps is None else list(steps)
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise ctx.error("starts, ends, axes and steps differ in length")
    if any(isinstance(v, str) for v in list(starts) + list(ends) + axes + steps):
        raise ctx.unsupported("slice bounds computed from symbolic dims")
    first, step_of, sizes = [0] * rank, [1] * rank, list(shape)
    for start, end, axis, step in zip(starts, ends, axes, steps):
        if not -rank <= axis < rank or step == 0:
            raise ctx.error(f"invalid axis {axis} or step {step}")
        axis %= rank
        dim = shape[axis]
        if isinstance(dim, str):
            if start == 0 and step == 1 and end >= 2**31 - 1:
                continue  # the whole symbolic axis
            raise ctx.unsupported(f"slicing symbolic dim {dim!r}")
        first[axis], sizes[axis] = _clamped_range(dim, int(start), int(end), int(step))
        step_of[axis] = int(step)
    if 0 in sizes:
        raise ctx.unsupported(f"empty slice (output shape {sizes})")
    if list(sizes) == list(shape) and all(s == 1 for s in step_of):
        return [x]
    return ctx.emit("Slice", [x], {"starts": first, "steps": step_of, "sizes": sizes})


@converter("Slice", since=1)
def convert_slice_attributes(ctx):
    return _slice(ctx, ctx.attr("starts"), ctx.attr("ends"), ctx.attr("axes"), None)


@converter("Slice", since=10)
def convert_slice_inputs(ctx):
    return _slice(ctx, ctx.shape_vector(1, "starts"), ctx.shape_vector(2, "ends"),
                  ctx.shape_vector(3, "axes"), ctx.shape_vector(4, "steps"))
