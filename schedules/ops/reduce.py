"""The ONNX reductions over a list of axes (attrs "axes", non-negative, non-empty; "keepdims"):
ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2, ReduceLogSum,
ReduceLogSumExp, ReduceSumSquare."""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.registry import OpDef, register


class _Reduce(OpDef):
    def infer(self, inputs, attrs):
        (x,) = inputs
        axes = set(attrs["axes"])
        if not axes or not all(0 <= a < x.rank for a in axes):
            raise ValueError(f"axes {attrs['axes']} are out of range for rank {x.rank}")
        keep = attrs["keepdims"]
        shape = [1 if a in axes else d for a, d in enumerate(x.shape) if keep or a not in axes]
        return [TensorType(tuple(shape), x.dtype)]

    def compute(self, inputs, attrs, outputs):
        (x,) = inputs
        return [self.reduce(x, sorted(attrs["axes"]), bool(attrs["keepdims"]), outputs[0].dtype)]


def _map(x, f, name):
    from convrnn.compiler.tvm_adapter import te

    return te.compute(x.shape, lambda *i: f(x[i]), name=name)


def _sum(x, axes, keep, dtype):
    from convrnn.compiler.tvm_adapter import topi

    return topi.sum(x, axis=axes, keepdims=keep)


def _in_float(reduce_fn, finish, x, axes, keep, dtype):
    """finish(reduce_fn(...)) computed in floating point (float32 for integer inputs), cast back."""
    from convrnn.compiler.tvm_adapter import te

    work = x if dtype.startswith("float") else _map(x, lambda v: v.astype("float32"), "to_float")
    total = reduce_fn(work, axes, keep, work.dtype)
    return te.compute(total.shape, lambda *i: finish(total[i]).astype(dtype), name="finish")


@register
class ReduceSum(_Reduce):
    name = "ReduceSum"
    reduce = staticmethod(_sum)


@register
class ReduceMean(_Reduce):
    name = "ReduceMean"

    @staticmethod
    def reduce(x, axes, keep, dtype):
        from convrnn.compiler.tvm_adapter import te

        total = _sum(x, axes, keep, dtype)
        count = 1
        for a in axes:
            count = count * x.shape[a]
        return te.compute(total.shape, lambda *i: total[i] / count.astype(x.dtype), name="mean")


@register
class ReduceMax(_Reduce):
    name = "ReduceMax"

    @staticmethod
    def reduce(x, axes, keep, dtype):
        from convrnn.compiler.tvm_adapter import topi

        # The max of bools is their "any" (TVM has no max_value for bool).
        return (topi.any if dtype == "bool" else topi.max)(x, axis=axes, keepdims=keep)


@register
class ReduceMin(_Reduce):
    name = "ReduceMin"

    @staticmethod
    def reduce(x, axes, keep, dtype):
        from convrnn.compiler.tvm_adapter import topi

        return (topi.all if dtype == "bool" else topi.min)(x, axis=axes, keepdims=keep)


@register
class ReduceProd(_Reduce):
    name = "ReduceProd"

    @staticmethod
    def reduce(x, axes, keep, dtype):
        from convrnn.compiler.tvm_adapter import topi

        return topi.prod(x, axis=axes, keepdims=keep)


@register
class ReduceL1(_Reduce):
    name = "ReduceL1"

    @staticmethod
    def reduce(x, axes, keep, dtype):
        from convrnn.compiler.tvm_adapter import tirx

        return _sum(_map(x, tirx.abs, "abs"), axes, keep, dtype)


@register
class ReduceSumSquare(_Reduce):
    name = "ReduceSumSquare"

    @staticmethod
    def reduce(x, axes, keep, dtype):
        return _sum(_map(x, lambda v: v * v, "square"), axes, keep, dtype)


@register
class ReduceL2(_Reduce):
    name = "ReduceL2"

    @staticmethod
    def reduce(x, axes, keep, dtype):
        from convrnn.compiler.tvm_adapter import tirx

        return _in_float(ReduceSumSquare.reduce, tirx.sqrt, x, axes, keep, dtype)


@register
class ReduceLogSum(_Reduce):
    name = "ReduceLogSum"

    @staticmethod
    def reduce(x, axes, keep, dtype):
        from convrnn.compiler.tvm_adapter import tirx

        return _in_float(_sum, tirx.log, x, axes, keep, dtype)


@register
class ReduceLogSumExp(_Reduce):
    name = "ReduceLogSumExp"

    @staticmethod
    def reduce(x, axes, keep, dtype):
        # max + log(sum(exp(x - max))): exp cannot overflow. A row whose max is infinite gives
        # that max (log of sum of exp(nan) would be nan).
        from convrnn.compiler.tvm_adapter import te, tirx, topi

        work = x if dtype.startswith("float") else _map(x, lambda v: v.astype("float32"), "to_float")
        peak = topi.max(work, axis=axes, keepdims=True)
        shifted = te.compute(work.shape, lambda *i: tirx.exp(work[i] - peak[tuple(0 if a in axes else k
                                                                                  for a, k in enumerate(i))]),
                             name="shifted_exp")
        total = topi.sum(shifted, axis=axes, keepdims=True)

        def finish(*i):
            full = list(i) if keep else _expand(i, axes, work.ndim)
            m = peak[tuple(full)]
            finite = tirx.isfinite(m)
            value = tirx.Select(finite, m + tirx.log(total[tuple(full)]), m)
            return value.astype(dtype)

        shape = [1 if a in axes else d for a, d in enumerate(work.shape) if keep or a not in axes]
        return te.compute(shape, finish, name="logsumexp")


def _expand(index, axes, rank):
    """The keepdims index (0 on each reduced axis) of an index without the reduced axes."""
    it = iter(index)
    return [0 if a in axes else next(it) for a in range(rank)]
