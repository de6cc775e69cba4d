"""DynamicSlice(data, firsts): the slice SliceBounds measured: along attr "axes"[j], element i
of the output reads firsts[j] + i * attr "steps"[j]; other axes are taken whole. The output's
shape (attr "sizes") holds the run-time dims the counts were bound to."""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.ops._broadcast import te_shape
from convrnn.schedules.registry import OpDef, register


@register
class DynamicSlice(OpDef):
    name = "DynamicSlice"

    def infer(self, inputs, attrs):
        data, firsts = inputs
        axes, sizes = attrs["axes"], tuple(attrs["sizes"])
        if firsts.shape != (len(axes),) or firsts.dtype != "int64":
            raise ValueError(f"firsts must be int64[{len(axes)}], got {firsts}")
        if len(sizes) != data.rank:
            raise ValueError(f"output of rank {len(sizes)} for input {data}")
        for axis, (dim, size) in enumerate(zip(data.shape, sizes)):
            if axis not in axes and dim != size:
                raise ValueError(f"axis {axis} is not sliced but changes from {dim!r} to {size!r}")
        return [TensorType(sizes, data.dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te, tirx

        data, firsts = inputs
        where = {axis: (j, step) for j, (axis, step) in enumerate(zip(attrs["axes"], attrs["steps"]))}
        shape = te_shape(outputs[0].shape, inputs)

        def index(axis, i):
            if axis not in where:
                return i
            j, step = where[axis]
            position = firsts[j].astype("int32") + i * step  # shape dims are int32 too
            return tirx.min(tirx.max(position, 0), data.shape[axis] - 1)  # an empty slice reads nothing

        return [te.compute(shape, lambda *i: data[tuple(index(a, k) for a, k in enumerate(i))],
                           name="dynamic_slice")]
