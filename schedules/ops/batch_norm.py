"""BatchNormalization at inference: y = (x - mean) / sqrt(var + epsilon) * scale + bias,
per channel along axis 1.

attrs: epsilon. Inputs: X [N, C, ...], scale, bias, mean, var (each [C]).
"""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.registry import OpDef, register


@register
class BatchNormalization(OpDef):
    name = "BatchNormalization"

    def infer(self, inputs, attrs):
        x, *params = inputs
        if x.rank < 2:
            raise ValueError(f"input of rank {x.rank}: BatchNormalization needs [N, C, ...]")
        for name, param in zip(("scale", "bias", "mean", "var"), params):
            if param is None or tuple(param.shape) != (x.shape[1],):
                raise ValueError(f"{name} of shape {None if param is None else param.shape} "
                                 f"for {x.shape[1]} channels")
        return [TensorType(x.shape, x.dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te, tirx

        x, scale, bias, mean, var = inputs
        precision = "float64" if x.dtype == "float64" else "float32"
        eps = tirx.const(attrs["epsilon"], precision)

        def param(p, c):
            return p[c].astype(precision)

        # Per-channel factor and offset first (C square roots, not one per element).
        factor = te.compute(scale.shape, lambda c: param(scale, c) / tirx.sqrt(param(var, c) + eps), name="factor")
        offset = te.compute(scale.shape, lambda c: param(bias, c) - param(mean, c) * factor[c], name="offset")
        return [te.compute(x.shape, lambda n, c, *rest: (x[(n, c, *rest)].astype(precision) * factor[c]
                                                         + offset[c]).astype(x.dtype), name="batch_norm")]
