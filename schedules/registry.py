"""The IR operator registry: one OpDef per IR op, discovered from the modules in schedules/ops/.

An op module registers its OpDef subclasses with ``@register``; nothing keeps a hand-written
list. Importing the registry imports no TVM: type inference must work without it.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

from convrnn.compiler.discovery import import_all
from convrnn.compiler.ir import TensorType

_OPS: dict[str, "OpDef"] = {}


class OpDef:
    """One IR operator.

    infer:    input types + attrs -> output types (pure Python, raises ValueError on bad input)
    compute:  TE tensors for the inputs -> TE tensors for the outputs (TVM imported lazily),
              the same for every target
    How a target makes the op's kernel (a schedule of the compute, or a kernel written in
    TIR) is that target's implementation (schedules/implementations.py).
    """

    name: str = ""
    # The output is a new view of the first input's memory (reshape): no kernel runs.
    is_view: bool = False

    def infer(self, inputs: Sequence[Optional[TensorType]], attrs: dict[str, Any]) -> list[TensorType]:
        raise NotImplementedError

    def compute(self, inputs: Sequence[Any], attrs: dict[str, Any], outputs: Sequence[TensorType]) -> list[Any]:
        raise NotImplementedError(f"{self.name} has no compute")


def register(cls: type[OpDef]) -> type[OpDef]:
    if not cls.name:
        raise TypeError(f"{cls.__name__} has no op name")
    if cls.name in _OPS and type(_OPS[cls.name]) is not cls:
        raise TypeError(f"IR op {cls.name} registered twice ({type(_OPS[cls.name]).__name__}, {cls.__name__})")
    _OPS[cls.name] = cls()
    return cls


def _discover() -> None:
    import_all("convrnn.schedules.ops")


def get_op(name: str) -> OpDef:
    _discover()
    try:
        return _OPS[name]
    except KeyError:
        raise KeyError(f"no IR op {name!r}") from None


def all_ops() -> dict[str, OpDef]:
    _discover()
    return dict(_OPS)
