"""Resize as one filter pass per resized axis: cubic, antialiased (linear or cubic) and
tf_crop_and_resize interpolation (the IR Resize op's modes beyond plain nearest and linear).

Each output position i of an axis reads `taps` consecutive input positions starting at
floor(x) - taps/2 + 1 (x its source coordinate), clamped into the axis (edge values), each
weighted by the kernel at (tap - x) * width. width is the scale when antialiasing a shrinking
axis (the kernel stretched to cover 1/scale inputs: more taps), else 1. Weights are
renormalized to sum 1 when antialiasing, and when exclude_outside zeroes the taps outside the
axis. A tf_crop_and_resize position whose coordinate falls outside the axis is the
extrapolation value. This is the ONNX reference's separable algorithm, in float32.
"""
from __future__ import annotations

import math


def tap_count(mode: str, width: float) -> int:
    if mode == "nearest":
        return 1
    support = 1 if mode == "linear" else 2  # the kernel's half-width at width 1
    return 2 - 2 * (math.floor(-support / width) + 1)


def _kernel(mode, distance, a, tirx):
    """The interpolation kernel at a float32 distance (linear: the tent; cubic: Keys' with a)."""
    f32 = lambda v: tirx.const(v, "float32")  # noqa: E731
    d = tirx.abs(distance)
    if mode == "linear":
        return tirx.max(f32(1.0) - d, f32(0.0))
    near = ((f32(a + 2) * d - f32(a + 3)) * d) * d + f32(1.0)
    far = ((f32(a) * d - f32(5 * a)) * d + f32(8 * a)) * d - f32(4 * a)
    return tirx.Select(d <= f32(1.0), near, tirx.Select(d < f32(2.0), far, f32(0.0)))


def filter_axes(x, axes, sizes, scales, attrs, source_coordinate, nearest_index):
    """x resized along each of `axes` in turn; source_coordinate(i, axis) is the float32
    coordinate of output position i, nearest_index(c, n, scale) nearest mode's input index."""
    from convrnn.compiler.tvm_adapter import te, tirx

    mode = attrs["mode"]
    crop = attrs["coordinate_transformation_mode"] == "tf_crop_and_resize"
    current = x
    for step, axis in enumerate(axes):
        n, m, scale = int(x.shape[axis]), int(sizes[axis]), float(scales[axis])
        width = min(scale, 1.0) if attrs.get("antialias", 0) and mode != "nearest" else 1.0
        taps = tap_count(mode, width)
        last = step == len(axes) - 1
        current = _filter_axis(current, axis, n, m, scale, width, taps, attrs, source_coordinate, nearest_index,
                               renormalize=width < 1.0 or (attrs.get("exclude_outside", 0) and mode == "cubic"),
                               dtype=x.dtype if last and not crop else "float32", name=f"resize{axis}")
        if crop:
            current = _extrapolate(current, axis, n, attrs.get("extrapolation_value", 0.0), source_coordinate,
                                   x.dtype if last else "float32", te, tirx)
    return current


def _filter_axis(x, axis, n, m, scale, width, taps, attrs, source_coordinate, nearest_index, renormalize, dtype, name):
    from convrnn.compiler.tvm_adapter import te, tirx

    mode = attrs["mode"]

    def first_tap(i):
        c = source_coordinate(i, axis)
        if mode == "nearest":
            return nearest_index(c, n, scale)
        return tirx.floor(c).astype("int32") - (taps // 2 - 1)

    def raw_weight(i, j):
        if mode == "nearest":
            return tirx.const(1.0, "float32")
        tap = first_tap(i) + j
        weight = _kernel(mode, (tap.astype("float32") - source_coordinate(i, axis)) * tirx.const(width, "float32"),
                         float(attrs.get("cubic_coeff_a", -0.75)), tirx)
        if attrs.get("exclude_outside", 0):
            weight = tirx.Select(tirx.all(tap >= 0, tap < n), weight, tirx.const(0.0, "float32"))
        return weight

    weights = te.compute((m, taps), raw_weight, name=f"{name}_weights")
    if renormalize:
        k = te.reduce_axis((0, taps), name="k")
        total = te.compute((m,), lambda i: te.sum(weights[i, k], axis=k), name=f"{name}_weight_sum")
        raw = weights
        weights = te.compute((m, taps), lambda i, j: raw[i, j] / total[i], name=f"{name}_normalized")
    k = te.reduce_axis((0, taps), name="tap")

    def interpolate(*i):
        tap = tirx.max(tirx.min(first_tap(i[axis]) + k, n - 1), 0)
        index = (*i[:axis], tap, *i[axis + 1:])
        return te.sum(x[index].astype("float32") * weights[i[axis], k], axis=k)

    shape = [*x.shape[:axis], m, *x.shape[axis + 1:]]
    result = te.compute(shape, interpolate, name=name)
    if dtype == "float32":
        return result
    return te.compute(shape, lambda *i: result[i].astype(dtype), name=f"{name}_cast")


def _extrapolate(x, axis, n, value, source_coordinate, dtype, te, tirx):
    def element(*i):
        c = source_coordinate(i[axis], axis)
        inside = tirx.all(c >= tirx.const(0.0, "float32"), c <= tirx.const(float(n - 1), "float32"))
        return tirx.Select(inside, x[i], tirx.const(value, "float32")).astype(dtype)

    return te.compute(x.shape, element, name=f"extrapolate{axis}")
