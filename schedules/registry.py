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
    compute:  TE tensors for the inputs -> TE tensors for the outputs (TVM imported lazily)
    schedule: a schedule template for one target; the default is the generic one
    primfunc: a kernel written directly in TIR, where TE cannot express the op (a time loop);
              when it returns one, compute and schedule are not used
    knob_space: the values of each knob the schedule template takes (in a node's "knobs"
              attr) that a tuner may try for these types on this target; None: nothing to tune
    """

    name: str = ""
    # The output is a new view of the first input's memory (reshape): no kernel runs.
    is_view: bool = False

    def infer(self, inputs: Sequence[Optional[TensorType]], attrs: dict[str, Any]) -> list[TensorType]:
        raise NotImplementedError

    def compute(self, inputs: Sequence[Any], attrs: dict[str, Any], outputs: Sequence[TensorType]) -> list[Any]:
        raise NotImplementedError(f"{self.name} has no compute")

    def primfunc(self, inputs: Sequence[TensorType], attrs: dict[str, Any], outputs: Sequence[TensorType],
                 target: Any) -> Optional[Any]:
        """A complete PrimFunc taking the present inputs, then the outputs; its symbolic dims
        are bound from the buffer shapes. None: build the kernel from compute and schedule."""
        return None

    def schedule(self, sch: Any, target: Any, attrs: dict[str, Any]) -> None:
        from convrnn.schedules.generic import schedule_generic

        schedule_generic(sch, target)

    def knob_space(self, inputs: Sequence[TensorType], attrs: dict[str, Any], outputs: Sequence[TensorType],
                   target: Any) -> Optional[dict[str, list]]:
        return None


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
