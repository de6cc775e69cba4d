"""QuantizeLinear and DequantizeLinear: linear (de)quantization between float and a quantized
type: 8-, 16-, 4- and 2-bit ints, float8 (E4M3FN, E4M3FNUZ, E5M2, E5M2FNUZ) and float4 E2M1.

Inputs x, scale, zero_point (None: 0). Attrs:
  axis        None for per-tensor parameters (one element each), else the axis of x that the
              parameters follow: per-axis (1-d parameters of x.shape[axis] elements) or,
              with block_size > 0, blocked (parameters of x's rank whose `axis` dim is
              ceil(x.shape[axis] / block_size) and whose other dims are x's);
  block_size  0, or the elements of x's `axis` that share one parameter;
  dtype       the quantized type: QuantizeLinear's output, DequantizeLinear's x (its kernel sees
              a bit-pattern type only as its storage bits, so the node names it);
  saturate    QuantizeLinear to float8: clamp an overflow to the largest finite value (1) or
              give NaN/Inf (0), as Cast does.
Quantize, in float32 (x / scale is exactly rounded, as onnxruntime's MlasQuantizeLinear
divides): to an int, saturate(round_half_to_even(x / scale) + zero_point); to float8, x / scale
rounded as Cast rounds (the zero point must be 0, as ONNX requires, and is not read); to float4,
x / scale + zero_point, rounded so. Dequantize: float32(int32(x) - int32(zero_point)) * scale
for ints, float32(x) * scale for float8 and float4 (whose zero point ONNX's reference ignores),
in the scale's dtype. Conversions of the bit-pattern types: schedules/element_conversions.py.
"""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.element_conversions import (MINI_FLOATS, NARROW_INTS, from_float32, int_to_narrow_int,
                                                   narrow_int_range, narrow_int_value, to_float32)
from convrnn.schedules.registry import OpDef, register

# (low, high) of each integer type QuantizeLinear saturates to
INTEGER_RANGES = {"uint8": (0, 255), "int8": (-128, 127), "uint16": (0, 65535), "int16": (-32768, 32767),
                  **{dtype: narrow_int_range(dtype) for dtype in NARROW_INTS}}
FLOAT_QUANTIZED = tuple(MINI_FLOATS)  # the float8 types and float4 E2M1
QUANTIZED_DTYPES = (*INTEGER_RANGES, *FLOAT_QUANTIZED)
FLOAT4 = "float4_e2m1fn"
LINEAR_FLOATS = ("float32", "float16")  # the unquantized side: x of Quantize, the scales
# Dequantize's scale (and output) may be bfloat16 too: the product is rounded to it once, as
# ONNX's reference rounds float32(x) * scale. (Quantize's reference divides a bfloat16 x in
# bfloat16, rounding twice: not claimed.)
DEQUANTIZED_FLOATS = (*LINEAR_FLOATS, "bfloat16")


def _as_int32(element, dtype: str):
    return narrow_int_value(element, dtype) if dtype in NARROW_INTS else element.astype("int32")


def check_parameter(x: TensorType, param: TensorType, axis, block_size: int, what: str) -> None:
    """Raise ValueError unless `param` has the shape its quantization mode requires."""
    if axis is None:
        if param.rank > 1 or (param.rank == 1 and param.shape[0] != 1):
            raise ValueError(f"per-tensor {what} must have one element, got {param.shape}")
        return
    if not 0 <= axis < x.rank:
        raise ValueError(f"axis {axis} is out of range for rank {x.rank}")
    if block_size <= 0:
        if param.shape != (x.shape[axis],):
            raise ValueError(f"per-axis {what} {param.shape} must be ({x.shape[axis]},) for axis {axis} of {x.shape}")
        return
    if param.rank != x.rank:
        raise ValueError(f"blocked {what} {param.shape} must have the rank of x {x.shape}")
    for dim, (x_dim, p_dim) in enumerate(zip(x.shape, param.shape)):
        if dim == axis:
            if isinstance(x_dim, int) and isinstance(p_dim, int) and p_dim != -(-x_dim // block_size):
                raise ValueError(f"blocked {what} has {p_dim} blocks on axis {axis}, "
                                 f"x {x.shape} needs {-(-x_dim // block_size)} of {block_size}")
        elif x_dim != p_dim:
            raise ValueError(f"blocked {what} {param.shape} does not match x {x.shape} off axis {axis}")


def parameter_at(param, index, axis, block_size: int):
    """The element of a quantization parameter (TE tensor) that applies to x[index]."""
    if axis is None:
        return param[(0,) * len(param.shape)]
    if block_size <= 0:
        return param[index[axis]]
    return param[tuple(i // block_size if dim == axis else i for dim, i in enumerate(index))]


class _Linear(OpDef):
    def check(self, inputs, attrs):
        x, scale, zero_point = (list(inputs) + [None])[:3]
        axis, block_size = attrs["axis"], attrs["block_size"]
        check_parameter(x, scale, axis, block_size, "scale")
        if zero_point is not None:
            check_parameter(x, zero_point, axis, block_size, "zero point")
            if axis is not None and zero_point.shape != scale.shape:
                raise ValueError(f"zero point {zero_point.shape} and scale {scale.shape} differ in shape")
        return x, scale, zero_point


@register
class QuantizeLinear(_Linear):
    name = "QuantizeLinear"

    def infer(self, inputs, attrs):
        x, scale, zero_point = self.check(inputs, attrs)
        dtype = attrs["dtype"]
        if dtype not in QUANTIZED_DTYPES:
            raise ValueError(f"cannot quantize to {dtype}")
        if zero_point is not None and zero_point.dtype != dtype:
            raise ValueError(f"zero point dtype {zero_point.dtype} is not the output's {dtype}")
        if x.dtype not in LINEAR_FLOATS or scale.dtype not in LINEAR_FLOATS:
            raise ValueError(f"x ({x.dtype}) and scale ({scale.dtype}) must be {' or '.join(LINEAR_FLOATS)}")
        return [TensorType(x.shape, dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te, tirx

        x, scale, zero_point = (list(inputs) + [None])[:3]
        axis, block_size, dtype = attrs["axis"], attrs["block_size"], attrs["dtype"]

        def ratio_at(index):
            return x[index].astype("float32") / parameter_at(scale, index, axis, block_size).astype("float32")

        def to_integer(*index):
            low, high = (tirx.const(v, "float32") for v in INTEGER_RANGES[dtype])
            value = tirx.nearbyint(ratio_at(index))  # half to even under the default rounding mode
            if zero_point is not None:
                zero = _as_int32(parameter_at(zero_point, index, axis, block_size), dtype)
                value = value + zero.astype("float32")
            clamped = tirx.min(tirx.max(value, low), high)
            return int_to_narrow_int(clamped.astype("int32"), dtype) if dtype in NARROW_INTS else clamped.astype(dtype)

        def to_float(*index):
            value = ratio_at(index)
            if dtype == FLOAT4 and zero_point is not None:
                value = value + to_float32(parameter_at(zero_point, index, axis, block_size), dtype)
            return from_float32(value, dtype, saturate=bool(attrs.get("saturate", 1)))

        element = to_integer if dtype in INTEGER_RANGES else to_float
        return [te.compute(x.shape, element, name="quantize")]


@register
class DequantizeLinear(_Linear):
    name = "DequantizeLinear"

    def infer(self, inputs, attrs):
        x, scale, zero_point = self.check(inputs, attrs)
        if x.dtype not in (*QUANTIZED_DTYPES, "int32"):
            raise ValueError(f"cannot dequantize {x.dtype}")
        if attrs.get("dtype", x.dtype) != x.dtype:
            raise ValueError(f"attr dtype {attrs['dtype']} is not x's {x.dtype}")
        if zero_point is not None and zero_point.dtype != x.dtype:
            raise ValueError(f"zero point dtype {zero_point.dtype} is not x's {x.dtype}")
        if scale.dtype not in DEQUANTIZED_FLOATS:
            raise ValueError(f"scale must be {', '.join(DEQUANTIZED_FLOATS)}, got {scale.dtype}")
        return [TensorType(x.shape, scale.dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te

        x, scale, zero_point = (list(inputs) + [None])[:3]
        axis, block_size = attrs["axis"], attrs["block_size"]
        quantized = attrs.get("dtype", str(x.dtype))
        dtype = outputs[0].dtype

        def element(*index):
            if quantized in FLOAT_QUANTIZED:
                value = to_float32(x[index], quantized)
            else:
                shifted = _as_int32(x[index], quantized)
                if zero_point is not None:
                    shifted = shifted - _as_int32(parameter_at(zero_point, index, axis, block_size), quantized)
                value = shifted.astype("float32")
            scale_at = parameter_at(scale, index, axis, block_size)
            if dtype == "bfloat16":  # the scale's type: its storage bits here
                return from_float32(value * to_float32(scale_at, dtype), dtype)
            value = value * scale_at.astype("float32")
            return value if dtype == "float32" else value.astype(dtype)

        return [te.compute(x.shape, element, name="dequantize")]
