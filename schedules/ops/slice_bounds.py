"""SliceBounds(data, starts, ends): ONNX's clamping of run-time slice bounds, for a Slice whose
starts or ends are tensors. Outputs two int64 vectors, one element per sliced axis: the first
index read and the number of elements taken. attrs: "axes" (non-negative), "steps" (ints, not
0), "binds" (the run-time dim each count is: compiler/bound_dims.py). `data` is read only for
the lengths of its axes."""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.registry import OpDef, register


@register
class SliceBounds(OpDef):
    name = "SliceBounds"

    def infer(self, inputs, attrs):
        data, starts, ends = inputs
        count = len(attrs["axes"])
        for what, vector in (("starts", starts), ("ends", ends)):
            if vector.dtype not in ("int64", "int32") or vector.shape != (count,):
                raise ValueError(f"{what} must be an integer vector of {count} elements, got {vector}")
        if len(attrs["steps"]) != count or len(attrs["binds"]) != count:
            raise ValueError(f"{count} axes with {len(attrs['steps'])} steps and {len(attrs['binds'])} dims")
        if any(not 0 <= axis < data.rank for axis in attrs["axes"]) or 0 in attrs["steps"]:
            raise ValueError(f"axes {attrs['axes']} / steps {attrs['steps']} invalid for {data}")
        return [TensorType((count,), "int64"), TensorType((count,), "int64")]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te, tirx

        data, starts, ends = inputs
        axes, steps = attrs["axes"], attrs["steps"]

        def select(j, choices):
            """choices[j] for a run-time index j over the sliced axes."""
            result = choices[-1]
            for k in range(len(choices) - 2, -1, -1):
                result = tirx.Select(j == k, choices[k], result)
            return result

        def bounds(j):
            extent = select(j, [data.shape[a].astype("int64") for a in axes])
            step = select(j, [tirx.const(s, "int64") for s in steps])
            start, end = starts[j].astype("int64"), ends[j].astype("int64")
            start = tirx.Select(start < 0, start + extent, start)
            end = tirx.Select(end < 0, end + extent, end)
            zero, one = tirx.const(0, "int64"), tirx.const(1, "int64")
            forward_start = tirx.min(tirx.max(start, zero), extent)
            forward_end = tirx.min(tirx.max(end, zero), extent)
            backward_start = tirx.min(tirx.max(start, zero), extent - one)
            backward_end = tirx.min(tirx.max(end, -one), extent - one)
            first = tirx.Select(step > 0, forward_start, backward_start)
            span = tirx.Select(step > 0, forward_end - forward_start, backward_start - backward_end)
            magnitude = tirx.Select(step > 0, step, -step)
            count = tirx.max(tirx.floordiv(span + magnitude - one, magnitude), zero)
            return first, count

        count = len(axes)
        return [te.compute((count,), lambda j: bounds(j)[0], name="slice_first"),
                te.compute((count,), lambda j: bounds(j)[1], name="slice_count")]
