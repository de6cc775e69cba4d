"""Elementwise epilogues fused into an anchor kernel (a conv's activation and residual add).

An epilogue is a list of steps applied, in order, to the anchor's output before it is stored:
  {"op": "Relu"}, {"op": "Clip", "attrs": {"min": 0.0, "max": 6.0}}, ... : a unary op of
      schedules/ops/unary.py that keeps the dtype;
  {"op": "Add", "input": k}: add the anchor's k-th extra input, of the output's shape or (after
      a MatMul or Gemm) one broadcasting to it by numpy's rules.
Each step is its own TE stage, reading the previous one (so every step sees a typed tensor
element); the anchor's schedule inlines all but the last, which is its write-back.
"""
from __future__ import annotations

from typing import Any, Sequence

# Unary ops an epilogue may apply: elementwise, dtype-preserving, cheap enough to recompute.
FUSABLE_UNARY = ("Relu", "LeakyRelu", "Clip", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Elu")
FUSABLE_BINARY = ("Add",)
STAGE_PREFIX = "epilogue"


def broadcasts_to(operand: Any, output: Any) -> bool:
    """Whether TensorType `operand` broadcasts to `output`'s shape, with its dtype."""
    from convrnn.schedules.shapes import broadcast_shapes

    if operand.dtype != output.dtype or operand.rank > output.rank:
        return False
    try:
        return tuple(broadcast_shapes(operand.shape, output.shape)) == tuple(output.shape)
    except ValueError:
        return False


def check_epilogue(steps: Sequence[dict[str, Any]], extras: Sequence[Any], output: Any,
                   broadcast: bool = False) -> None:
    """Type-check a node's epilogue (extras: TensorTypes of the extra inputs; `broadcast`: they
    may broadcast to the output instead of matching it)."""
    for step in steps:
        if step["op"] in FUSABLE_BINARY:
            extra = extras[step["input"]]
            matches = tuple(extra.shape) == tuple(output.shape) and extra.dtype == output.dtype
            if not (matches or broadcast and broadcasts_to(extra, output)):
                raise ValueError(f"epilogue {step['op']} operand {extra} does not match the output {output}")
        elif step["op"] not in FUSABLE_UNARY:
            raise ValueError(f"{step['op']} cannot be fused into an epilogue")


def apply_epilogue(tensor: Any, steps: Sequence[dict[str, Any]], extras: Sequence[Any]) -> Any:
    """The TE stages of the epilogue over `tensor`; returns the last (or `tensor` itself)."""
    from convrnn.compiler.tvm_adapter import te, tirx
    from convrnn.schedules.ops._broadcast import broadcast_index
    from convrnn.schedules.registry import get_op

    for index, step in enumerate(steps):
        previous = tensor
        if step["op"] in FUSABLE_BINARY:
            extra = extras[step["input"]]
            body = (lambda prev, ext: lambda *i: prev[i] + broadcast_index(ext, i))(previous, extra)
        else:
            unary = get_op(step["op"])
            attrs = step.get("attrs", {})
            body = (lambda prev, fn, a: lambda *i: fn(prev[i], a, tirx))(previous, unary.expr, attrs)
        tensor = te.compute(previous.shape, body, name=f"{STAGE_PREFIX}{index}")
    return tensor


def inline_epilogue(sch: Any, stages: dict[str, Any], first: str) -> Any:
    """Inline the anchor's write-back stages (`first`, e.g. its bias, then the epilogue's)
    into the last one and return that last block, or None when there are none."""
    names = ([first] if first in stages else []) + sorted(
        (n for n in stages if n.startswith(STAGE_PREFIX)), key=lambda n: int(n[len(STAGE_PREFIX):]))
    for name in names[:-1]:
        sch.compute_inline(stages[name])
    return stages[names[-1]] if names else None
