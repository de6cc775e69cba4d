"""OneHot(indices, values): a new axis of attr "depth" at attr "axis" (non-negative, in the
output's rank) holding values[1] where it equals the index, values[0] elsewhere. An index in
[-depth, -1] counts from the end; other out-of-range ones are all off."""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.registry import OpDef, register


@register
class OneHot(OpDef):
    name = "OneHot"

    def infer(self, inputs, attrs):
        indices, values = inputs
        axis, depth = attrs["axis"], attrs["depth"]
        if not 0 <= axis <= indices.rank:
            raise ValueError(f"axis {axis} is out of range for an output of rank {indices.rank + 1}")
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        if values.shape not in ((2,),):
            raise ValueError(f"values must hold [off_value, on_value], got shape {values.shape}")
        if indices.dtype == "bool":
            raise ValueError("indices must be numbers, got bool")
        return [TensorType(indices.shape[:axis] + (depth,) + indices.shape[axis:], values.dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te, tirx

        indices, values = inputs
        axis, depth = attrs["axis"], attrs["depth"]
        shape = list(indices.shape[:axis]) + [depth] + list(indices.shape[axis:])

        def element(*i):
            index = indices[i[:axis] + i[axis + 1:]].astype("int64")  # float indices truncate
            index = tirx.Select(index < 0, index + depth, index)
            return tirx.Select(index == i[axis].astype("int64"), values[1], values[0])

        return [te.compute(shape, element, name="one_hot")]
