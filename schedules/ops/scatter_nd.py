"""ScatterND with attr "reduction" (none, add, mul, max, min): a copy of data where the slice
data[indices[j]] (indices [..., k] address data's first k axes) takes, or is combined with,
updates[j]; negative indices count from the end. Updates apply in order, one after another."""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.ops import _scatter
from convrnn.schedules.registry import OpDef, register


@register
class ScatterND(OpDef):
    name = "ScatterND"

    def infer(self, inputs, attrs):
        data, indices, updates = inputs
        if indices.dtype not in ("int64", "int32"):
            raise ValueError(f"indices must be int32 or int64, got {indices.dtype}")
        if attrs["reduction"] not in _scatter.REDUCTIONS:
            raise ValueError(f"reduction {attrs['reduction']!r} is not one of {', '.join(_scatter.REDUCTIONS)}")
        depth = indices.shape[-1] if indices.rank else None
        if not isinstance(depth, int) or not 1 <= depth <= data.rank:
            raise ValueError(f"the last dim of indices ({depth}) must be a constant in 1..{data.rank}")
        expected = indices.shape[:-1] + data.shape[depth:]
        if updates.shape != expected:
            raise ValueError(f"updates of shape {updates.shape}, expected {expected}")
        if updates.dtype != data.dtype:
            raise ValueError(f"updates are {updates.dtype}, data {data.dtype}")
        return [TensorType(data.shape, data.dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te, tirx

        data, indices, updates = inputs
        reduction = attrs["reduction"]
        depth = int(indices.shape[-1])
        lead = len(indices.shape) - 1

        def body(ins, outs):
            data_buf, indices_buf, updates_buf = ins
            (out,) = outs

            def update(loop_vars):
                rows, within = loop_vars[:lead], loop_vars[lead:]
                picked = [_scatter.normalized_index(tirx.BufferLoad(indices_buf, rows + [tirx.const(j, "int32")]),
                                                    data_buf.shape[j], tirx) for j in range(depth)]
                return _scatter.store_update(out, picked + within, tirx.BufferLoad(updates_buf, loop_vars),
                                             reduction, list(zip(picked, data_buf.shape[:depth])), tirx)

            # Serial throughout: two rows of indices may address the same slice.
            updates_loop = _scatter.loop_nest(list(updates_buf.shape), update)
            return tirx.SeqStmt([_scatter.copy_stmt(data_buf, out), updates_loop])

        return [te.extern([data.shape], [data, indices, updates], body, dtype=str(data.dtype), name="scatter_nd")]
