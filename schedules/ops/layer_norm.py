"""LayerNormalization(X, Scale[, B]) over the axes from attr "axis" (non-negative) on: outputs
Y (X's dtype), Mean and InvStdDev (attr "stash_dtype", with 1s for the normalized axes). The
statistics accumulate in float32 (float64 for float64), two passes: mean, then variance."""
from __future__ import annotations

from convrnn.compiler.ir import TensorType, is_floating
from convrnn.schedules.ops._broadcast import broadcast_index
from convrnn.schedules.registry import OpDef, register
from convrnn.schedules.shapes import broadcast_shapes


@register
class LayerNormalization(OpDef):
    name = "LayerNormalization"

    def infer(self, inputs, attrs):
        x, scale, bias = (list(inputs) + [None])[:3]
        axis = attrs["axis"]
        if not is_floating(str(x.dtype)):
            raise ValueError(f"X must be floating point, got {x.dtype}")
        if not 0 <= axis < x.rank:
            raise ValueError(f"axis {axis} is out of range for rank {x.rank}")
        normalized = x.shape[axis:]
        for what, t in (("Scale", scale), ("B", bias)):
            if t is None:
                continue
            if t.dtype != x.dtype or t.rank > len(normalized) or broadcast_shapes(t.shape, normalized) != normalized:
                raise ValueError(f"{what} {t} does not broadcast to the normalized shape {normalized} of {x.dtype}")
        stats = TensorType(x.shape[:axis] + (1,) * len(normalized), attrs["stash_dtype"])
        return [TensorType(x.shape, x.dtype), stats, stats]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te, tirx

        x, scale, bias = (list(inputs) + [None])[:3]
        axis, stash = attrs["axis"], attrs["stash_dtype"]
        acc = "float64" if "float64" in (stash, str(x.dtype)) else "float32"
        rank = len(x.shape)
        stat_shape = list(x.shape[:axis]) + [1] * (rank - axis)
        count = tirx.const(1, acc)
        for d in x.shape[axis:]:
            count = count * d.astype(acc)

        def value(i):
            return x[i].astype(acc)

        def reduce_axes():
            return [te.reduce_axis((0, d), name=f"k{a}") for a, d in enumerate(x.shape[axis:])]

        def summed(fn, name):
            def element(*i):
                ks = reduce_axes()
                return te.sum(fn(tuple(i[:axis]) + tuple(ks)), axis=ks)
            return te.compute(stat_shape, element, name=name)

        total = summed(value, "sum")
        mean = te.compute(stat_shape, lambda *i: total[i] / count, name="mean")

        def stat_at(i):
            return tuple(i[:axis]) + (0,) * (rank - axis)

        squares = summed(lambda i: (value(i) - mean[stat_at(i)]) * (value(i) - mean[stat_at(i)]), "squares")
        epsilon = tirx.const(attrs["epsilon"], acc)
        inv_std = te.compute(stat_shape, lambda *i: tirx.const(1, acc) / tirx.sqrt(squares[i] / count + epsilon),
                             name="inv_std_dev")

        def normalized(*i):
            y = (value(i) - mean[stat_at(i)]) * inv_std[stat_at(i)] * broadcast_index(scale, i).astype(acc)
            if bias is not None:
                y = y + broadcast_index(bias, i).astype(acc)
            return y.astype(x.dtype)

        y = te.compute(x.shape, normalized, name="layer_norm")
        mean_out = te.compute(stat_shape, lambda *i: mean[i].astype(stash), name="mean_out")
        inv_out = te.compute(stat_shape, lambda *i: inv_std[i].astype(stash), name="inv_std_dev_out")
        return [y, mean_out, inv_out]
