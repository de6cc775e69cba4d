"""Resize by nearest, (multi-)linear or cubic interpolation over any axes.

attrs: "sizes" (the output shape), "scales" (per axis, as ONNX uses them in the coordinate
transform), "mode" (nearest | linear | cubic), "coordinate_transformation_mode", "nearest_mode";
and, set by the converter for the filter modes (_resize_filters.py: cubic, antialias,
tf_crop_and_resize), "cubic_coeff_a", "exclude_outside", "antialias", "roi" (starts then ends,
per axis, or None) and "extrapolation_value". The filter modes need static resized axes.
Coordinates are computed in float32, in onnxruntime's order of operations. Axes whose
scale is 1 and size unchanged are copied as they are (every supported transform maps them
to themselves), so symbolic dims may appear only there.
"""
from __future__ import annotations

import numpy as np

from convrnn.compiler.ir import TensorType
from convrnn.schedules.ops._broadcast import te_shape
from convrnn.schedules.registry import OpDef, register

MODES = ("nearest", "linear", "cubic")
COORDINATE_MODES = ("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "asymmetric", "align_corners",
                    "tf_crop_and_resize")
# "simple" is Resize 10's rounding (onnxruntime's): ceil where the axis shrinks, else floor.
NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil", "simple")


def _resized_axes(shape, sizes, scales, roi=None) -> list[int]:
    cropped = [roi[a] != 0 or roi[a + len(shape)] != 1 for a in range(len(shape))] if roi else [False] * len(shape)
    return [a for a, (n, m, s, c) in enumerate(zip(shape, sizes, scales, cropped)) if n != m or s != 1.0 or c]


def uses_filters(attrs) -> bool:
    """Whether the op runs as _resize_filters.py's per-axis filter passes."""
    return (attrs["mode"] == "cubic" or attrs["coordinate_transformation_mode"] == "tf_crop_and_resize"
            or (bool(attrs.get("antialias", 0)) and attrs["mode"] != "nearest"))


def _extent(dim):
    """A TE extent as an int when it is one, else the expression."""
    return int(dim) if hasattr(dim, "value") else dim


@register
class Resize(OpDef):
    name = "Resize"

    def infer(self, inputs, attrs):
        (x,) = inputs
        sizes, scales = tuple(attrs["sizes"]), list(attrs["scales"])
        if attrs["mode"] not in MODES or attrs["coordinate_transformation_mode"] not in COORDINATE_MODES \
                or attrs["nearest_mode"] not in NEAREST_MODES:
            raise ValueError(f"unsupported resize {attrs}")
        if len(sizes) != x.rank or len(scales) != x.rank:
            raise ValueError(f"{len(sizes)} sizes and {len(scales)} scales for rank {x.rank}")
        for a in _resized_axes(x.shape, sizes, scales, attrs.get("roi")):
            if uses_filters(attrs) and not (isinstance(x.shape[a], int) and isinstance(sizes[a], int)):
                raise ValueError(f"{attrs['mode']} resize of the symbolic axis {a} ({x.shape[a]} to {sizes[a]})")
            # a scale of None: the output's size over the input's, at run time (symbolic sizes)
            if (isinstance(sizes[a], int) and sizes[a] <= 0) or (scales[a] is not None and scales[a] <= 0):
                raise ValueError(f"cannot resize dim {x.shape[a]} of axis {a} to {sizes[a]} (scale {scales[a]})")
        return [TensorType(sizes, x.dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te, tirx

        (x,) = inputs
        sizes, scales = attrs["sizes"], attrs["scales"]
        axes = _resized_axes([d.name if hasattr(d, "name") else int(d) for d in x.shape], sizes, scales, attrs.get("roi"))
        out_shape = te_shape(outputs[0].shape, inputs)
        coordinate_mode, nearest_mode = attrs["coordinate_transformation_mode"], attrs["nearest_mode"]

        def f32(value):
            return tirx.const(value, "float32")

        def as_f32(value):
            return f32(float(value)) if isinstance(value, (int, float)) else value.astype("float32")

        def source_coordinate(i, axis):
            n, m, scale = _extent(x.shape[axis]), _extent(out_shape[axis]), scales[axis]
            out = i.astype("float32")
            if not all(isinstance(v, int) for v in (n, m)) or scale is None:
                return _symbolic_coordinate(out, n, m, scale)
            if coordinate_mode == "asymmetric":
                return out / f32(scale)
            if coordinate_mode == "align_corners":
                return f32(0.0) if m == 1 else out * f32(n - 1) / f32(m - 1)
            if coordinate_mode == "tf_crop_and_resize":  # onnxruntime's order of operations
                rank = len(sizes)
                start, end = (attrs["roi"][axis], attrs["roi"][axis + rank]) if attrs.get("roi") else (0.0, 1.0)
                if m == 1:
                    return f32(float(np.float32(0.5) * (np.float32(start) + np.float32(end)) * np.float32(n - 1)))
                return (f32(start) * f32(n - 1) + out * (f32(end) - f32(start)) * f32(n - 1) / f32(m - 1))
            if coordinate_mode == "pytorch_half_pixel" and m == 1:
                return f32(0.0)
            if coordinate_mode == "half_pixel_symmetric":
                # float32 throughout, in onnxruntime's order: ties in nearest mode depend on it.
                adjustment = np.float32(m) / (np.float32(scale) * np.float32(n))
                offset = np.float32(n) / np.float32(2) * (np.float32(1) - adjustment)
                return f32(float(offset)) + (out + f32(0.5)) / f32(scale) - f32(0.5)
            return (out + f32(0.5)) / f32(scale) - f32(0.5)

        def _symbolic_coordinate(out, n, m, scale):
            # the same transforms over extents known only at run time, in float32
            nf, mf = as_f32(n), as_f32(m)
            scale = mf / nf if scale is None else f32(scale)
            if coordinate_mode == "asymmetric":
                return out / scale
            if coordinate_mode == "align_corners":
                return tirx.Select(mf == f32(1.0), f32(0.0), out * (nf - f32(1.0)) / (mf - f32(1.0)))
            half_pixel = (out + f32(0.5)) / scale - f32(0.5)
            if coordinate_mode == "pytorch_half_pixel":
                return tirx.Select(mf == f32(1.0), f32(0.0), half_pixel)
            if coordinate_mode == "half_pixel_symmetric":
                adjustment = mf / (scale * nf)
                return nf / f32(2.0) * (f32(1.0) - adjustment) + half_pixel
            return half_pixel

        def clamp(index, n):
            return tirx.max(tirx.min(index, n - 1), 0)

        def nearest(c, n, scale):
            if nearest_mode == "simple":
                c = tirx.ceil(c) if scale < 1 else tirx.floor(c)
            elif nearest_mode == "round_prefer_floor":
                c = tirx.ceil(c - f32(0.5))
            elif nearest_mode == "round_prefer_ceil":
                c = tirx.floor(c + f32(0.5))
            elif nearest_mode == "floor":
                c = tirx.floor(c)
            else:
                c = tirx.ceil(c)
            return clamp(c.astype("int32"), n)

        if uses_filters(attrs):
            from convrnn.schedules.ops._resize_filters import filter_axes

            return [filter_axes(x, axes, sizes, scales, attrs, source_coordinate, nearest)]

        def element(*i):
            if attrs["mode"] == "nearest":
                index = list(i)
                for a in axes:
                    index[a] = nearest(source_coordinate(i[a], a), _extent(x.shape[a]), scales[a])
                return x[tuple(index)]
            corners = [(list(i), None)]
            for a in axes:
                n = _extent(x.shape[a])
                c = tirx.max(tirx.min(source_coordinate(i[a], a), as_f32(n - 1)), f32(0.0))
                low = tirx.floor(c).astype("int32")
                weight = c - low.astype("float32")
                expanded = []
                for index, w in corners:
                    for j, wj in ((low, f32(1.0) - weight), (tirx.min(low + 1, n - 1), weight)):
                        expanded.append((index[:a] + [j] + index[a + 1:], wj if w is None else w * wj))
                corners = expanded
            total = None
            for index, w in corners:
                term = x[tuple(index)].astype("float32") * w if w is not None else x[tuple(index)]
                total = term if total is None else total + term
            return total.astype(x.dtype)

        return [te.compute([x.shape[a] if a not in axes else out_shape[a] for a in range(len(sizes))],
                           element, name="resize")]
