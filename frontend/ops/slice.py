"""Slice (starts/ends/axes/steps as attributes before opset 10, inputs from 10).

ONNX clamps out-of-range starts and ends (INT64_MAX means "to the end"); the IR op gets
in-range starts and exact output sizes for every axis.

A symbolic axis (length N unknown until run time) is sliced where the output length is a
formula of N (compiler/symbolic_dims.py):
  * a window whose start and end both count from the same side of the axis, e.g. start -k,
    end INT64_MAX (the last k steps), or start a >= 0, end a + k: a fixed length;
  * from index a to N + e (e <= 0; INT64_MAX is the end), forwards: (N + e - a) / step steps
    rounded up; or backwards from N + s to e: the whole axis is one such case;
  * from index a to an end E computed from symbolic dims, step 1: min(E, N) - a.
A slice is exact when N is at least as long as its bounds reach (the converter assumes so:
the formula has no term for ONNX's shorter, clamped result); on a shorter axis the kernel
clamps its reads into the axis, so it never reads out of bounds, but the result is then
not ONNX's. The IR start of a window counted from the end is negative: N + start.

Starts or ends that are run-time tensors (a loop's counter) give output lengths known only
once they are computed: run-time dims (compiler/bound_dims.py).
"""
import numpy as np

from convrnn.compiler import symbolic_dims
from convrnn.compiler.errors import UnsupportedError
from convrnn.frontend.registry import converter

# Bounds at least this large stand for "past either end" (exporters write INT32/INT64 MAX/MIN).
_HUGE = 2**31 - 1


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


def _position(bound, step, is_start):
    """A bound on an axis of unknown length N as (from_end, offset): index offset, or N + offset,
    after ONNX's clamping of huge bounds (assuming N exceeds every small bound)."""
    if bound >= _HUGE:  # clamped to N (step > 0) or N - 1 (step < 0)
        return True, 0 if step > 0 else -1
    if bound <= -_HUGE:  # clamped to 0, or to -1 for an end with step < 0
        return False, -1 if (step < 0 and not is_start) else 0
    return bound < 0, bound


def _symbolic_range(ctx, dim, axis, start, end, step):
    """(IR start, output dim) of a slice of the symbolic axis `axis` of length `dim`."""
    s_end, s_off = _position(start, step, True)
    e_end, e_off = _position(end, step, False)
    if s_end == e_end:  # both count from the same side: a fixed length
        count = max(0, -(-(e_off - s_off) // step)) if step > 0 else max(0, -(-(s_off - e_off) // -step))
        if count == 0:
            raise ctx.unsupported(f"empty slice of symbolic dim {dim!r} (axis {axis})")
        return s_off, count
    if step > 0 and not s_end and s_off >= 0 and e_off <= 0:  # from index a to N + e: N + e - a
        return s_off, symbolic_dims.ceildiv(symbolic_dims.add(dim, e_off - s_off), step)
    if step < 0 and s_end and s_off <= -1 and e_off >= -1:  # from N + s down to e
        return s_off, symbolic_dims.ceildiv(symbolic_dims.add(dim, s_off - e_off), -step)
    raise ctx.unsupported(
        f"slicing symbolic dim {dim!r} (axis {axis}) with start {start}, end {end}, step {step}: "
        f"the output length is not a formula of {dim!r}; fix it with input_shapes")


def _slice(ctx, starts, ends, axes, steps):
    x = ctx.required_input(0)
    shape, rank = x.type.shape, x.type.rank
    axes = list(range(len(starts))) if axes is None else list(axes)
    steps = [1] * len(starts) if steps is None else list(steps)
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise ctx.error("starts, ends, axes and steps differ in length")
    if any(isinstance(v, str) for v in list(starts) + axes + steps):
        raise ctx.unsupported("slice starts, axes or steps computed from symbolic dims (ends may be)")
    first, step_of, sizes = [0] * rank, [1] * rank, list(shape)
    for start, end, axis, step in zip(starts, ends, axes, steps):
        if not -rank <= axis < rank or step == 0:
            raise ctx.error(f"invalid axis {axis} or step {step}")
        axis %= rank
        dim = shape[axis]
        if isinstance(end, str):  # an end computed from symbolic dims (a dim, so >= 1): clamped to the axis
            if step != 1 or not 0 <= int(start):
                raise ctx.unsupported(f"slice to the symbolic end {end!r} with start {start}, step {step}")
            first[axis] = int(start)
            sizes[axis] = symbolic_dims.sub(symbolic_dims.minimum(end, dim), int(start))
        elif isinstance(dim, str):
            first[axis], sizes[axis] = _symbolic_range(ctx, dim, axis, int(start), int(end), int(step))
        else:
            first[axis], sizes[axis] = _clamped_range(dim, int(start), int(end), int(step))
        step_of[axis] = int(step)
    if 0 in sizes:  # an empty result holds no data: a constant of its shape
        if any(isinstance(d, str) for d in sizes):
            raise ctx.unsupported(f"empty slice with symbolic dims (output shape {sizes})")
        return [ctx.make_constant(np.zeros(sizes, dtype=x.type.dtype), "empty")]
    if list(sizes) == list(shape) and all(s == 1 for s in step_of) and not any(first):
        return [x]
    return ctx.emit("Slice", [x], {"starts": first, "steps": step_of, "sizes": sizes})


@converter("Slice", since=1)
def convert_slice_attributes(ctx):
    return _slice(ctx, ctx.attr("starts"), ctx.attr("ends"), ctx.attr("axes"), None)


def _run_time_slice(ctx, axes, steps):
    """A slice whose starts or ends are run-time tensors: SliceBounds clamps them as ONNX does
    and binds each count to a new run-time dim; DynamicSlice reads from the first indices."""
    x = ctx.required_input(0)
    starts, ends = ctx.required_input(1), ctx.required_input(2)
    count = starts.type.num_elements() if not starts.type.symbols else None
    axes = list(range(count or 0)) if axes is None else list(axes)
    steps = [1] * len(axes) if steps is None else list(steps)
    if any(isinstance(v, str) for v in axes + steps):
        raise ctx.unsupported("slice axes or steps computed from symbolic dims with run-time starts or ends")
    steps = [int(s) for s in steps]
    if len(steps) != len(axes) or starts.type.shape != (len(axes),) or ends.type.shape != (len(axes),):
        raise ctx.error(f"starts {starts.type}, ends {ends.type}, axes {axes} and steps {steps} differ in length")
    if any(not -x.type.rank <= a < x.type.rank for a in axes) or 0 in steps:
        raise ctx.error(f"invalid axes {axes} or steps {steps} for an input of rank {x.type.rank}")
    axes = [a % x.type.rank for a in axes]
    if len(set(axes)) != len(axes):
        raise ctx.error(f"axes {axes} repeat an axis")
    dims = [ctx.new_dim(f"slice{axis}") for axis in axes]
    firsts, _ = ctx.emit("SliceBounds", [x, starts, ends], {"axes": axes, "steps": steps, "binds": dims}, temp=True)
    sizes = list(x.type.shape)
    for axis, dim in zip(axes, dims):
        sizes[axis] = dim
    return ctx.emit("DynamicSlice", [x, firsts], {"axes": axes, "steps": steps, "sizes": sizes})


@converter("Slice", since=10)
def convert_slice_inputs(ctx):
    axes, steps = ctx.shape_vector(3, "axes"), ctx.shape_vector(4, "steps")
    try:
        starts, ends = ctx.shape_vector(1, "starts"), ctx.shape_vector(2, "ends")
    except UnsupportedError:
        return _run_time_slice(ctx, axes, steps)
    return _slice(ctx, starts, ends, axes, steps)
