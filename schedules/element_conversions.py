"""Conversions between float32 and the bit-pattern element types (compiler/ir.py's
BIT_PATTERN_DTYPES), as TIR expressions over the patterns: the one place their rounding,
saturation and NaN/Inf rules live.

The rules are ONNX's (Cast, opset 19+), whose reference evaluator takes them from ml_dtypes:
- float -> bfloat16, float8, float4: round to nearest, ties to even, subnormals included.
  float8 with saturate clamps a finite overflow and an Inf to the largest finite value; without,
  E4M3FN and the FNUZ types give NaN, E5M2 Inf. float4 E2M1 has neither Inf nor NaN and always
  saturates; a NaN becomes a zero of the opposite sign (ml_dtypes' choice). The FNUZ types have
  one NaN (0x80) and no negative zero.
- float -> E8M0 (an exponent only, no sign): the input's exponent, rounded up, down or to
  nearest by its fraction; NaN and Inf are NaN (0xFF); saturate stops at 2^127.
- float -> int4/uint4/int2/uint2: truncated toward zero; out of range (NaN and Inf included)
  gives 0. int -> those: the low bits (wraps).
Decoding to float32 is exact for every type. Patterns are read and written as the buffer's
unsigned storage type; an int4 element's high bits are ignored on reading.

TVM 0.27 itself has bfloat16 and float8 types, but legalizes them with its own rounding and no
saturation control, has no E8M0/FNUZ handling to ONNX's rules, and packs int4/float4 two to a
byte: hence integer arithmetic on the patterns here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from convrnn.compiler.ir import BIT_PATTERN_DTYPES, storage_dtype


@dataclass(frozen=True)
class MiniFloat:
    """A sign + exponent + mantissa float format of at most 8 bits."""

    exponent_bits: int
    mantissa_bits: int
    bias: int
    max_magnitude: int  # the pattern (sign bit clear) of the largest finite value
    nan: Optional[int]  # the pattern of NaN (sign bit clear unless unsigned_zero), None: no NaN
    inf: Optional[int]  # the pattern of +Inf, None: no Inf
    unsigned_zero: bool = False  # FNUZ: no negative zero, 0x80 is the one NaN

    @property
    def sign_shift(self) -> int:
        return self.exponent_bits + self.mantissa_bits


MINI_FLOATS = {
    "float8_e4m3fn": MiniFloat(4, 3, 7, 0x7E, 0x7F, None),
    "float8_e4m3fnuz": MiniFloat(4, 3, 8, 0x7F, 0x80, None, unsigned_zero=True),
    "float8_e5m2": MiniFloat(5, 2, 15, 0x7B, 0x7E, 0x7C),
    "float8_e5m2fnuz": MiniFloat(5, 2, 16, 0x7F, 0x80, None, unsigned_zero=True),
    "float4_e2m1fn": MiniFloat(2, 1, 1, 0x7, None, None),
}

# (bits, signed)
NARROW_INTS = {"int4": (4, True), "uint4": (4, False), "int2": (2, True), "uint2": (2, False)}

E8M0 = "float8_e8m0fnu"
E8M0_ROUND_MODES = ("up", "down", "nearest")

FLOAT_BIT_PATTERNS = ("bfloat16", E8M0, *MINI_FLOATS)


def is_bit_pattern(dtype: str) -> bool:
    return dtype in BIT_PATTERN_DTYPES


def is_narrow_float(dtype: str) -> bool:
    return dtype in FLOAT_BIT_PATTERNS


def narrow_int_range(dtype: str) -> tuple[int, int]:
    bits, signed = NARROW_INTS[dtype]
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


# --- TIR helpers --------------------------------------------------------------------------------

def _tir():
    from convrnn.compiler.tvm_adapter import tirx

    return tirx


def _u32(value: int):
    return _tir().const(value, "uint32")


def _i32(value: int):
    return _tir().const(value, "int32")


def _select(condition, when_true, otherwise):
    return _tir().Select(condition, when_true, otherwise)


def _float_bits(value):
    """The uint32 pattern of a float32 expression."""
    return _tir().reinterpret("uint32", value)


def _bits_float(bits):
    return _tir().reinterpret("float32", bits)


# --- decoding -----------------------------------------------------------------------------------

def to_float32(pattern, dtype: str):
    """The float32 value of a bit pattern (an expression of the storage type) of `dtype`."""
    if dtype == "bfloat16":
        return _bits_float(pattern.astype("uint32") << _u32(16))
    if dtype == E8M0:
        code = pattern.astype("uint32")
        bits = _select(code == _u32(0), _u32(0x00400000), code << _u32(23))  # 2^-127 is subnormal
        return _select(code == _u32(0xFF), _bits_float(_u32(0x7FC00000)), _bits_float(bits))
    if dtype in MINI_FLOATS:
        return _mini_float_to_float32(pattern.astype("uint32"), MINI_FLOATS[dtype])
    if dtype in NARROW_INTS:
        return narrow_int_value(pattern, dtype).astype("float32")
    raise ValueError(f"{dtype} is not a bit-pattern type")


def _mini_float_to_float32(code, fmt: MiniFloat):
    m = fmt.mantissa_bits
    sign = (code >> _u32(fmt.sign_shift)) & _u32(1)
    magnitude = code & _u32((1 << fmt.sign_shift) - 1)
    exponent = magnitude >> _u32(m)
    mantissa = magnitude & _u32((1 << m) - 1)
    normal = ((exponent + _u32(127 - fmt.bias)) << _u32(23)) | (mantissa << _u32(23 - m))
    # a subnormal is mantissa * 2^(1 - bias - m), exact in float32
    subnormal = _float_bits(mantissa.astype("float32") * _tir().const(2.0 ** (1 - fmt.bias - m), "float32"))
    bits = _select(exponent == _u32(0), subnormal, normal) | (sign << _u32(31))
    if fmt.inf is not None:
        bits = _select(magnitude == _u32(fmt.inf), _u32(0x7F800000) | (sign << _u32(31)), bits)
        bits = _select(magnitude > _u32(fmt.inf), _u32(0x7FC00000) | (sign << _u32(31)), bits)
    elif fmt.unsigned_zero:
        bits = _select(code == _u32(fmt.nan), _u32(0xFFC00000), bits)
    elif fmt.nan is not None:
        bits = _select(magnitude == _u32(fmt.nan), _u32(0x7FC00000) | (sign << _u32(31)), bits)
    return _bits_float(bits)


def narrow_int_value(pattern, dtype: str):
    """The int32 value of an int4/uint4/int2/uint2 pattern (its low bits)."""
    bits, signed = NARROW_INTS[dtype]
    low = pattern.astype("int32") & _i32((1 << bits) - 1)
    if not signed:
        return low
    sign = _i32(1 << (bits - 1))
    return (low ^ sign) - sign


# --- encoding -----------------------------------------------------------------------------------

def from_float32(value, dtype: str, saturate: bool = True, round_mode: str = "up"):
    """The bit pattern (of the storage type) of `dtype` nearest a float32 expression, by the
    rules in this module's docstring; `saturate` applies to float8 and E8M0, `round_mode` to E8M0."""
    storage = storage_dtype(dtype)
    if dtype == "bfloat16":
        return _float32_to_bfloat16(_float_bits(value)).astype(storage)
    if dtype == E8M0:
        return _float32_to_e8m0(_float_bits(value), saturate, round_mode).astype(storage)
    if dtype in MINI_FLOATS:
        fmt = MINI_FLOATS[dtype]
        return _float32_to_mini_float(_float_bits(value), fmt, saturate or fmt.nan is None).astype(storage)
    if dtype in NARROW_INTS:
        low, high = narrow_int_range(dtype)
        tirx = _tir()
        # NaN and Inf fail the range test, so the int conversion below never sees them
        in_range = tirx.all(value > tirx.const(low - 1, "float32"), value < tirx.const(high + 1, "float32"))
        truncated = _select(in_range, value, tirx.const(0.0, "float32")).astype("int32")
        return int_to_narrow_int(truncated, dtype)
    raise ValueError(f"{dtype} is not a bit-pattern type")


def int_to_narrow_int(value, dtype: str):
    """The pattern of an integer expression's low bits as int4/uint4/int2/uint2."""
    bits, _ = NARROW_INTS[dtype]
    return (value.astype("int32") & _i32((1 << bits) - 1)).astype(storage_dtype(dtype))


def _float32_to_bfloat16(bits):
    sign = bits >> _u32(31)
    is_nan = (bits & _u32(0x7FFFFFFF)) > _u32(0x7F800000)
    rounded = (bits + _u32(0x7FFF) + ((bits >> _u32(16)) & _u32(1))) >> _u32(16)  # ties to even; Inf stays
    return _select(is_nan, _u32(0x7FC0) | (sign << _u32(15)), rounded)


def _float32_to_mini_float(bits, fmt: MiniFloat, saturate: bool):
    tirx = _tir()
    m = fmt.mantissa_bits
    sign = bits >> _u32(31)
    magnitude = bits & _u32(0x7FFFFFFF)
    is_nan = magnitude > _u32(0x7F800000)
    is_inf = magnitude == _u32(0x7F800000)
    exponent = (magnitude >> _u32(23)).astype("int32")
    significand = (magnitude & _u32(0x7FFFFF)) | _select(exponent > _i32(0), _u32(0x800000), _u32(0))
    # the target's biased exponent (float32 subnormals scale like exponent 1)
    target_exponent = tirx.max(exponent, _i32(1)) - _i32(127 - fmt.bias)
    # bits dropped: the mantissa's surplus, plus the denormalization below the smallest normal;
    # past 25 everything rounds to zero, and the shifts stay inside 32 bits
    shift = tirx.min(_i32(23 - m) + tirx.max(_i32(1) - target_exponent, _i32(0)), _i32(25)).astype("uint32")
    odd = (significand >> shift) & _u32(1)
    rounded = (significand + ((_u32(1) << (shift - _u32(1))) - _u32(1)) + odd) >> shift
    # a carry out of the mantissa moves to the next exponent on its own
    code = (tirx.max(target_exponent - _i32(1), _i32(0)).astype("uint32") << _u32(m)) + rounded
    overflow = _u32(fmt.max_magnitude) if saturate else _u32(fmt.inf if fmt.inf is not None else fmt.nan)
    code = _select(tirx.any(code > _u32(fmt.max_magnitude), is_inf), overflow, code)
    if fmt.unsigned_zero:
        signed = _select(tirx.any(code == _u32(0), code == _u32(fmt.nan)), code, code | (sign << _u32(fmt.sign_shift)))
        return _select(is_nan, _u32(fmt.nan), signed)
    signed = code | (sign << _u32(fmt.sign_shift))
    if fmt.nan is None:  # float4: NaN becomes a zero of the opposite sign, as ml_dtypes converts it
        return _select(is_nan, (sign ^ _u32(1)) << _u32(fmt.sign_shift), signed)
    return _select(is_nan, _u32(fmt.nan) | (sign << _u32(fmt.sign_shift)), signed)


def _float32_to_e8m0(bits, saturate: bool, round_mode: str):
    if round_mode not in E8M0_ROUND_MODES:
        raise ValueError(f"round_mode {round_mode!r} (E8M0 rounds {', '.join(E8M0_ROUND_MODES)})")
    tirx = _tir()
    exponent = (bits >> _u32(23)) & _u32(0xFF)
    fraction = bits & _u32(0x7FFFFF)
    if round_mode == "up":
        round_up = fraction > _u32(0)
    elif round_mode == "nearest":
        # onnx.numpy_helper.to_float8e8m0's rule: the guard bit, and any bit below it or a
        # nonzero exponent (its "lsb") breaks the tie upward
        guard = (fraction & _u32(0x400000)) > _u32(0)
        rest = (fraction & _u32(0x3FFFFF)) > _u32(0)
        round_up = tirx.all(guard, tirx.any(rest, exponent > _u32(0)))
    else:
        round_up = tirx.const(False, "bool")
    if saturate:
        round_up = tirx.all(round_up, exponent != _u32(0xFE))
    rounded = exponent + _select(round_up, _u32(1), _u32(0))
    return _select(exponent == _u32(0xFF), _u32(0xFF), rounded)


def convert(value, from_dtype: str, to_dtype: str, saturate: bool = True, round_mode: str = "up"):
    """An element of `from_dtype` (its storage expression) as `to_dtype` (storage expression),
    through float32 where either side is a bit-pattern type."""
    tirx = _tir()
    if from_dtype in NARROW_INTS and to_dtype in NARROW_INTS:
        return int_to_narrow_int(narrow_int_value(value, from_dtype), to_dtype)
    if from_dtype in NARROW_INTS and not is_narrow_float(to_dtype):
        as_int = narrow_int_value(value, from_dtype)
        return as_int != _i32(0) if to_dtype == "bool" else as_int.astype(to_dtype)
    if to_dtype in NARROW_INTS and from_dtype not in FLOAT_BIT_PATTERNS and not from_dtype.startswith("float"):
        return int_to_narrow_int(value, to_dtype)  # an int (or bool) keeps its low bits
    as_float = to_float32(value, from_dtype) if is_bit_pattern(from_dtype) else value.astype("float32")
    if is_bit_pattern(to_dtype):
        return from_float32(as_float, to_dtype, saturate, round_mode)
    if to_dtype == "bool":
        return as_float != tirx.const(0.0, "float32")
    return as_float.astype(to_dtype)  # float -> int truncates toward zero, as elsewhere
