"""The TE compute of matrix products (MatMul, Gemm, MatMulInteger), the same for every target:
one reduction stage "dense" over K (the CPU's template: schedules/cpu/dense.py)."""
from __future__ import annotations

from typing import Any


def dense_compute(a: Any, b: Any, out_shape: list, a_transposed: bool = False, b_transposed: bool = False,
                  rows: Any = None) -> Any:
    """out[batch..., m, n] = sum_k A[batch..., m, k] * B[batch..., k, n] with numpy broadcasting
    of batch dims; a 1-d A has no m axis and a 1-d B no n axis (in `out_shape` too). With
    `rows` (A's row count, below out_shape's padded one) rows past it repeat A's last row."""
    from convrnn.compiler.tvm_adapter import te, tirx

    a_rank, b_rank = len(a.shape), len(b.shape)
    k_extent = a.shape[-2 if a_transposed and a_rank > 1 else -1]
    k = te.reduce_axis((0, k_extent), name="k")
    batch_rank = len(out_shape) - (a_rank > 1) - (b_rank > 1)

    def operand(tensor, batch, inner):
        # Batch dims align to the right; a dim of 1 broadcasts (its index is always 0).
        own_rank = len(tensor.shape) - len(inner)
        own = [0 if is_one(dim) else i for i, dim in zip(batch[batch_rank - own_rank:], tensor.shape[:own_rank])]
        return tensor[(*own, *inner)]

    def body(*index):
        batch, rest = list(index[:batch_rank]), list(index[batch_rank:])
        m = rest.pop(0) if a_rank > 1 else None
        n = rest.pop(0) if b_rank > 1 else None
        if rows is not None:
            m = tirx.min(m, rows - 1)
        a_inner = [k] if a_rank == 1 else ([k, m] if a_transposed else [m, k])
        b_inner = [k] if b_rank == 1 else ([n, k] if b_transposed else [k, n])
        return te.sum(operand(a, batch, a_inner) * operand(b, batch, b_inner), axis=k)

    return te.compute(out_shape, body, name="dense")


def is_one(dim: Any) -> bool:
    return isinstance(dim, int) and dim == 1 or getattr(dim, "value", None) == 1
