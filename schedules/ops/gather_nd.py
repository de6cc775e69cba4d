"""GatherND with attr "batch_dims": indices [..., k] pick slices of data after its batch dims;
negative indices count from the end."""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.ops.gather_elements import wrapped_index
from convrnn.schedules.registry import OpDef, register


@register
class GatherND(OpDef):
    name = "GatherND"

    def infer(self, inputs, attrs):
        data, indices = inputs
        batch = attrs["batch_dims"]
        if indices.dtype not in ("int64", "int32"):
            raise ValueError(f"indices must be int32 or int64, got {indices.dtype}")
        if indices.rank < 1 or data.rank < 1 or not 0 <= batch < min(data.rank, indices.rank):
            raise ValueError(f"batch_dims {batch} needs data and indices of a greater rank "
                             f"(got {data.rank} and {indices.rank})")
        depth = indices.shape[-1]
        if not isinstance(depth, int) or not 1 <= depth <= data.rank - batch:
            raise ValueError(f"the last dim of indices ({depth}) must be a constant in 1..{data.rank - batch}")
        if indices.shape[:batch] != data.shape[:batch]:
            raise ValueError(f"batch dims of indices {indices.shape[:batch]} and data {data.shape[:batch]} differ")
        return [TensorType(indices.shape[:-1] + data.shape[batch + depth:], data.dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te, tirx

        data, indices = inputs
        batch = attrs["batch_dims"]
        depth = int(indices.shape[-1])
        lead = len(indices.shape) - 1
        shape = list(indices.shape[:-1]) + list(data.shape[batch + depth:])

        def element(*i):
            picked = tuple(wrapped_index(indices[i[:lead] + (j,)], data.shape[batch + j], tirx) for j in range(depth))
            return data[i[:batch] + picked + i[lead:]]

        return [te.compute(shape, element, name="gather_nd")]
