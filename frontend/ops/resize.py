"""Resize: nearest, linear and cubic modes (cubic_coeff_a, exclude_outside), from scales or
sizes, tf_crop_and_resize over the roi input (extrapolation_value), and the antialias, axes
and keep_aspect_ratio_policy of opset 18.

Opset 10 takes (X, scales) only and has no transformation attributes: its coordinates are
asymmetric and its nearest rounding is onnxruntime's "simple" one (NEAREST_MODES)."""
import numpy as np

from convrnn.compiler import symbolic_dims
from convrnn.frontend.registry import converter
from convrnn.schedules.ops.resize import COORDINATE_MODES, MODES, NEAREST_MODES


def _check(ctx, name, value, allowed):
    if value not in allowed:
        raise ctx.unsupported(f"{name} {value!r} (supported: {', '.join(allowed)})")


def _scales_and_sizes(ctx, shape, scales_index=2):
    """Per-axis scales (as the coordinate transform uses them) and output sizes."""
    rank = len(shape)
    axes = ctx.attr("axes") if ctx.opset >= 18 else None
    axes = list(range(rank)) if axes is None else [a % rank for a in axes]
    scales_in = ctx.constant(scales_index, "scales")
    sizes_in = ctx.shape_vector(3, "sizes") if scales_index == 2 and ctx.input(3) is not None else None
    scales, sizes = [1.0] * rank, list(shape)
    if sizes_in:
        if len(sizes_in) != len(axes):
            raise ctx.error(f"{len(sizes_in)} sizes for {len(axes)} axes")
        wanted = dict(zip(axes, sizes_in))
        policy = ctx.attr("keep_aspect_ratio_policy", "stretch")
        for a in axes:
            if isinstance(shape[a], str) or isinstance(wanted[a], str):
                if wanted[a] != shape[a]:  # the ratio of sizes known at run time only
                    if policy != "stretch":
                        raise ctx.unsupported(f"keep_aspect_ratio_policy {policy!r} over symbolic dim {shape[a]!r}")
                    scales[a], sizes[a] = None, wanted[a]
                del wanted[a]
        ratios = {a: np.float32(wanted[a]) / np.float32(shape[a]) for a in wanted}
        if policy != "stretch" and ratios:
            _check(ctx, "keep_aspect_ratio_policy", policy, ("stretch", "not_larger", "not_smaller"))
            common = min(ratios.values()) if policy == "not_larger" else max(ratios.values())
            ratios = {a: common for a in ratios}
            wanted = {a: int(np.floor(common * shape[a] + np.float32(0.5))) for a in ratios}
        for a in wanted:
            scales[a], sizes[a] = float(ratios[a]), int(wanted[a])
    elif scales_in is not None and scales_in.size:
        if scales_in.size != len(axes):
            raise ctx.error(f"{scales_in.size} scales for {len(axes)} axes")
        for a, scale in zip(axes, scales_in.astype(np.float32).reshape(-1)):
            if scale <= 0:
                raise ctx.error(f"scale {scale} of axis {a} is not positive")
            if scale != 1:
                scales[a], sizes[a] = float(scale), _scaled(ctx, shape[a], scale, a)
    else:
        raise ctx.error("neither scales nor sizes is given")
    return scales, sizes


def _scaled(ctx, dim, scale, axis):
    """floor(dim * scale): over a symbolic dim a formula where the scale is whole or 1 / k."""
    if isinstance(dim, int):
        return int(scale * np.float32(dim))
    if float(scale).is_integer():
        return symbolic_dims.mul(dim, int(scale))
    inverse = round(1 / float(scale))
    if np.float32(1) / np.float32(inverse) == scale:
        return symbolic_dims.floordiv(dim, inverse)
    raise ctx.unsupported(f"scale {scale} of symbolic dim {dim!r} (axis {axis}): the output length is not "
                          f"a formula of it (whole scales and 1/k are)")


@converter("Resize", since=10)
def convert_resize_10(ctx):
    x = ctx.required_input(0)
    mode = ctx.attr("mode", "nearest")
    _check(ctx, "mode", mode, MODES)
    scales, sizes = _scales_and_sizes(ctx, x.type.shape, scales_index=1)
    return _emit(ctx, x, scales, sizes, {"mode": mode, "coordinate_transformation_mode": "asymmetric",
                                         "nearest_mode": "simple"})


def _emit(ctx, x, scales, sizes, attrs):
    roi = attrs.get("roi")
    cropped = roi is not None and any(roi[a] != 0 or roi[a + x.type.rank] != 1 for a in range(x.type.rank))
    if sizes == list(x.type.shape) and all(s == 1.0 for s in scales) and not cropped:
        return [x]
    return ctx.emit("Resize", [x], {"sizes": sizes, "scales": scales, **attrs})


@converter("Resize", since=11)
def convert_resize(ctx):
    x = ctx.required_input(0)
    mode = ctx.attr("mode", "nearest")
    coordinate_mode = ctx.attr("coordinate_transformation_mode", "half_pixel")
    nearest_mode = ctx.attr("nearest_mode", "round_prefer_floor")
    _check(ctx, "mode", mode, MODES)
    _check(ctx, "coordinate_transformation_mode", coordinate_mode, COORDINATE_MODES)
    _check(ctx, "nearest_mode", nearest_mode, NEAREST_MODES[:-1])
    scales, sizes = _scales_and_sizes(ctx, x.type.shape)
    attrs = {"mode": mode, "coordinate_transformation_mode": coordinate_mode, "nearest_mode": nearest_mode,
             "cubic_coeff_a": float(ctx.attr("cubic_coeff_a", -0.75)),
             "exclude_outside": int(ctx.attr("exclude_outside", 0)),
             "antialias": int(ctx.attr("antialias", 0)) if ctx.opset >= 18 else 0,
             "roi": _roi(ctx, x.type.rank) if coordinate_mode == "tf_crop_and_resize" else None,
             "extrapolation_value": float(ctx.attr("extrapolation_value", 0.0))}
    return _emit(ctx, x, scales, sizes, attrs)


def _roi(ctx, rank):
    """tf_crop_and_resize's region per axis, starts then ends, as fractions of the input."""
    given = ctx.constant(1, "roi")
    if given is None or given.size == 0:
        raise ctx.error("tf_crop_and_resize needs the roi input")
    given = [float(v) for v in given.reshape(-1)]
    axes = ctx.attr("axes") if ctx.opset >= 18 else None
    axes = list(range(rank)) if axes is None else [a % rank for a in axes]
    if len(given) != 2 * len(axes):
        raise ctx.error(f"roi of {len(given)} values for {len(axes)} axes")
    roi = [0.0] * rank + [1.0] * rank
    for k, axis in enumerate(axes):
        roi[axis], roi[axis + rank] = given[k], given[k + len(axes)]
    return roi
