"""Split along one axis into chunks of the given sizes (attrs "axis", "sizes")."""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.registry import OpDef, register


@register
class Split(OpDef):
    name = "Split"

    def infer(self, inputs, attrs):
        (x,) = inputs
        axis, sizes = attrs["axis"], list(attrs["sizes"])
        if isinstance(x.shape[axis], str) or sum(sizes) != x.shape[axis] or min(sizes) < 0:
            raise ValueError(f"sizes {sizes} do not split dim {x.shape[axis]} of axis {axis}")
        return [TensorType(x.shape[:axis] + (size,) + x.shape[axis + 1:], x.dtype) for size in sizes]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te

        (x,) = inputs
        axis = attrs["axis"]
        results, start = [], 0
        for k, size in enumerate(attrs["sizes"]):
            shape = list(x.shape[:axis]) + [size] + list(x.shape[axis + 1:])

            results.append(te.compute(shape, _shifted(x, axis, start), name=f"split{k}"))
            start += size
        return results


def _shifted(x, axis, start):
    """fcompute reading x at the output index moved by `start` along axis."""
    return lambda *i: x[i[:axis] + (i[axis] + start,) + i[axis + 1:]]
