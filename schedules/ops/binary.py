"""Elementwise binary ops with numpy broadcasting: arithmetic, comparison, logic."""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.ops._broadcast import broadcast_compute
from convrnn.schedules.registry import OpDef, register
from convrnn.schedules.shapes import broadcast_shapes


class _Binary(OpDef):
    result_dtype: "str | None" = None  # None: the first operand's dtype
    same_dtypes = True

    def infer(self, inputs, attrs):
        a, b = inputs
        if self.same_dtypes and a.dtype != b.dtype:
            raise ValueError(f"{self.name} operands have different dtypes {a.dtype} and {b.dtype}")
        return [TensorType(broadcast_shapes(a.shape, b.shape), self.result_dtype or a.dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import tirx

        return [broadcast_compute(inputs, lambda x, y: self.expr(x, y, tirx), name=self.name.lower())]


def _binary(op_name: str, expr, result_dtype=None, same_dtypes=True):
    cls = type(op_name, (_Binary,), {"name": op_name, "expr": staticmethod(expr),
                                     "result_dtype": result_dtype, "same_dtypes": same_dtypes})
    return register(cls)


def _is_float(dtype: str) -> bool:
    return str(dtype).startswith("float")


def _div(x, y, tirx):
    # Integer division truncates toward zero, as in C (and onnxruntime).
    return x / y if _is_float(x.dtype) else tirx.truncdiv(x, y)


def _pow(x, y, tirx):
    # The exponent may have another dtype than the base (opset 12+); the result has the base's.
    if _is_float(x.dtype):
        return tirx.power(x, y.astype(x.dtype))
    return tirx.power(x.astype("float64"), y.astype("float64")).astype(x.dtype)


def _prelu(x, slope, tirx):
    return tirx.Select(x >= tirx.const(0, x.dtype), x, x * slope)


class PRelu(_Binary):
    name = "PRelu"
    expr = staticmethod(_prelu)

    def infer(self, inputs, attrs):
        (out,) = super().infer(inputs, attrs)
        if out.shape != inputs[0].shape:
            raise ValueError(f"slope of shape {inputs[1].shape} does not broadcast to input {inputs[0].shape}")
        return [out]


register(PRelu)
_binary("Add", lambda x, y, tirx: x + y)
_binary("Sub", lambda x, y, tirx: x - y)
_binary("Mul", lambda x, y, tirx: x * y)
_binary("Div", _div)
_binary("Pow", _pow, same_dtypes=False)
_binary("Max", lambda x, y, tirx: tirx.max(x, y))
_binary("Min", lambda x, y, tirx: tirx.min(x, y))
_binary("Equal", lambda x, y, tirx: x == y, result_dtype="bool")
_binary("Less", lambda x, y, tirx: x < y, result_dtype="bool")
_binary("LessOrEqual", lambda x, y, tirx: x <= y, result_dtype="bool")
_binary("Greater", lambda x, y, tirx: x > y, result_dtype="bool")
_binary("GreaterOrEqual", lambda x, y, tirx: x >= y, result_dtype="bool")
_binary("And", lambda x, y, tirx: tirx.And(x, y), result_dtype="bool")
_binary("Or", lambda x, y, tirx: tirx.Or(x, y), result_dtype="bool")
_binary("Xor", lambda x, y, tirx: tirx.Or(tirx.And(x, tirx.Not(y)), tirx.And(tirx.Not(x), y)), result_dtype="bool")


def _float_mod(x, y, fmod, dtype, tirx):
    # C fmod; for fmod=0 (opset 28's floor modulo on floats) the remainder takes the divisor's
    # sign: a nonzero remainder of the other sign moves by y, a zero one is a zero signed as y.
    remainder = tirx.Mod(x, y)  # LLVM's frem: exactly C fmod (TVM's fmod intrinsic has no CPU lowering)
    if fmod:
        return remainder
    zero = tirx.const(0, dtype)
    other_sign = tirx.Select(remainder < zero, y > zero, tirx.And(remainder > zero, y < zero))
    return tirx.Select(remainder == zero, tirx.copysign(zero, y),
                       tirx.Select(other_sign, remainder + y, remainder))


def _mod(x, y, fmod, tirx):
    if _is_float(x.dtype):
        if str(x.dtype) == "float16":  # no half-precision fmod in LLVM's libm
            return _float_mod(x.astype("float32"), y.astype("float32"), fmod, "float32", tirx).astype("float16")
        return _float_mod(x, y, fmod, x.dtype, tirx)
    # Integers: fmod=0 is Python's %, sign of the divisor; fmod=1 is C's, sign of the dividend.
    return tirx.truncmod(x, y) if fmod else tirx.floormod(x, y)


class Mod(_Binary):
    """Mod with attr "fmod" (0: floor modulo, 1: truncated, as C fmod)."""

    name = "Mod"

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import tirx

        return [broadcast_compute(inputs, lambda x, y: _mod(x, y, attrs["fmod"], tirx), name="mod")]


register(Mod)
