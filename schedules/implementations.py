"""Per-target implementation tables: how each IR op's kernel is made for one target kind.

An op's semantics (type inference, its TE compute) live once, in schedules/ops/. Each target
kind has its own table of implementations, filled by the modules of its package (the CPU's
in schedules/cpu/) with ``@implements``, and looked up by (op, target kind) at lowering. An
op that a kind's table does not name gets that kind's generic implementation (registered
under GENERIC), where the kind has one. Importing this module imports no TVM.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

from convrnn.compiler.discovery import import_all
from convrnn.compiler.ir import TensorType

# The package whose modules fill each target kind's table.
PACKAGES = {"llvm": "convrnn.schedules.cpu", "cuda": "convrnn.schedules.cuda"}
GENERIC = "*"  # the table entry for every op the table does not name

_TABLES: dict[str, dict[str, "Implementation"]] = {}


class Implementation:
    """How one op's kernel is made for one target kind.

    primfunc:   a complete PrimFunc written directly in TIR (taking the present inputs, then
                the outputs), where the op's TE compute cannot give the kernel (a time loop);
                None: the kernel is the op's compute, scheduled by `schedule`
    schedule:   a schedule template applied to the op's compute (`apply` gives it the schedule)
    knob_space: the values of each knob the template takes (in a node's "knobs" attr) that
                a tuner may try for these types on this target; None: nothing to tune
    One instance per op it is registered for: `op` names that op.
    """

    def __init__(self, op: str = GENERIC):
        self.op = op

    def primfunc(self, inputs: Sequence[TensorType], attrs: dict[str, Any], outputs: Sequence[TensorType],
                 target: Any) -> Optional[Any]:
        return None

    def schedule(self, sch: Any, target: Any, attrs: dict[str, Any]) -> None:
        raise NotImplementedError(f"{type(self).__name__} has no schedule")

    def apply(self, func: Any, target: Any, attrs: dict[str, Any]) -> Any:
        """The op's compute (a PrimFunc) scheduled for `target`."""
        from convrnn.compiler import tvm_adapter as tvm_

        sch = tvm_.new_schedule(func)
        self.schedule(sch, target, attrs)
        return sch.mod["main"]

    def knob_space(self, inputs: Sequence[TensorType], attrs: dict[str, Any], outputs: Sequence[TensorType],
                   target: Any) -> Optional[dict[str, list]]:
        return None


def implements(kind: str, *ops: str) -> Callable[[type], type]:
    """Register the decorated Implementation subclass for these ops (or GENERIC) on `kind`."""
    if kind not in PACKAGES:
        raise TypeError(f"no implementation package for target kind {kind!r}")

    def register(cls: type) -> type:
        table = _TABLES.setdefault(kind, {})
        for op in ops:
            if op in table and type(table[op]) is not cls:
                raise TypeError(f"{op} on {kind} implemented twice ({type(table[op]).__name__}, {cls.__name__})")
            table[op] = cls(op)
        return cls

    return register


def table(kind: str) -> dict[str, Implementation]:
    """Every implementation of a target kind, by op (GENERIC included); empty for a kind
    with no package."""
    if kind in PACKAGES:
        import_all(PACKAGES[kind])
    return dict(_TABLES.get(kind, {}))


def implementation(op: str, kind: str) -> Implementation:
    """The implementation of `op` for target kind `kind`; NotImplementedError naming both
    where the kind has neither one for the op nor a generic one."""
    entries = table(kind)
    found = entries.get(op) or entries.get(GENERIC)
    if found is None:
        raise NotImplementedError(f"no {op} kernel for target kind {kind}")
    return found
