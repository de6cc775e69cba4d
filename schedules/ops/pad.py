"""Pad every axis (attrs "pads": begins then ends, "mode", "value"; an end pad may be a dim
formula, as a pad to a minimum length computes it: max(1024 - samples, 0)).

Modes: constant (negative pads crop), reflect (mirror without repeating the edge), edge
(repeat the edge), wrap (periodic).
"""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.compiler.symbolic_dims import add
from convrnn.schedules.ops._broadcast import te_shape
from convrnn.schedules.registry import OpDef, register

MODES = ("constant", "reflect", "edge", "wrap")


@register
class Pad(OpDef):
    name = "Pad"

    def infer(self, inputs, attrs):
        x = inputs[0]
        pads, mode = list(attrs["pads"]), attrs["mode"]
        if mode not in MODES:
            raise ValueError(f"unknown pad mode {mode!r}")
        if len(pads) != 2 * x.rank:
            raise ValueError(f"{len(pads)} pads for rank {x.rank}")
        shape = []
        for axis, dim in enumerate(x.shape):
            begin, end = pads[axis], pads[axis + x.rank]
            if isinstance(begin, str):
                raise ValueError(f"a begin pad must be an int, got {begin!r}")
            if isinstance(dim, str) or isinstance(end, str):  # an end pad may be a dim formula
                shape.append(add(add(dim, begin), end))
                continue
            if mode != "constant" and (min(begin, end) < 0 or (mode == "reflect" and max(begin, end) >= dim)):
                raise ValueError(f"{mode} pads ({begin}, {end}) do not fit dim {dim}")
            if dim + begin + end < 0:
                raise ValueError(f"pads ({begin}, {end}) crop more than dim {dim}")
            shape.append(dim + begin + end)
        return [TensorType(tuple(shape), x.dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te, tirx

        x = inputs[0]
        rank, pads, mode = len(x.shape), attrs["pads"], attrs["mode"]
        shape = te_shape(outputs[0].shape, inputs)  # a formula dim: a variable bound from the output

        def source(j, n):
            if mode == "edge":
                return tirx.max(tirx.min(j, n - 1), 0)
            if mode == "reflect":
                j = tirx.abs(j)
                return tirx.Select(j >= n, 2 * (n - 1) - j, j)
            if mode == "wrap":
                return tirx.floormod(j, n)
            return j  # constant: read only where inside (if_then_else does not evaluate the other arm)

        def element(*i):
            j = [k - pads[a] for a, k in enumerate(i)]
            value = x[tuple(source(ja, n) for ja, n in zip(j, x.shape))]
            inside = [tirx.And(ja >= 0, ja < n) for a, (ja, n) in enumerate(zip(j, x.shape))
                      if pads[a] > 0 or isinstance(pads[a + rank], str) or pads[a + rank] > 0]
            if mode != "constant" or not inside:
                return value
            return tirx.if_then_else(tirx.all(*inside), value, tirx.const(attrs["value"], x.dtype))

        return [te.compute(shape, element, name="pad")]
