"""The work of one kernel call, counted from its node and its arguments' concrete shapes: the
multiply-adds of the compute-bound ops (convolutions, matrix products, recurrences), the
bytes read and written of every op. Used by `convrnn profile` (compiler/profile.py).

Counts are the useful work of the op's definition, not what a kernel happens to execute:
a Winograd conv counts as the direct conv it computes, a transposed conv as its scattered
products (not the zeros its stride-1 form multiplies), a recurrence as every step of its
seq x batch (sequence_lens are run-time values: shorter rows are not discounted).
"""
from __future__ import annotations

from math import prod
from typing import Optional, Sequence

import numpy as np

from convrnn.compiler.ir import Node
from convrnn.schedules.ops.recurrent import GATES

Shape = Sequence[int]
WINOGRAD_WINDOW = 9  # a Winograd conv is 3x3


def multiply_adds(node: Node, inputs: Sequence[Optional[Shape]], outputs: Sequence[Shape]) -> Optional[int]:
    """The multiply-adds of a compute-bound op; None for the others. `inputs` line up with
    node.inputs (None where an optional input is absent)."""
    op, attrs, y = node.op, node.attrs, outputs[0]
    if op in ("Conv", "ConvInteger"):  # W [O, C/g, *K], or packed [O/b, C/g, *K, b]
        w = inputs[1]
        return prod(y) * prod(w) // (w[0] * (attrs.get("weight_block") or 1))
    if op == "ConvBlocked":  # W [O/c, ..., c]: prod(W) / O products per output element
        w = inputs[1]
        return prod(y) * prod(w) // (w[0] * w[-1])
    if op == "WinogradConv":  # U [alpha, alpha, K/L, C, L]
        return prod(y) * inputs[1][3] * WINOGRAD_WINDOW
    if op == "ConvTranspose":  # each input element meets O/g x K weights: prod(W) / C of them
        x, w = inputs[0], inputs[1]
        return prod(x) * prod(w) // x[1]
    if op in ("MatMul", "MatMulInteger", "MatMulIntegerPacked"):
        return prod(y) * inputs[0][-1]
    if op == "Gemm":
        a = inputs[0]
        return prod(y) * (a[0] if attrs["trans_a"] else a[1])
    if op == "RecurrentProjection":
        return prod(y) * inputs[0][2]
    if op in GATES:  # each step, each row: h_prev [H] times every gate's R [H, H], per direction
        seq, batch = inputs[0][:2]  # (batch, seq in layout 1: the product is the same)
        hidden = attrs["hidden_size"]
        return seq * batch * attrs["num_directions"] * GATES[op] * hidden * hidden
    return None


def bytes_moved(arguments: Sequence[tuple[Shape, str]]) -> int:
    """Bytes of every (shape, dtype) argument, each read or written once."""
    return sum(prod(shape) * np.dtype(dtype).itemsize for shape, dtype in arguments)
