"""QuantizeLinear and DequantizeLinear: linear (de)quantization between float and 8-bit ints.

Inputs x, scale, zero_point (None: 0). Attrs:
  axis        None for per-tensor parameters (one element each), else the axis of x that the
              parameters follow: per-axis (1-d parameters of x.shape[axis] elements) or,
              with block_size > 0, blocked (parameters of x's rank whose `axis` dim is
              ceil(x.shape[axis] / block_size) and whose other dims are x's);
  block_size  0, or the elements of x's `axis` that share one parameter;
  dtype       QuantizeLinear only: the output dtype, "uint8" or "int8".
Quantize: saturate(round_half_to_even(x / scale) + zero_point), in float32 (x / scale is
exactly rounded, as onnxruntime's MlasQuantizeLinear divides). Dequantize:
float32(int32(x) - int32(zero_point)) * scale, in the scale's dtype.
"""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.registry import OpDef, register

QUANTIZED_DTYPES = {"uint8": (0, 255), "int8": (-128, 127)}


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
        if not x.dtype.startswith("float") or not scale.dtype.startswith("float"):
            raise ValueError(f"x ({x.dtype}) and scale ({scale.dtype}) must be float")
        return [TensorType(x.shape, dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te, tirx

        x, scale, zero_point = (list(inputs) + [None])[:3]
        axis, block_size, dtype = attrs["axis"], attrs["block_size"], attrs["dtype"]
        low, high = (tirx.const(v, "float32") for v in QUANTIZED_DTYPES[dtype])

        def element(*index):
            ratio = x[index].astype("float32") / parameter_at(scale, index, axis, block_size).astype("float32")
            value = tirx.nearbyint(ratio)  # half to even under the default rounding mode
            if zero_point is not None:
                value = value + parameter_at(zero_point, index, axis, block_size).astype("float32")
            return tirx.min(tirx.max(value, low), high).astype(dtype)

        return [te.compute(x.shape, element, name="quantize")]


@register
class DequantizeLinear(_Linear):
    name = "DequantizeLinear"

    def infer(self, inputs, attrs):
        x, scale, zero_point = self.check(inputs, attrs)
        if x.dtype not in (*QUANTIZED_DTYPES, "int32"):
            raise ValueError(f"cannot dequantize {x.dtype}")
        if zero_point is not None and zero_point.dtype != x.dtype:
            raise ValueError(f"zero point dtype {zero_point.dtype} is not x's {x.dtype}")
        if not scale.dtype.startswith("float"):
            raise ValueError(f"scale must be float, got {scale.dtype}")
        return [TensorType(x.shape, scale.dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te

        x, scale, zero_point = (list(inputs) + [None])[:3]
        axis, block_size = attrs["axis"], attrs["block_size"]
        dtype = outputs[0].dtype

        def element(*index):
            shifted = x[index].astype("int32")
            if zero_point is not None:
                shifted = shifted - parameter_at(zero_point, index, axis, block_size).astype("int32")
            value = shifted.astype("float32") * parameter_at(scale, index, axis, block_size).astype("float32")
            return value if dtype == "float32" else value.astype(dtype)

        return [te.compute(x.shape, element, name="dequantize")]
