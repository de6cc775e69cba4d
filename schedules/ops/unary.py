"""Elementwise unary ops (activations and math), one TE expression each.

Attributes are plain floats set by the converters (alpha, beta, min, max).
"""
from __future__ import annotations

import numpy as np

from convrnn.compiler.ir import TensorType
from convrnn.schedules.ops import _fastmath as fast
from convrnn.schedules.registry import OpDef, register


class _Unary(OpDef):
    result_dtype: "str | None" = None  # None: the input's dtype

    def infer(self, inputs, attrs):
        (x,) = inputs
        return [TensorType(x.shape, self.result_dtype or x.dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te, tirx

        (x,) = inputs
        return [te.compute(x.shape, lambda *i: self.expr(x[i], attrs, tirx), name=self.name.lower())]


def _unary(op_name: str, expr, result_dtype=None):
    cls = type(op_name, (_Unary,), {"name": op_name, "expr": staticmethod(expr), "result_dtype": result_dtype})
    return register(cls)


def _const(value, like):
    from convrnn.compiler.tvm_adapter import tirx

    return tirx.const(value, like.dtype)


def _clip(v, attrs, tirx):
    low, high = attrs.get("min"), attrs.get("max")
    bounded = v if low is None else tirx.max(v, _const(low, v))
    return bounded if high is None else tirx.min(bounded, _const(high, v))


def _hard_sigmoid(v, alpha, beta, tirx):
    return tirx.min(tirx.max(v * _const(alpha, v) + _const(beta, v), _const(0, v)), _const(1, v))


def _hard_swish(v, a, tirx):
    # Near -3 the gate is tiny and the product a denormal float, which costs every conv that
    # reads it a microcode assist per multiply (DBNet's 1 x 1 conv after one ran 12x slower
    # on a tenth of its input denormal): flushed to zero, less than the smallest normal float
    # away from ONNX's value.
    product = v * _hard_sigmoid(v, 1.0 / 6.0, 0.5, tirx)
    return tirx.Select(tirx.abs(product) < _const(float(np.finfo(str(v.dtype)).tiny), v), _const(0, v), product)


def _softplus(v, a, tirx):
    # log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|).
    return tirx.max(v, _const(0, v)) + tirx.log1p(tirx.exp(-tirx.abs(v)))


def _elu(v, a, tirx):
    return tirx.Select(v >= _const(0, v), v, _const(a["alpha"], v) * (fast.exp(v, v.dtype, tirx) - _const(1, v)))


def _reciprocal(v, a, tirx):
    return _const(1, v) / v


# The copy the importer emits so that a graph output owns its buffer.
_unary("Identity", lambda v, a, tirx: v)
_unary("Relu", lambda v, a, tirx: tirx.max(v, _const(0, v)))
_unary("LeakyRelu", lambda v, a, tirx: tirx.Select(v >= _const(0, v), v, v * _const(a["alpha"], v)))
_unary("Elu", _elu)
_unary("Sigmoid", lambda v, a, tirx: fast.sigmoid(v, v.dtype, tirx))
_unary("HardSigmoid", lambda v, a, tirx: _hard_sigmoid(v, a["alpha"], a["beta"], tirx))
_unary("HardSwish", _hard_swish)
_unary("Softplus", _softplus)
_unary("Tanh", lambda v, a, tirx: fast.tanh(v, v.dtype, tirx))
_unary("Clip", _clip)
_unary("Erf", lambda v, a, tirx: fast.erf(v, v.dtype, tirx))
_unary("Exp", lambda v, a, tirx: fast.exp(v, v.dtype, tirx))
_unary("Log", lambda v, a, tirx: tirx.log(v))
_unary("Sqrt", lambda v, a, tirx: tirx.sqrt(v))
_unary("Abs", lambda v, a, tirx: tirx.abs(v))
_unary("Neg", lambda v, a, tirx: -v)
_unary("Reciprocal", _reciprocal)
_unary("Floor", lambda v, a, tirx: tirx.floor(v))
_unary("Ceil", lambda v, a, tirx: tirx.ceil(v))
_unary("Not", lambda v, a, tirx: tirx.Not(v), result_dtype="bool")


def _float_math(fn):
    """fn(v, tirx) computed in float32 for float16 (LLVM has no half-precision libm)."""
    def expr(v, a, tirx):
        if str(v.dtype) == "float16":
            return fn(v.astype("float32"), tirx).astype("float16")
        return fn(v, tirx)
    return expr


def _sign(v, a, tirx):
    one, zero = _const(1, v), _const(0, v)
    if str(v.dtype).startswith("uint"):
        return tirx.Select(v > zero, one, zero)
    # NaN compares false both ways and stays NaN here, as in onnxruntime.
    return tirx.Select(v > zero, one, tirx.Select(v < zero, _const(-1, v), v))


def _is_inf(v, a, tirx):
    if not str(v.dtype).startswith("float"):
        return tirx.const(False, "bool")
    infinite = tirx.isinf(v)
    if not a["detect_positive"]:
        infinite = tirx.And(infinite, v < _const(0, v))
    if not a["detect_negative"]:
        infinite = tirx.And(infinite, v > _const(0, v))
    return infinite


def _is_nan(v, a, tirx):
    return tirx.isnan(v) if str(v.dtype).startswith("float") else tirx.const(False, "bool")


_unary("Sin", _float_math(lambda v, tirx: tirx.sin(v)))
_unary("Cos", _float_math(lambda v, tirx: tirx.cos(v)))
_unary("Tan", _float_math(lambda v, tirx: tirx.tan(v)))
_unary("Asin", _float_math(lambda v, tirx: tirx.asin(v)))
_unary("Acos", _float_math(lambda v, tirx: tirx.acos(v)))
_unary("Atan", _float_math(lambda v, tirx: tirx.atan(v)))
_unary("Sinh", _float_math(lambda v, tirx: tirx.sinh(v)))
_unary("Cosh", _float_math(lambda v, tirx: tirx.cosh(v)))
# nearbyint rounds in the default mode, half to even (llvm.round would round half away from zero).
_unary("Round", _float_math(lambda v, tirx: tirx.nearbyint(v)))
_unary("Sign", _sign)
_unary("IsNaN", _is_nan, result_dtype="bool")
_unary("IsInf", _is_inf, result_dtype="bool")
