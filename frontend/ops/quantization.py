"""Quantized ONNX ops -> IR, with onnxruntime's integer semantics.

Standard: QuantizeLinear, DequantizeLinear (opsets 10-22: per-tensor, per-axis from 13,
blocked from 21), DynamicQuantizeLinear, MatMulInteger, ConvInteger. onnxruntime's contrib
ops (com.microsoft) that its quantizer emits: MatMulIntegerToFloat, DynamicQuantizeMatMul
(the integer product, then float(acc) * (a_scale * b_scale) + bias, as onnxruntime orders it)
and DynamicQuantizeLSTM. (De)QuantizeLinear take 8-, 16-, 4- and 2-bit ints, float8 and float4
(schedules/ops/quantize_linear.py); the integer products only uint8 and int8.
"""
import numpy as np

from convrnn.frontend.ops.cast import onnx_dtype_name as _onnx_dtype_name
from convrnn.frontend.ops.window_attrs import check_rank, spatial_sizes, window_attrs
from convrnn.frontend.registry import converter
from convrnn.schedules.ops.quantize_linear import DEQUANTIZED_FLOATS, FLOAT_QUANTIZED, LINEAR_FLOATS, QUANTIZED_DTYPES

_MS = "com.microsoft"
EIGHT_BIT = ("uint8", "int8")  # the integer products' operands


def _claimed_quantized(ctx, dtype: str, what: str, allowed=EIGHT_BIT) -> None:
    if dtype not in allowed:
        raise ctx.unsupported(f"{what} of element type {dtype} (convrnn claims {', '.join(allowed)})")


def _check_float_zero_point(ctx, zero_point) -> None:
    """ONNX requires a float8 zero point to be 0 (the kernels do not read it)."""
    array = None if zero_point is None else ctx.builder.constant_of(zero_point)
    if array is not None and np.any(array.astype(np.float32) != 0):
        raise ctx.error(f"a {zero_point.type.dtype} zero point must be 0")


def _is_one_element(value) -> bool:
    return value.type.rank == 0 or (value.type.rank == 1 and value.type.shape[0] == 1)


def _linear_attrs(ctx, x, scale) -> dict:
    """axis (None: per-tensor) and block_size of a (De)QuantizeLinear node."""
    block_size = int(ctx.attr("block_size", 0)) if ctx.opset >= 21 else 0
    if block_size < 0:
        raise ctx.error(f"block_size {block_size} is negative")
    if _is_one_element(scale) and not block_size:
        return {"axis": None, "block_size": 0}
    if ctx.opset < 13:
        raise ctx.error(f"scale of shape {list(scale.type.shape)}: opset {ctx.opset} takes a scalar scale")
    axis = int(ctx.attr("axis", 1))
    if not -x.type.rank <= axis < x.type.rank:
        raise ctx.error(f"axis {axis} is out of range for rank {x.type.rank}")
    return {"axis": axis % x.type.rank, "block_size": block_size}


def _check_linear_float(ctx, value, what: str, allowed=LINEAR_FLOATS) -> None:
    if value.type.dtype not in allowed:
        raise ctx.unsupported(f"{what} of element type {value.type.dtype} (convrnn claims {', '.join(allowed)})")


@converter("QuantizeLinear", since=10)
def convert_quantize_linear(ctx):
    x, scale, zero_point = ctx.required_input(0), ctx.required_input(1), ctx.input(2)
    _check_linear_float(ctx, x, "input")
    _check_linear_float(ctx, scale, "scale")
    if zero_point is not None:
        dtype = zero_point.type.dtype
    elif ctx.has_attr("output_dtype") and ctx.attr("output_dtype"):
        dtype = _onnx_dtype_name(ctx.attr("output_dtype"))
    else:
        dtype = "uint8"
    _claimed_quantized(ctx, dtype, "quantization", QUANTIZED_DTYPES)
    if ctx.attr("precision", 0):  # opset 23+: the division's precision; 0 means the input's
        raise ctx.unsupported(f"precision {_onnx_dtype_name(ctx.attr('precision'))}")
    attrs = _linear_attrs(ctx, x, scale)
    attrs["dtype"] = dtype
    if dtype in FLOAT_QUANTIZED and dtype != "float4_e2m1fn":
        _check_float_zero_point(ctx, zero_point)
        attrs["saturate"] = int(ctx.attr("saturate", 1)) if ctx.opset >= 19 else 1
    return ctx.emit("QuantizeLinear", [x, scale, zero_point], attrs)


@converter("DequantizeLinear", since=10)
def convert_dequantize_linear(ctx):
    x, scale, zero_point = ctx.required_input(0), ctx.required_input(1), ctx.input(2)
    _claimed_quantized(ctx, x.type.dtype, "dequantization", (*QUANTIZED_DTYPES, "int32"))
    if zero_point is not None:
        _claimed_quantized(ctx, zero_point.type.dtype, "zero point", (*QUANTIZED_DTYPES, "int32"))
    if x.type.dtype in FLOAT_QUANTIZED and x.type.dtype != "float4_e2m1fn":
        _check_float_zero_point(ctx, zero_point)
    _check_linear_float(ctx, scale, "scale", DEQUANTIZED_FLOATS)
    output_dtype = ctx.attr("output_dtype", 0)  # opset 23+: 0 means the scale's type
    if output_dtype and _onnx_dtype_name(output_dtype) != scale.type.dtype:
        raise ctx.unsupported(f"output_dtype {_onnx_dtype_name(output_dtype)} unlike the scale's {scale.type.dtype}")
    attrs = dict(_linear_attrs(ctx, x, scale), dtype=x.type.dtype)
    return ctx.emit("DequantizeLinear", [x, scale, zero_point], attrs)


@converter("DynamicQuantizeLinear", since=11)
def convert_dynamic_quantize_linear(ctx):
    x = ctx.required_input(0)
    if x.type.dtype != "float32":
        raise ctx.error(f"input must be float32, got {x.type.dtype}")
    return ctx.emit("DynamicQuantizeLinear", [x])


def _integer_operand(ctx, index: int, what: str):
    value = ctx.required_input(index)
    _claimed_quantized(ctx, value.type.dtype, what)
    return value


def _row_zero_point(ctx, index: int, a):
    """A's zero point shaped to broadcast against A: a scalar, or one per row ([M] -> [M, 1])."""
    zero = ctx.input(index)
    if zero is None or _is_one_element(zero) or zero.type.rank != 1:
        return zero
    if a.type.rank < 2 or zero.type.shape[0] != a.type.shape[-2]:
        raise ctx.error(f"A's zero point of shape {list(zero.type.shape)} fits neither per-tensor nor "
                        f"per-row quantization of A {list(a.type.shape)}")
    array = ctx.constant(index, "a per-row zero point")
    return ctx.make_constant(array.reshape(-1, 1), "a_zero_point_rows")


def _matmul_integer(ctx, a, b, a_zero, b_zero, temp: bool = True):
    for zero, operand, what in ((a_zero, a, "A"), (b_zero, b, "B")):
        if zero is not None and zero.type.dtype != operand.type.dtype:
            raise ctx.error(f"{what}'s zero point is {zero.type.dtype}, {what} is {operand.type.dtype}")
    return ctx.emit1("MatMulInteger", [a, b, a_zero, b_zero], temp=temp)


@converter("MatMulInteger", since=10)
def convert_matmul_integer(ctx):
    a, b = _integer_operand(ctx, 0, "A"), _integer_operand(ctx, 1, "B")
    return [_matmul_integer(ctx, a, b, _row_zero_point(ctx, 2, a), ctx.input(3), temp=False)]


@converter("ConvInteger", since=10)
def convert_conv_integer(ctx):
    x, w = _integer_operand(ctx, 0, "x"), _integer_operand(ctx, 1, "w")
    x_zero, w_zero = ctx.input(2), ctx.input(3)
    if x.type.rank != w.type.rank:
        raise ctx.error(f"input of rank {x.type.rank} and weight of rank {w.type.rank}")
    check_rank(ctx, x.type.rank - 2)
    if x_zero is not None and not _is_one_element(x_zero):
        raise ctx.error(f"x_zero_point must be a scalar, got shape {list(x_zero.type.shape)}")
    if w_zero is not None and not _is_one_element(w_zero) and w_zero.type.shape != (w.type.shape[0],):
        raise ctx.error(f"w_zero_point of shape {list(w_zero.type.shape)} is neither a scalar nor one per "
                        f"output channel ({w.type.shape[0]})")
    kernel = list(ctx.attr("kernel_shape", w.type.shape[2:]))
    if [int(k) for k in kernel] != list(w.type.shape[2:]):
        raise ctx.error(f"kernel_shape {kernel} does not match weight shape {list(w.type.shape)}")
    attrs = window_attrs(ctx, kernel, spatial_sizes(ctx))
    attrs["group"] = int(ctx.attr("group", 1))
    return ctx.emit("ConvInteger", [x, w, x_zero, w_zero], attrs)


def _float_product(ctx, acc, a_scale, b_scale, bias):
    """float32(acc) * (a_scale * b_scale) [+ bias], the multiplier folded when both scales are constant."""
    for scale in (a_scale, b_scale):
        if scale.type.dtype != "float32":
            raise ctx.error(f"scales must be float32, got {scale.type.dtype}")
    a_array, b_array = ctx.builder.constant_of(a_scale), ctx.builder.constant_of(b_scale)
    if a_array is not None and b_array is not None:
        multiplier = ctx.make_constant(np.multiply(a_array, b_array, dtype=np.float32), "multiplier")
    else:
        multiplier = ctx.emit1("Mul", [a_scale, b_scale], temp=True)
    as_float = ctx.emit1("Cast", [acc], {"to": "float32"}, temp=True)
    if bias is None:
        return ctx.emit("Mul", [as_float, multiplier])
    scaled = ctx.emit1("Mul", [as_float, multiplier], temp=True)
    return ctx.emit("Add", [scaled, bias])


@converter("MatMulIntegerToFloat", since=1, domain=_MS)
def convert_matmul_integer_to_float(ctx):
    a, b = _integer_operand(ctx, 0, "A"), _integer_operand(ctx, 1, "B")
    a_scale, b_scale = ctx.required_input(2), ctx.required_input(3)
    if not _is_one_element(a_scale):
        raise ctx.unsupported(f"a per-row A scale (shape {list(a_scale.type.shape)})")
    acc = _matmul_integer(ctx, a, b, _row_zero_point(ctx, 4, a), ctx.input(5))
    return _float_product(ctx, acc, a_scale, b_scale, ctx.input(6))


@converter("DynamicQuantizeMatMul", since=1, domain=_MS)
def convert_dynamic_quantize_matmul(ctx):
    a, b = ctx.required_input(0), _integer_operand(ctx, 1, "B")
    if a.type.dtype != "float32":
        raise ctx.error(f"A must be float32, got {a.type.dtype}")
    quantized, a_scale, a_zero = ctx.emit("DynamicQuantizeLinear", [a], temp=True)
    acc = _matmul_integer(ctx, quantized, b, a_zero, ctx.input(3))
    return _float_product(ctx, acc, a_scale, ctx.required_input(2), ctx.input(4))
