"""LpNormalization along one axis (attrs "axis", non-negative; "p", 1 or 2): x / ||x||_p, and
0 where the norm is 0 (as onnxruntime and the reference give)."""
from __future__ import annotations

from convrnn.compiler.ir import TensorType, is_floating
from convrnn.schedules.registry import OpDef, register


@register
class LpNormalization(OpDef):
    name = "LpNormalization"

    def infer(self, inputs, attrs):
        (x,) = inputs
        if not 0 <= attrs["axis"] < x.rank or attrs["p"] not in (1, 2) or not is_floating(x.dtype):
            raise ValueError(f"LpNormalization with axis {attrs['axis']}, p {attrs['p']} of {x}")
        return [TensorType(x.shape, x.dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te, tirx

        (x,) = inputs
        axis, p = attrs["axis"], attrs["p"]
        rows = [d for a, d in enumerate(x.shape) if a != axis]

        def norm(*row):
            k = te.reduce_axis((0, x.shape[axis]), name="k")
            v = x[(*row[:axis], k, *row[axis:])]
            return te.sum(tirx.abs(v) if p == 1 else v * v, axis=k)

        total = te.compute(rows, norm, name="norm")

        def divide(*i):
            row = (*i[:axis], *i[axis + 1:])
            norm = total[row] if p == 1 else tirx.sqrt(total[row])
            zero = tirx.const(0, x.dtype)
            return tirx.Select(norm == zero, zero, x[i] / norm)

        return [te.compute(x.shape, divide, name="normalized")]
