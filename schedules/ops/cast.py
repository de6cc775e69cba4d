"""Cast to another dtype. Attrs: "to" (a numpy dtype name); "from", the input's dtype, which a
cast from a bit-pattern type (bfloat16, float8, float4, 4-/2-bit ints) must name because its
kernel sees only the storage type; "saturate" (float8, E8M0) and "round_mode" (E8M0) for those
targets. To bool means "is nonzero". Casts from or to a bit-pattern type go through float32 by
schedules/element_conversions.py."""
from __future__ import annotations

from convrnn.compiler.ir import SUPPORTED_DTYPES, TensorType
from convrnn.schedules.element_conversions import (E8M0_ROUND_MODES, FLOAT_BIT_PATTERNS, NARROW_INTS, convert,
                                                   is_bit_pattern, is_narrow_float)
from convrnn.schedules.registry import OpDef, register

# Sources a narrow float is rounded from in one step: float32 holds each of them exactly, so
# going through it rounds once (float64 or a 32/64-bit int would round twice).
EXACT_IN_FLOAT32 = ("float32", "float16", "int16", "uint16", "int8", "uint8", "bool", *FLOAT_BIT_PATTERNS,
                    *NARROW_INTS)


def cast_problem(source: str, to: str) -> "str | None":
    """Why convrnn cannot cast `source` to `to`, or None."""
    if to not in SUPPORTED_DTYPES:
        return f"cast to {to} (convrnn casts to {', '.join(SUPPORTED_DTYPES)})"
    if is_narrow_float(to) and source not in EXACT_IN_FLOAT32:
        return f"cast from {source} to {to} (convrnn rounds to {to} from types float32 holds exactly)"
    return None


@register
class Cast(OpDef):
    name = "Cast"

    def infer(self, inputs, attrs):
        (x,) = inputs
        if attrs.get("from", x.dtype) != x.dtype or (is_bit_pattern(x.dtype) and "from" not in attrs):
            raise ValueError(f"a cast of a {x.dtype} input must name it in attr 'from' (has {attrs.get('from')})")
        problem = cast_problem(x.dtype, attrs["to"])
        if problem:
            raise ValueError(problem)
        if attrs.get("round_mode", "up") not in E8M0_ROUND_MODES:
            raise ValueError(f"round_mode {attrs['round_mode']!r}")
        return [TensorType(x.shape, attrs["to"])]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te, tirx

        (x,) = inputs
        to = attrs["to"]
        source = attrs.get("from", str(x.dtype))

        def cast(v):
            if is_bit_pattern(source) or is_bit_pattern(to):
                return convert(v, source, to, bool(attrs.get("saturate", 1)), attrs.get("round_mode", "up"))
            if to == "bool":
                return v != tirx.const(0, v.dtype)
            return v.astype(to)  # float -> int truncates toward zero (fptosi), as onnxruntime

        return [te.compute(x.shape, lambda *i: cast(x[i]), name="cast")]
