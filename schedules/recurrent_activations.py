"""The activation functions ONNX recurrences accept, as TIR expressions.

`DEFAULTS` (pure Python, read by the frontend) gives each function's canonical name and
the alpha/beta it takes by default (None: it takes none); `expr` builds the TIR form.
Sigmoid, Tanh and the exp inside Elu/Softplus use the vectorizable float32 polynomials of
_fastmath (a few ulps from libm), since a scalar libm call per gate lane would dominate the step.
"""
from __future__ import annotations

from typing import Any, Optional

# canonical name -> (default alpha, default beta); None where the function takes no such value.
DEFAULTS: dict[str, tuple[Optional[float], Optional[float]]] = {
    "Sigmoid": (None, None),
    "Tanh": (None, None),
    "Relu": (None, None),
    "HardSigmoid": (0.2, 0.5),
    "Affine": (1.0, 0.0),
    "LeakyRelu": (0.01, None),
    "ThresholdedRelu": (1.0, None),
    "ScaledTanh": (1.0, 1.0),
    "Elu": (1.0, None),
    "Softsign": (None, None),
    "Softplus": (None, None),
}

_BY_LOWER = {name.lower(): name for name in DEFAULTS}


def canonical_name(name: str) -> Optional[str]:
    """The canonical spelling of an activation name (ONNX compares them case-insensitively)."""
    return _BY_LOWER.get(name.lower())


def expr(v: Any, name: str, alpha: float, beta: float) -> Any:
    """The activation of a float32 TIR expression."""
    from convrnn.compiler.tvm_adapter import tirx
    from convrnn.schedules.ops import _fastmath as fast

    def c(x):
        return tirx.const(x, "float32")

    zero, one = c(0.0), c(1.0)
    if name == "Sigmoid":
        return fast.sigmoid(v, "float32", tirx)
    if name == "Tanh":
        return fast.tanh(v, "float32", tirx)
    if name == "Relu":
        return tirx.max(v, zero)
    if name == "HardSigmoid":
        return tirx.min(tirx.max(v * c(alpha) + c(beta), zero), one)
    if name == "Affine":
        return v * c(alpha) + c(beta)
    if name == "LeakyRelu":
        return tirx.Select(v >= zero, v, v * c(alpha))
    if name == "ThresholdedRelu":
        return tirx.Select(v > c(alpha), v, zero)
    if name == "ScaledTanh":
        return c(alpha) * fast.tanh(v * c(beta), "float32", tirx)
    if name == "Elu":
        return tirx.Select(v >= zero, v, c(alpha) * (fast.exp(v, "float32", tirx) - one))
    if name == "Softsign":
        return v / (one + tirx.abs(v))
    if name == "Softplus":
        # log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|).
        return tirx.max(v, zero) + tirx.log1p(fast.exp(-tirx.abs(v), "float32", tirx))
    raise ValueError(f"unknown activation {name!r}")
