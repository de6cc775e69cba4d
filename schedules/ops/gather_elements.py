"""GatherElements along attr "axis" (non-negative): out[i] = data[i with i[axis] = indices[i]];
negative indices count from the end, as in ONNX."""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.registry import OpDef, register


def wrapped_index(index, size, tirx):
    """An index read from a tensor as int32 (as shape dims are), negative ones from the end,
    clamped so that an out-of-range index never reads outside the data."""
    index = index.astype("int32")
    index = tirx.Select(index < 0, index + size, index)
    return tirx.max(tirx.min(index, size - 1), 0)


@register
class GatherElements(OpDef):
    name = "GatherElements"

    def infer(self, inputs, attrs):
        data, indices = inputs
        axis = attrs["axis"]
        if indices.dtype not in ("int64", "int32"):
            raise ValueError(f"indices must be int32 or int64, got {indices.dtype}")
        if indices.rank != data.rank:
            raise ValueError(f"indices of rank {indices.rank} for data of rank {data.rank}")
        if not 0 <= axis < data.rank:
            raise ValueError(f"axis {axis} is out of range for rank {data.rank}")
        return [TensorType(indices.shape, data.dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te, tirx

        data, indices = inputs
        axis = attrs["axis"]

        def element(*i):
            index = wrapped_index(indices[i], data.shape[axis], tirx)
            return data[i[:axis] + (index,) + i[axis + 1:]]

        return [te.compute(indices.shape, element, name="gather_elements")]
