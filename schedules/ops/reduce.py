"""ReduceSum, ReduceMean, ReduceMax over a list of axes (attrs "axes", non-negative, non-empty; "keepdims")."""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.registry import OpDef, register


class _Reduce(OpDef):
    def infer(self, inputs, attrs):
        (x,) = inputs
        axes = set(attrs["axes"])
        if not axes or not all(0 <= a < x.rank for a in axes):
            raise ValueError(f"axes {attrs['axes']} are out of range for rank {x.rank}")
        keep = attrs["keepdims"]
        shape = [1 if a in axes else d for a, d in enumerate(x.shape) if keep or a not in axes]
        return [TensorType(tuple(shape), x.dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te, topi

        (x,) = inputs
        axes, keep = sorted(attrs["axes"]), bool(attrs["keepdims"])
        if self.name == "ReduceMax":
            # The max of bools is their "any" (TVM has no max_value for bool).
            reduce_max = topi.any if outputs[0].dtype == "bool" else topi.max
            return [reduce_max(x, axis=axes, keepdims=keep)]
        total = topi.sum(x, axis=axes, keepdims=keep)
        if self.name == "ReduceSum":
            return [total]
        count = 1
        for a in axes:
            count = count * x.shape[a]
        return [te.compute(total.shape, lambda *i: total[i] / count.astype(x.dtype), name="mean")]


for _name in ("ReduceSum", "ReduceMean", "ReduceMax"):
    register(type(_name, (_Reduce,), {"name": _name}))
