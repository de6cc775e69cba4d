"""Slice with per-axis start and step over every axis (attrs "starts", "steps"; output shape from infer).

The converter resolves ONNX's clamping and negative indices, so starts are in range and
the output shape ("sizes") is exact; an axis not sliced has start 0, step 1, its full size.
On a symbolic axis (length N) a negative start counts from the end: N + start (see
frontend/ops/slice.py for which slices of a symbolic axis the converter accepts). Where such an
axis is sliced to a fixed length, reads are clamped into [0, N) so that a run with N shorter
than the window assumed never reads out of bounds.
"""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.compiler.symbolic_dims import names_in
from convrnn.schedules.ops._broadcast import te_shape
from convrnn.schedules.registry import OpDef, register


@register
class Slice(OpDef):
    name = "Slice"

    def infer(self, inputs, attrs):
        (x,) = inputs
        sizes = tuple(attrs["sizes"])
        if len(sizes) != x.rank or len(attrs["starts"]) != x.rank or len(attrs["steps"]) != x.rank:
            raise ValueError(f"slice of rank {len(sizes)} for input {x}")
        for axis, (dim, size, start) in enumerate(zip(x.shape, sizes, attrs["starts"])):
            if isinstance(size, str) and not names_in(size) <= names_in(dim):
                raise ValueError(f"axis {axis}: output dim {size!r} is not a formula of the input's {dim!r}")
            if isinstance(dim, int) and not 0 <= start < dim:
                raise ValueError(f"axis {axis}: start {start} outside the axis of length {dim}")
        return [TensorType(sizes, x.dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te, tirx

        (x,) = inputs
        starts, steps, sizes = attrs["starts"], attrs["steps"], attrs["sizes"]
        shape = te_shape(outputs[0].shape, inputs)

        def index(axis, k):
            extent, start, step = x.shape[axis], starts[axis], steps[axis]
            if hasattr(extent, "value"):  # a fixed axis: the converter resolved the start
                return start + k * step
            if start < 0:
                start = extent + start
            if getattr(extent, "name", None) == sizes[axis]:  # the whole (symbolic) axis: always in range
                return start + k * step
            return tirx.min(tirx.max(start + k * step, 0), extent - 1)

        return [te.compute(shape, lambda *i: x[tuple(index(a, k) for a, k in enumerate(i))], name="slice")]
