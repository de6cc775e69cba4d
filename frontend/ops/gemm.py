"""Gemm -> IR Gemm.

Opsets 7-21 share the semantics (C broadcasts unidirectionally; from 11 C is optional);
before 7 a `broadcast` attribute existed, unsupported here. A constant B used transposed is
transposed here once, so the kernel reads B's rows as contiguous vectors.
"""
import numpy as np

from convrnn.frontend.registry import converter


@converter("Gemm", since=1)
def convert_gemm(ctx):
    if ctx.opset < 7 and ctx.attr("broadcast", 0):
        raise ctx.unsupported("legacy broadcast attribute (opset < 7)")
    a, b, c = ctx.required_input(0), ctx.required_input(1), ctx.input(2)
    attrs = {"alpha": float(ctx.attr("alpha", 1.0)), "beta": float(ctx.attr("beta", 1.0)),
             "trans_a": int(ctx.attr("transA", 0)), "trans_b": int(ctx.attr("transB", 0))}
    weight = ctx.builder.constant_of(b)
    if attrs["trans_b"] and weight is not None and weight.ndim == 2:
        b = ctx.make_constant(np.ascontiguousarray(weight.T), "transposed_b")
        attrs["trans_b"] = 0
    return ctx.emit("Gemm", [a, b, c], attrs)
