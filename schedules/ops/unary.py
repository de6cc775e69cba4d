"""Elementwise unary ops (activations and math), one TE expression each."""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.registry import OpDef, register


class _Unary(OpDef):
    def infer(self, inputs, attrs):
        (x,) = inputs
        return [TensorType(x.shape, x.dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te, tirx

        (x,) = inputs
        return [te.compute(x.shape, lambda *i: self.expr(x[i], attrs, tirx), name=self.name.lower())]


def _unary(op_name: str, expr):
    cls = type(op_name, (_Unary,), {"name": op_name, "expr": staticmethod(expr)})
    return register(cls)


def _const(value, like):
    from convrnn.compiler.tvm_adapter import tirx

    return tirx.const(value, like.dtype)


_unary("Relu", lambda v, a, tirx: tirx.max(v, _const(0, v)))
_unary("Sigmoid", lambda v, a, tirx: tirx.sigmoid(v))
_unary("Tanh", lambda v, a, tirx: tirx.tanh(v))
