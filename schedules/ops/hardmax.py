"""Hardmax over a set of axes (attr "axes", as Softmax's): 1 at the first maximum of each row
(in row-major order over the axes), 0 elsewhere."""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.registry import OpDef, register


@register
class Hardmax(OpDef):
    name = "Hardmax"

    def infer(self, inputs, attrs):
        (x,) = inputs
        if not attrs["axes"] or not all(0 <= a < x.rank for a in attrs["axes"]):
            raise ValueError(f"Hardmax over axes {attrs['axes']} of {x}")
        return [TensorType(x.shape, x.dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te, tirx

        (x,) = inputs
        axes = sorted(attrs["axes"])
        kept = [a for a in range(x.ndim) if a not in axes]

        def index(row, along):
            full = [None] * x.ndim
            for a, r in zip(kept, row):
                full[a] = r
            for a, r in zip(axes, along):
                full[a] = r
            return tuple(full)

        def offset(along):
            """Row-major position within the row."""
            flat = along[0]
            for a, r in zip(axes[1:], along[1:]):
                flat = flat * x.shape[a] + r
            return flat

        def reduction(body, name):
            def compute(*row):
                along = [te.reduce_axis((0, x.shape[a]), name=f"r{a}") for a in axes]
                return body(row, along)

            return te.compute([x.shape[a] for a in kept], compute, name=name)

        peak = reduction(lambda row, along: te.max(x[index(row, along)], axis=along), "row_max")
        never = tirx.const(2**31 - 1, "int32")
        first = reduction(lambda row, along: te.min(
            tirx.Select(x[index(row, along)] == peak[row], offset(along).astype("int32"), never), axis=along),
            "first_max")

        def element(*i):
            row, along = tuple(i[a] for a in kept), [i[a] for a in axes]
            hit = offset(along).astype("int32") == first[row]
            return tirx.Select(hit, tirx.const(1, x.dtype), tirx.const(0, x.dtype))

        return [te.compute(x.shape, element, name="hardmax")]
