"""MatMulInteger: int32 Y = (A - a_zero_point) @ (B - b_zero_point), numpy matmul semantics,
products accumulated in int32 (exact, as onnxruntime's integer GEMM).

Inputs A, B (uint8 or int8), a_zero_point, b_zero_point (None: 0; else of A's or B's dtype
and broadcasting to A's or B's shape: the frontend reshapes a per-row vector to [M, 1]).
"""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.ops._broadcast import broadcast_index
from convrnn.schedules.registry import OpDef, register
from convrnn.schedules.shapes import broadcast_shapes

INTEGER_OPERANDS = ("uint8", "int8")


def shifted(tensor, zero_point, name: str):
    """int32(tensor) - int32(zero_point) (broadcast), the operand of an integer product."""
    from convrnn.compiler.tvm_adapter import te

    def element(*index):
        value = tensor[index].astype("int32")
        if zero_point is None:
            return value
        return value - broadcast_index(zero_point, index).astype("int32")

    return te.compute(tensor.shape, element, name=name)


@register
class MatMulInteger(OpDef):
    name = "MatMulInteger"

    def infer(self, inputs, attrs):
        a, b, a_zero, b_zero = (list(inputs) + [None, None])[:4]
        for operand, zero, what in ((a, a_zero, "A"), (b, b_zero, "B")):
            if operand.dtype not in INTEGER_OPERANDS:
                raise ValueError(f"{what} must be uint8 or int8, got {operand.dtype}")
            if zero is not None:
                if zero.dtype != operand.dtype:
                    raise ValueError(f"{what}'s zero point is {zero.dtype}, {what} is {operand.dtype}")
                if broadcast_shapes(zero.shape, operand.shape) != operand.shape:
                    raise ValueError(f"{what}'s zero point {zero.shape} does not broadcast to {operand.shape}")
        if a.rank == 0 or b.rank == 0:
            raise ValueError("MatMulInteger operands must have rank >= 1")
        k_a, k_b = a.shape[-1], b.shape[0] if b.rank == 1 else b.shape[-2]
        if k_a != k_b:
            raise ValueError(f"inner dims {k_a} and {k_b} differ")
        batch = broadcast_shapes(a.shape[:-2], b.shape[:-2])
        return [TensorType((*batch, *a.shape[-2:-1], *(b.shape[-1:] if b.rank > 1 else ())), "int32")]

    def compute(self, inputs, attrs, outputs):
        from convrnn.schedules.dense_compute import dense_compute
        from convrnn.schedules.ops._broadcast import te_shape

        a, b, a_zero, b_zero = (list(inputs) + [None, None])[:4]
        present = [t for t in inputs if t is not None]
        product = dense_compute(shifted(a, a_zero, "shift_a"), shifted(b, b_zero, "shift_b"),
                                te_shape(outputs[0].shape, present))
        return [product]
