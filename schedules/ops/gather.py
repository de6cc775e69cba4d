"""Gather along one axis (attr "axis"); negative indices count from the end, as in ONNX."""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.registry import OpDef, register


@register
class Gather(OpDef):
    name = "Gather"

    def infer(self, inputs, attrs):
        data, indices = inputs
        axis = attrs["axis"]
        if indices.dtype not in ("int64", "int32"):
            raise ValueError(f"indices must be int32 or int64, got {indices.dtype}")
        if not 0 <= axis < data.rank:
            raise ValueError(f"axis {axis} is out of range for rank {data.rank}")
        return [TensorType(data.shape[:axis] + indices.shape + data.shape[axis + 1:], data.dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te, tirx

        data, indices = inputs
        axis, k = attrs["axis"], len(indices.shape)
        size = data.shape[axis]
        shape = list(data.shape[:axis]) + list(indices.shape) + list(data.shape[axis + 1:])

        def element(*i):
            index = indices[i[axis:axis + k]].astype("int32")  # shape dims are int32 too
            index = tirx.Select(index < 0, index + size, index)
            index = tirx.max(tirx.min(index, size - 1), 0)  # out-of-range indices must not read outside data
            return data[i[:axis] + (index,) + i[axis + k:]]

        return [te.compute(shape, element, name="gather")]
