"""Softmax and LogSoftmax over a set of axes (attr "axes"), numerically stable (max subtracted).

Opset >= 13 normalizes along one axis; older opsets over every axis from `axis` on (the
input coerced to 2-D): both are one list of axes here.
"""
from __future__ import annotations

from convrnn.compiler.ir import TensorType, is_floating
from convrnn.schedules.ops import _fastmath as fast
from convrnn.schedules.registry import OpDef, register


class _Softmax(OpDef):
    log = False

    def infer(self, inputs, attrs):
        (x,) = inputs
        if not is_floating(x.dtype) or not all(0 <= a < x.rank for a in attrs["axes"]):
            raise ValueError(f"{self.name} over axes {attrs['axes']} of {x}")
        return [TensorType(x.shape, x.dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te, tirx

        (x,) = inputs
        axes = sorted(attrs["axes"])
        kept = [a for a in range(len(x.shape)) if a not in axes]

        def full_index(row, reduce_vars):
            index = [None] * len(x.shape)
            for a, r in zip(kept, row):
                index[a] = r
            for a, r in zip(axes, reduce_vars):
                index[a] = r
            return tuple(index)

        def reduce(fn, element, name):
            def body(*row):
                rs = [te.reduce_axis((0, x.shape[a]), name=f"r{a}") for a in axes]
                return fn(element(full_index(row, rs)), axis=rs)

            return te.compute([x.shape[a] for a in kept], body, name=name)

        def row_of(i):
            return tuple(i[a] for a in kept)

        peak = reduce(te.max, lambda i: x[i], "row_max")
        # exp(x - max) is its own stage, computed once and vectorized; the sum only adds.
        shifted_exp = te.compute(x.shape, lambda *i: fast.exp(x[i] - peak[row_of(i)], x.dtype, tirx),
                                 name="shifted_exp")
        total = reduce(te.sum, lambda i: shifted_exp[i], "row_sum")

        def element(*i):
            row = row_of(i)
            return x[i] - peak[row] - tirx.log(total[row]) if self.log else shifted_exp[i] / total[row]

        return [te.compute(x.shape, element, name=self.name.lower())]


@register
class Softmax(_Softmax):
    name = "Softmax"


@register
class LogSoftmax(_Softmax):
    name = "LogSoftmax"
    log = True
