"""ScatterElements along attr "axis" (non-negative) with attr "reduction" (none, add, mul, max,
min): a copy of data where out[i with i[axis] = indices[i]] takes (or is combined with)
updates[i]; negative indices count from the end. Updates apply in order, so duplicate indices
combine one after another (and the last one wins without a reduction)."""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.compiler.symbolic_dims import equate
from convrnn.schedules.ops import _scatter
from convrnn.schedules.registry import OpDef, register


@register
class ScatterElements(OpDef):
    name = "ScatterElements"

    def infer(self, inputs, attrs):
        data, indices, updates = inputs
        axis = attrs["axis"]
        if indices.dtype not in ("int64", "int32"):
            raise ValueError(f"indices must be int32 or int64, got {indices.dtype}")
        if attrs["reduction"] not in _scatter.REDUCTIONS:
            raise ValueError(f"reduction {attrs['reduction']!r} is not one of {', '.join(_scatter.REDUCTIONS)}")
        if updates.rank == indices.rank:  # ONNX requires one shape: symbolic dims are equated
            for a, b in zip(indices.shape, updates.shape):
                equate(a, b, "indices and updates")
        if indices.rank != data.rank or updates.rank != indices.rank:
            raise ValueError(f"indices {indices.shape} and updates {updates.shape} must have one shape, "
                             f"of the rank of data {data.shape}")
        if updates.dtype != data.dtype:
            raise ValueError(f"updates are {updates.dtype}, data {data.dtype}")
        if not 0 <= axis < data.rank:
            raise ValueError(f"axis {axis} is out of range for rank {data.rank}")
        return [TensorType(data.shape, data.dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te, tirx

        data, indices, updates = inputs
        axis, reduction = attrs["axis"], attrs["reduction"]
        # The axis loop is innermost and serial: a parallel outer loop never writes where another
        # iteration does (its other coordinates differ).
        order = [a for a in range(len(data.shape)) if a != axis] + [axis]

        def body(ins, outs):
            data_buf, indices_buf, updates_buf = ins
            (out,) = outs

            def update(loop_vars):
                at = [None] * len(order)
                for var, a in zip(loop_vars, order):
                    at[a] = var
                position = list(at)
                position[axis] = _scatter.normalized_index(tirx.BufferLoad(indices_buf, at), data_buf.shape[axis], tirx)
                return _scatter.store_update(out, position, tirx.BufferLoad(updates_buf, at), reduction,
                                             [(position[axis], data_buf.shape[axis])], tirx)

            updates_loop = _scatter.loop_nest([indices_buf.shape[a] for a in order], update,
                                              parallel_outer=len(order) > 1)
            return tirx.SeqStmt([_scatter.copy_stmt(data_buf, out), updates_loop])

        return [te.extern([data.shape], [data, indices, updates], body, dtype=str(data.dtype), name="scatter_elements")]
