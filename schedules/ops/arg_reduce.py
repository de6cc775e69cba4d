"""ArgMax / ArgMin along attr "axis" (non-negative) with "keepdims" and "select_last_index";
int64 indices. One reduction over (index, value) pairs whose combiner breaks ties by the index,
so the result does not depend on the order the reduction visits the elements in."""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.registry import OpDef, register


class _ArgReduce(OpDef):
    prefer_larger = True

    def infer(self, inputs, attrs):
        (x,) = inputs
        axis = attrs["axis"]
        if not 0 <= axis < x.rank:
            raise ValueError(f"axis {axis} is out of range for rank {x.rank}")
        if x.dtype == "bool":
            raise ValueError(f"{self.name} takes numbers, got bool")
        kept = [1 if a == axis else d for a, d in enumerate(x.shape)]
        shape = kept if attrs["keepdims"] else kept[:axis] + kept[axis + 1:]
        return [TensorType(tuple(shape), "int64")]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te, tirx

        (x,) = inputs
        axis, keep, last = attrs["axis"], attrs["keepdims"], attrs["select_last_index"]
        larger = self.prefer_larger

        def combine(acc, new):
            wins = new[1] > acc[1] if larger else new[1] < acc[1]
            later = new[0] > acc[0] if last else new[0] < acc[0]
            # acc[0] < 0: nothing seen yet (so -inf and the dtype's minimum are found too)
            take = tirx.Or(acc[0] < 0, tirx.Or(wins, tirx.And(new[1] == acc[1], later)))
            return tirx.Select(take, new[0], acc[0]), tirx.Select(take, new[1], acc[1])

        def identity(index_dtype, value_dtype):
            worst = tirx.min_value(value_dtype) if larger else tirx.max_value(value_dtype)
            return tirx.const(-1, index_dtype), worst

        reducer = te.comm_reducer(combine, identity, name=self.name.lower())
        k = te.reduce_axis((0, x.shape[axis]), name="k")
        shape = [1 if a == axis else d for a, d in enumerate(x.shape)]
        if not keep:
            shape = shape[:axis] + shape[axis + 1:]

        def element(*i):
            outer = i[:axis] + (k,) + i[axis + (1 if keep else 0):]
            return reducer((k.astype("int64"), x[outer]), axis=k)

        index, _ = te.compute(shape, element, name=self.name.lower())
        return [index]


for _name, _larger in (("ArgMax", True), ("ArgMin", False)):
    register(type(_name, (_ArgReduce,), {"name": _name, "prefer_larger": _larger}))
