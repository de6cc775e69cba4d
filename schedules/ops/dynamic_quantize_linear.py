"""DynamicQuantizeLinear: float32 x -> uint8 y, its scale and zero point (both 0-d), as ONNX
and onnxruntime compute them:
  scale = (max(0, max(x)) - min(0, min(x))) / 255     (1 when the range is empty)
  zero_point = round_half_to_even(clamp(0 - min(0, min(x)) / scale, 0, 255))
  y = clamp(round_half_to_even(x / scale) + zero_point, 0, 255)
The float steps are single IEEE operations in this order, so the results are bit-exact.
"""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.registry import OpDef, register


def quantization_range(tirx, low, high):
    """(scale, zero point as float32) of uint8 quantization over [low, high] (low <= 0 <= high)."""
    f32 = "float32"
    scale = tirx.Select(high == low, tirx.const(1.0, f32), (high - low) / tirx.const(255.0, f32))
    zero = tirx.const(0.0, f32) - low / scale
    zero_point = tirx.nearbyint(tirx.min(tirx.max(zero, tirx.const(0.0, f32)), tirx.const(255.0, f32)))
    return scale, zero_point


def quantize_uint8(tirx, value, scale, zero_point):
    """clamp(round_half_to_even(value / scale) + zero_point, 0, 255) as uint8."""
    f32 = "float32"
    q = tirx.nearbyint(value / scale) + zero_point
    return tirx.min(tirx.max(q, tirx.const(0.0, f32)), tirx.const(255.0, f32)).astype("uint8")


@register
class DynamicQuantizeLinear(OpDef):
    name = "DynamicQuantizeLinear"

    def infer(self, inputs, attrs):
        (x,) = inputs
        if x.dtype != "float32":
            raise ValueError(f"DynamicQuantizeLinear takes float32, got {x.dtype}")
        return [TensorType(x.shape, "uint8"), TensorType((), "float32"), TensorType((), "uint8")]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te, tirx, topi

        (x,) = inputs
        axes = list(range(len(x.shape)))
        if _by_row_blocks(x):
            low, high = (_extremum_by_row_blocks(x, kind) for kind in ("min", "max"))
        else:
            low = topi.min(x, axis=axes) if axes else x
            high = topi.max(x, axis=axes) if axes else x
        zero = tirx.const(0.0, "float32")

        def parameters():
            return quantization_range(tirx, tirx.min(low(), zero), tirx.max(high(), zero))

        scale = te.compute((), lambda: parameters()[0], name="scale")
        zero_point_f = te.compute((), lambda: parameters()[1], name="zero_point_f")
        y = te.compute(x.shape, lambda *i: quantize_uint8(tirx, x[i], scale(), zero_point_f()), name="quantize")
        zero_point = te.compute((), lambda: zero_point_f().astype("uint8"), name="zero_point")
        return [y, scale, zero_point]


ROW_BLOCK = 64  # rows each task of the first reduction pass takes
ROW_VECTORS = 8  # vectors of a row each task of it takes: a row's 8 x 64 contiguous bytes


def _by_row_blocks(x) -> bool:
    """Whether x's last axis is a static multiple of 128 floats (the reduction then runs in two
    passes: per block of rows, vectorized along the row, then over the blocks)."""
    last = x.shape[-1] if len(x.shape) > 1 else None
    return hasattr(last, "value") and int(last) % (ROW_VECTORS * 16) == 0


def _extremum_by_row_blocks(x, kind: str):
    """min or max of x: over blocks of rows of its last axis, then over the blocks' partial
    results. A block is ROW_BLOCK rows of a matrix (one past the last row rereads it: min and
    max do not mind), or of a higher rank the rows of its second-to-last axis: its rows then
    need no index decomposed per row (by divisions, where the dims are symbolic)."""
    from convrnn.compiler.tvm_adapter import te, tirx

    reduce = te.min if kind == "min" else te.max
    if len(x.shape) > 2:
        j = te.reduce_axis((0, x.shape[-2]), name="j")
        partial = te.compute((*x.shape[:-2], x.shape[-1]),
                             lambda *i: reduce(x[(*i[:-1], j, i[-1])], axis=j), name=f"{kind}_by_rows")
        axes = [te.reduce_axis((0, dim), name=f"b{k}") for k, dim in enumerate(partial.shape)]
        return te.compute((), lambda: reduce(partial[tuple(axes)], axis=axes), name=kind)
    rows, width = x.shape[0], int(x.shape[1])
    j = te.reduce_axis((0, ROW_BLOCK), name="j")
    blocks = (rows + ROW_BLOCK - 1) // ROW_BLOCK
    partial = te.compute((blocks, width), lambda b, c: reduce(x[tirx.min(b * ROW_BLOCK + j, rows - 1), c], axis=j),
                         name=f"{kind}_by_rows")
    b, c = te.reduce_axis((0, blocks), name="b"), te.reduce_axis((0, width), name="c")
    return te.compute((), lambda: reduce(partial[b, c], axis=[b, c]), name=kind)
