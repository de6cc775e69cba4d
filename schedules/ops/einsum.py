"""Einsum over explicit index tokens: attr "terms" (one list of tokens per operand, a token per
axis; a repeated token takes a diagonal) and attr "output" (the output's tokens). Tokens
missing from the output are summed over. Ellipsis axes arrive as tokens of their own (the
converter expands them); only those broadcast a size-1 axis against a longer one."""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.compiler.symbolic_dims import equate
from convrnn.schedules.registry import OpDef, register

ELLIPSIS_PREFIX = "."  # an ellipsis axis's token: ".0", ".1", ... (letters are single characters)


def token_dims(terms, shapes) -> dict:
    """Each token's size over all operands (ValueError where they disagree)."""
    dims: dict = {}
    for term, shape in zip(terms, shapes):
        if len(term) != len(shape):
            raise ValueError(f"term {''.join(term)!r} has {len(term)} axes for an operand of rank {len(shape)}")
        for token, dim in zip(term, shape):
            known = dims.get(token)
            if known is None or (token.startswith(ELLIPSIS_PREFIX) and known == 1):
                dims[token] = dim
            elif not (token.startswith(ELLIPSIS_PREFIX) and dim == 1):
                dims[token] = equate(known, dim, f"sizes of index {token!r}")
    return dims


@register
class Einsum(OpDef):
    name = "Einsum"

    def infer(self, inputs, attrs):
        terms, output = attrs["terms"], attrs["output"]
        if len(terms) != len(inputs):
            raise ValueError(f"{len(terms)} terms for {len(inputs)} operands")
        if len({t.dtype for t in inputs}) != 1:
            raise ValueError(f"operands have different dtypes {sorted({t.dtype for t in inputs})}")
        dims = token_dims(terms, [t.shape for t in inputs])
        if len(set(output)) != len(output) or any(t not in dims for t in output):
            raise ValueError(f"output indices {output} must be distinct indices of the operands")
        return [TensorType(tuple(dims[t] for t in output), inputs[0].dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te

        terms, output = attrs["terms"], attrs["output"]
        sizes: dict = {}
        for term, tensor in zip(terms, inputs):
            for token, dim in zip(term, tensor.shape):
                if token not in sizes or _is_one(sizes[token]):
                    sizes[token] = dim
        summed = [t for term in terms for t in term if t not in output]
        summed = list(dict.fromkeys(summed))
        shape = [sizes[t] for t in output]

        def element(*i):
            at = dict(zip(output, i))
            axes = [te.reduce_axis((0, sizes[t]), name=f"r{n}") for n, t in enumerate(summed)]
            at.update(zip(summed, axes))
            product = None
            for term, tensor in zip(terms, inputs):
                read = tensor[tuple(0 if _is_one(d) and not _is_one(sizes[t]) else at[t]
                                    for t, d in zip(term, tensor.shape))]
                product = read if product is None else product * read
            return te.sum(product, axis=axes) if axes else product

        return [te.compute(shape, element, name="einsum")]


def _is_one(dim) -> bool:
    return hasattr(dim, "value") and int(dim.value) == 1
