"""Pools in NCHW: MaxPool, AveragePool, LpPool (1-d/2-d/3-d windows), MaxPoolWithIndices (MaxPool
with its Indices output), and GlobalMaxPool, GlobalAveragePool, GlobalLpPool.

Window attrs: kernel_shape, strides, dilations, pads (begins then ends), ceil_mode; AveragePool
also count_include_pad (the divisor counts the pads, never the ceil-mode overhang); LpPool and
GlobalLpPool p (a float holding an integer: (sum |x|^p)^(1/p), pads count as zeros);
MaxPoolWithIndices storage_order (0: the indices are row-major offsets into the whole input,
1: column-major over the spatial axes).
Any of them may take attr block (c, set by the blocked_layout pass): input and output are then
in the NCHW{c} layout [N, C/c, *S, c] (conv_layout.py), the channel block trailing.
"""
from __future__ import annotations

import functools
import operator

from convrnn.compiler.ir import TensorType
from convrnn.schedules.registry import OpDef, register
from convrnn.schedules.window import check_window_attrs, spatial_extents, static_spatial, window_output_dim


def lane_axes(x: TensorType, attrs) -> tuple:
    """The trailing channel-block axis of a blocked pool's input (checked), or ()."""
    block = attrs.get("block", 0)
    if not block:
        return ()
    if x.rank < 4 or x.shape[-1] != block:
        raise ValueError(f"input {x} is not blocked by {block} channels")
    return (block,)


class _WindowPool(OpDef):
    def infer(self, inputs, attrs):
        (x,) = inputs
        kernel = attrs["kernel_shape"]
        rank = len(kernel)
        lanes = lane_axes(x, attrs)
        if rank not in (1, 2, 3) or x.rank != rank + 2 + len(lanes):
            raise ValueError(f"a {rank}-d window over an input of rank {x.rank} (1-d to 3-d pools are supported)")
        check_window_attrs(rank, kernel, attrs["strides"], attrs["pads"], attrs["dilations"])
        pads = attrs["pads"]
        spatial = [window_output_dim(size, kernel[i], attrs["strides"][i], pads[i], pads[i + rank],
                                     attrs["dilations"][i], bool(attrs["ceil_mode"]))
                   for i, size in enumerate(static_spatial(x.shape[:2 + rank], self.name))]
        return [TensorType((*x.shape[:2], *spatial, *lanes), x.dtype)]

    @staticmethod
    def tap(value, attrs):
        """What the window reduces of each element (an LpPool's |x|^p)."""
        return value

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler import tvm_adapter as tvm_
        from convrnn.schedules.conv_compute import pad_input

        (x,) = inputs
        rank = len(attrs["kernel_shape"])
        pads, strides, dilations = attrs["pads"], attrs["strides"], attrs["dilations"]
        # Pad exactly as far as the last window reaches (past the end pad in ceil mode); a
        # symbolic axis is in floor mode (window.py), so its last window ends by the end pad.
        ends = [e if isinstance(o, str) or not hasattr(size, "value") else (o - 1) * s + d * (k - 1) + 1 - int(size) - b
                for o, s, d, k, size, b, e in zip(outputs[0].shape[2:], strides, dilations, attrs["kernel_shape"],
                                                  x.shape[2:], pads, pads[rank:])]
        ends = [max(e, 0) for e in ends]
        out_spatial = spatial_extents(outputs[0].shape[2:2 + rank], x.shape[2:2 + rank], tvm_.size_var)
        padded = pad_input(x, pads[:rank], ends, fill=self.fill(x.dtype))
        taps = [tvm_.te.reduce_axis((0, k), name=f"rk{i}") for i, k in enumerate(attrs["kernel_shape"])]

        def reduce(n, c, *rest):
            pos, lane = rest[:rank], rest[rank:]
            return self.reduce(self.tap(padded[(n, c, *[p * s + k * d for p, s, k, d in zip(pos, strides, taps,
                                                                                    dilations)], *lane)], attrs), taps)

        pool = tvm_.te.compute([x.shape[0], outputs[0].shape[1], *out_spatial, *outputs[0].shape[2 + rank:]],
                               reduce, name="pool")
        return [self.finish(pool, x, attrs)]

    def finish(self, pool, x, attrs):
        return pool


@register
class MaxPool(_WindowPool):
    name = "MaxPool"

    @staticmethod
    def fill(dtype):
        from convrnn.compiler.tvm_adapter import tirx

        return tirx.min_value(dtype)

    @staticmethod
    def reduce(value, taps):
        from convrnn.compiler.tvm_adapter import te

        return te.max(value, axis=taps)


@register
class AveragePool(_WindowPool):
    name = "AveragePool"

    @staticmethod
    def fill(dtype):
        return None

    @staticmethod
    def reduce(value, taps):
        from convrnn.compiler.tvm_adapter import te

        return te.sum(value, axis=taps)

    def finish(self, pool, x, attrs):
        from convrnn.compiler.tvm_adapter import te, tirx
        from convrnn.schedules.conv_compute import static_or_expr

        rank = len(attrs["kernel_shape"])
        pads = attrs["pads"]
        sizes = [static_or_expr(v) for v in x.shape[2:2 + rank]]
        include_pad = attrs["count_include_pad"]

        def taps_inside(axis, position):
            # Window taps start + k*d (0 <= k < K) inside [lo, hi): a closed form, per axis.
            low, high = (-pads[axis], sizes[axis] + pads[axis + rank]) if include_pad else (0, sizes[axis])
            start = position * attrs["strides"][axis] - pads[axis]
            d, k = attrs["dilations"][axis], attrs["kernel_shape"][axis]
            first = tirx.max(-tirx.floordiv(start - low, d), 0)
            last = tirx.min(-tirx.floordiv(start - high, d), k)
            return tirx.max(last - first, 1)

        def divide(n, c, *rest):
            count = taps_inside(0, rest[0])
            for axis in range(1, rank):
                count = count * taps_inside(axis, rest[axis])
            return pool[(n, c, *rest)] / count.astype(pool.dtype)

        return te.compute(pool.shape, divide, name="divide")


@register
class LpPool(_WindowPool):
    name = "LpPool"

    @staticmethod
    def fill(dtype):
        return None

    @staticmethod
    def tap(value, attrs):
        return _power_of_magnitude(value, attrs["p"])

    reduce = staticmethod(AveragePool.reduce)

    def finish(self, pool, x, attrs):
        from convrnn.compiler.tvm_adapter import te

        return te.compute(pool.shape, lambda *i: _root(pool[i], attrs["p"]), name="lp_root")


def _power_of_magnitude(value, p):
    from convrnn.compiler.tvm_adapter import tirx

    magnitude = tirx.abs(value)
    if p == int(p) and p <= 8:  # a product: TVM's pow is unreliable for exponents >= 3
        result = magnitude
        for _ in range(int(p) - 1):
            result = result * magnitude
        return result
    return tirx.power(magnitude, tirx.const(p, value.dtype))


def _root(value, p):
    from convrnn.compiler.tvm_adapter import tirx

    if p == 1:
        return value
    if p == 2:
        return tirx.sqrt(value)
    return tirx.power(value, tirx.const(1.0 / p, value.dtype))


@register
class MaxPoolWithIndices(MaxPool):
    """MaxPool and, for each output, the offset of the first maximum in row-major window
    order (onnxruntime's and the reference's choice on ties) into the whole input: row-major,
    or with storage_order 1 column-major over the spatial axes, after (n * C + c) planes."""

    name = "MaxPoolWithIndices"

    def infer(self, inputs, attrs):
        (values,) = super().infer(inputs, attrs)
        return [values, TensorType(values.shape, "int64")]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te, tirx

        (x,) = inputs
        (pool,) = super().compute(inputs, attrs, outputs[:1])
        sizes = [d.astype("int64") for d in x.shape[2:]]
        taps = [te.reduce_axis((0, k), name=f"ik{i}") for i, k in enumerate(attrs["kernel_shape"])]
        never = tirx.const(2**62, "int64")

        def first_in_plane(n, c, *pos):
            coords = [(p * s + k * d - b).astype("int64")
                      for p, s, k, d, b in zip(pos, attrs["strides"], taps, attrs["dilations"], attrs["pads"])]
            inside = [cond for coord, size in zip(coords, sizes) for cond in (coord >= 0, coord < size)]
            clamped = [tirx.max(tirx.min(coord, size - 1), tirx.const(0, "int64")) for coord, size in zip(coords, sizes)]
            offset = clamped[0]
            for coord, size in zip(clamped[1:], sizes[1:]):
                offset = offset * size + coord
            hit = tirx.all(*inside, x[(n, c, *clamped)] == pool[(n, c, *pos)])
            return te.min(tirx.Select(hit, offset, never), axis=taps)

        first = te.compute(pool.shape, first_in_plane, name="first")

        def index(n, c, *pos):
            row_major = first[(n, c, *pos)]
            coords, rest = [], row_major
            for size in reversed(sizes):
                coords.insert(0, tirx.floormod(rest, size))
                rest = tirx.floordiv(rest, size)
            if attrs["storage_order"]:
                offset = coords[-1]
                for coord, size in zip(reversed(coords[:-1]), reversed(sizes[:-1])):
                    offset = offset * size + coord
            else:
                offset = row_major
            plane = n.astype("int64") * x.shape[1].astype("int64") + c.astype("int64")
            for size in sizes:
                plane = plane * size
            return plane + offset

        return [pool, te.compute(pool.shape, index, name="indices")]


class _GlobalPool(OpDef):
    def infer(self, inputs, attrs):
        (x,) = inputs
        lanes = lane_axes(x, attrs)
        if x.rank < 3 + len(lanes):
            raise ValueError(f"input of rank {x.rank}: {self.name} needs [N, C, spatial...]")
        return [TensorType((*x.shape[:2], *[1] * (x.rank - 2 - len(lanes)), *lanes), x.dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te

        (x,) = inputs
        lanes = x.shape[-1:] if attrs.get("block", 0) else ()
        axes = [te.reduce_axis((0, d), name=f"r{i}") for i, d in enumerate(x.shape[2:x.ndim - len(lanes)])]
        reduced = te.compute((*x.shape[:2], *[1] * len(axes), *lanes),
                             lambda n, c, *rest: self.reduce(x[(n, c, *axes, *rest[len(axes):])], axes), name="pool")
        return [self.finish(reduced, x, len(axes))]

    def finish(self, reduced, x, rank):
        return reduced


@register
class GlobalMaxPool(_GlobalPool):
    name = "GlobalMaxPool"
    reduce = staticmethod(MaxPool.reduce)


@register
class GlobalAveragePool(_GlobalPool):
    name = "GlobalAveragePool"
    reduce = staticmethod(AveragePool.reduce)

    def finish(self, reduced, x, rank):
        from convrnn.compiler.tvm_adapter import te

        count = functools.reduce(operator.mul, x.shape[2:2 + rank])
        return te.compute(reduced.shape, lambda *i: reduced[i] / count.astype(x.dtype), name="divide")


@register
class GlobalLpPool(_GlobalPool):
    name = "GlobalLpPool"

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te

        (x,) = inputs
        p = attrs["p"]
        axes = [te.reduce_axis((0, d), name=f"r{i}") for i, d in enumerate(x.shape[2:])]
        total = te.compute((*x.shape[:2], *[1] * len(axes)),
                           lambda n, c, *rest: te.sum(_power_of_magnitude(x[(n, c, *axes)], p), axis=axes), name="pool")
        return [te.compute(total.shape, lambda *i: _root(total[i], p), name="lp_root")]
