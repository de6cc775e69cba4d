"""Elementwise activations beyond unary.py's: Selu, Celu, Softsign, ThresholdedRelu, Shrink,
Mish, Gelu. They are unary.py's _Unary ops, so they fuse into elementwise chains and epilogues.

Attributes are explicit floats set by the converter (Gelu's "approximate" is "none" | "tanh").
"""
from __future__ import annotations

import math

from convrnn.schedules.ops import _fastmath as fast
from convrnn.schedules.ops.unary import _Unary
from convrnn.schedules.registry import register


def _c(value, like):
    from convrnn.compiler.tvm_adapter import tirx

    return tirx.const(value, like.dtype)


def _activation(op_name: str, expr):
    return register(type(op_name, (_Unary,), {"name": op_name, "expr": staticmethod(expr)}))


def _selu(v, a, tirx):
    gamma, alpha = _c(a["gamma"], v), _c(a["alpha"], v)
    return tirx.Select(v > _c(0, v), gamma * v, gamma * (alpha * fast.exp(v, v.dtype, tirx) - alpha))


def _celu(v, a, tirx):
    alpha = _c(a["alpha"], v)
    negative = alpha * (fast.exp(v / alpha, v.dtype, tirx) - _c(1, v))
    return tirx.max(v, _c(0, v)) + tirx.min(negative, _c(0, v))


def _shrink(v, a, tirx):
    lambd, bias = _c(a["lambd"], v), _c(a["bias"], v)
    return tirx.Select(v < -lambd, v + bias, tirx.Select(v > lambd, v - bias, _c(0, v)))


def _mish(v, a, tirx):
    # x * tanh(softplus(x)), softplus without overflow: max(x, 0) + log1p(e^-|x|).
    softplus = tirx.max(v, _c(0, v)) + tirx.log1p(fast.exp(-tirx.abs(v), v.dtype, tirx))
    return v * fast.tanh(softplus, v.dtype, tirx)


def _gelu(v, a, tirx):
    half, one = _c(0.5, v), _c(1, v)
    if a["approximate"] == "tanh":
        inner = _c(math.sqrt(2 / math.pi), v) * (v + _c(0.044715, v) * v * v * v)
        return half * v * (one + fast.tanh(inner, v.dtype, tirx))
    return half * v * (one + fast.erf(v * _c(1 / math.sqrt(2), v), v.dtype, tirx))


_activation("Selu", _selu)
_activation("Celu", _celu)
_activation("Softsign", lambda v, a, tirx: v / (_c(1, v) + tirx.abs(v)))
_activation("ThresholdedRelu", lambda v, a, tirx: tirx.Select(v > _c(a["alpha"], v), v, _c(0, v)))
_activation("Shrink", _shrink)
_activation("Mish", _mish)
_activation("Gelu", _gelu)
