"""InstanceNormalization(X [N, C, spatial...], scale [C], B [C]) (attr "epsilon"): each (n, c)
plane normalized by its own mean and variance (two passes, accumulated in float32 for
float16), then scaled and shifted per channel."""
from __future__ import annotations

from convrnn.compiler.ir import TensorType, is_floating
from convrnn.schedules.registry import OpDef, register


@register
class InstanceNormalization(OpDef):
    name = "InstanceNormalization"

    def infer(self, inputs, attrs):
        x, scale, bias = inputs
        if x.rank < 3 or not is_floating(x.dtype):
            raise ValueError(f"InstanceNormalization needs a float [N, C, spatial...] input, got {x}")
        for what, t in (("scale", scale), ("B", bias)):
            if t.shape != (x.shape[1],) or t.dtype != x.dtype:
                raise ValueError(f"{what} {t} is not a {x.dtype} vector of the {x.shape[1]} channels")
        return [TensorType(x.shape, x.dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te, tirx

        x, scale, bias = inputs
        acc = "float64" if x.dtype == "float64" else "float32"
        spatial = x.shape[2:]
        count = tirx.const(1, acc)
        for d in spatial:
            count = count * d.astype(acc)

        def plane_sum(element, name):
            def body(n, c):
                rs = [te.reduce_axis((0, d), name=f"r{i}") for i, d in enumerate(spatial)]
                return te.sum(element(n, c, rs), axis=rs)

            return te.compute(x.shape[:2], body, name=name)

        total = plane_sum(lambda n, c, rs: x[(n, c, *rs)].astype(acc), "plane_sum")
        mean = te.compute(x.shape[:2], lambda n, c: total[n, c] / count, name="mean")

        def squared_deviation(n, c, rs):
            d = x[(n, c, *rs)].astype(acc) - mean[n, c]
            return d * d

        deviation = plane_sum(squared_deviation, "deviation_sum")
        epsilon = tirx.const(attrs["epsilon"], acc)
        inv_std = te.compute(x.shape[:2], lambda n, c: tirx.const(1, acc) / tirx.sqrt(deviation[n, c] / count + epsilon),
                             name="inv_std")

        def normalize(n, c, *rest):
            centered = (x[(n, c, *rest)].astype(acc) - mean[n, c]) * inv_std[n, c]
            return (centered * scale[c].astype(acc) + bias[c].astype(acc)).astype(x.dtype)

        return [te.compute(x.shape, normalize, name="instance_norm")]
