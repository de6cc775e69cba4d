"""MatMul (numpy semantics: 1-d operands, broadcast batch dims) and Gemm.

Gemm attrs: alpha, beta, trans_a, trans_b. Inputs A, B (2-d), optional C broadcasting to
[M, N]: Y = alpha * op(A) @ op(B) + beta * C.
Both may carry a fused epilogue (attr epilogue, schedules/epilogue.py; set by the
fuse_epilogue pass) whose extra inputs follow their own (MatMul's 2, Gemm's 3, C None if absent).
"""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.compiler.symbolic_dims import equate
from convrnn.schedules.epilogue import apply_epilogue, check_epilogue
from convrnn.schedules.registry import OpDef, register
from convrnn.schedules.shapes import broadcast_shapes


def _check_dtypes(*types):
    dtypes = {t.dtype for t in types if t is not None}
    if len(dtypes) != 1:
        raise ValueError(f"operands have different dtypes {sorted(dtypes)}")


def _check_inner(k_a, k_b):
    equate(k_a, k_b, "inner dims")


@register
class MatMul(OpDef):
    name = "MatMul"

    def infer(self, inputs, attrs):
        a, b = inputs[:2]
        _check_dtypes(a, b)
        if a.rank == 0 or b.rank == 0:
            raise ValueError("MatMul operands must have rank >= 1")
        _check_inner(a.shape[-1], b.shape[0] if b.rank == 1 else b.shape[-2])
        batch = broadcast_shapes(a.shape[:-2], b.shape[:-2])
        rows = a.shape[-2:-1]
        columns = b.shape[-1:] if b.rank > 1 else ()
        if "columns" in attrs:  # B's columns padded to whole vectors (pass pad_dense_columns)
            if b.rank < 2 or not 0 < attrs["columns"] <= b.shape[-1]:
                raise ValueError(f"{attrs['columns']} columns of B {b}")
            columns = (attrs["columns"],)
        output = TensorType((*batch, *rows, *columns), a.dtype)
        check_epilogue(attrs.get("epilogue", ()), list(inputs[2:]), output, broadcast=True)
        return [output]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te
        from convrnn.schedules.cpu.dense import SYMBOLIC_ROW_TILE
        from convrnn.schedules.dense_compute import dense_compute

        a, b = inputs[:2]
        shape = _te_shape(outputs[0], inputs)
        symbolic_rows = len(a.shape) > 1 and len(b.shape) > 1 and isinstance(outputs[0].shape[-2], str)
        if "columns" not in attrs and not symbolic_rows:
            return [apply_epilogue(dense_compute(a, b, shape), attrs.get("epilogue", ()), inputs[2:])]
        # The product in whole tiles (B's padded columns; symbolic rows padded to whole row
        # tiles, schedules/cpu/dense.py), then the real part ("crop") with the epilogue.
        padded = list(shape)
        padded[-1] = b.shape[-1]
        rows = None
        if symbolic_rows:
            rows, tile = shape[-2], SYMBOLIC_ROW_TILE
            padded[-2] = (rows + tile - 1) // tile * tile
        product = dense_compute(a, b, padded, rows=rows)
        crop = te.compute(shape, lambda *i: product[i], name="crop")
        return [apply_epilogue(crop, attrs.get("epilogue", ()), inputs[2:])]


@register
class Gemm(OpDef):
    name = "Gemm"

    def infer(self, inputs, attrs):
        a, b, c = (list(inputs) + [None])[:3]
        _check_dtypes(a, b, c)
        if a.rank != 2 or b.rank != 2:
            raise ValueError(f"Gemm operands must be 2-d, got {a.shape} and {b.shape}")
        (m, k_a), (k_b, n) = a.shape[::-1] if attrs["trans_a"] else a.shape, \
            b.shape[::-1] if attrs["trans_b"] else b.shape
        _check_inner(k_a, k_b)
        if c is not None and broadcast_shapes(c.shape, (m, n)) != (m, n):
            raise ValueError(f"C of shape {c.shape} does not broadcast to {(m, n)}")
        output = TensorType((m, n), a.dtype)
        check_epilogue(attrs.get("epilogue", ()), list(inputs[3:]), output, broadcast=True)
        return [output]

    def compute(self, inputs, attrs, outputs):
        from convrnn.schedules.dense_compute import dense_compute

        a, b, c = (list(inputs) + [None])[:3]
        product = dense_compute(a, b, _te_shape(outputs[0], inputs), bool(attrs["trans_a"]), bool(attrs["trans_b"]))
        return [apply_epilogue(self._scale(product, c, attrs), attrs.get("epilogue", ()), inputs[3:])]

    @staticmethod
    def _scale(product, c, attrs):
        """alpha * product + beta * C (the "scale" stage), or the product itself."""
        from convrnn.compiler.tvm_adapter import te, tirx
        from convrnn.schedules.ops._broadcast import broadcast_index

        alpha, beta = attrs["alpha"], attrs["beta"]
        if alpha == 1.0 and (c is None or beta == 0.0):
            return product

        def scale(m, n):
            value = product[m, n] if alpha == 1.0 else product[m, n] * tirx.const(alpha, product.dtype)
            if c is None or beta == 0.0:
                return value
            term = broadcast_index(c, (m, n))
            return value + (term if beta == 1.0 else term * tirx.const(beta, c.dtype))

        return te.compute(product.shape, scale, name="scale")


def _te_shape(output: TensorType, inputs) -> list:
    """The output shape with symbolic dims taken from the inputs' TE shapes (same names)."""
    by_name = {}
    for tensor in inputs:
        if tensor is not None:
            for dim in tensor.shape:
                name = getattr(dim, "name", None)
                if name is not None:
                    by_name[name] = dim
    return [by_name[d] if isinstance(d, str) else d for d in output.shape]
