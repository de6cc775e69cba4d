"""Lowering: each IR node to a scheduled TVM PrimFunc: its op's TE compute with the schedule of
the target's implementation of the op, or the PrimFunc that implementation writes in TIR
(schedules/implementations.py).

Nodes with the same op, attributes and input/output types share one kernel (ResNet's
repeated blocks compile once). View ops (reshapes) get no kernel at all.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from convrnn.compiler import tvm_adapter as tvm_
from convrnn.compiler.errors import UnsupportedError
from convrnn.compiler.ir import Graph, Node, TensorType, storage_dtype
from convrnn.compiler.target import Target
from convrnn.schedules.implementations import GENERIC, implementation
from convrnn.schedules.registry import OpDef, get_op


@dataclass
class KernelCall:
    node: Node
    kernel: Optional[str]  # None for a view (no kernel runs)


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if hasattr(value, "tobytes"):
        return (str(getattr(value, "dtype", "")), tuple(getattr(value, "shape", ())), value.tobytes())
    return value


def kernel_key(node: Node) -> tuple:
    return (node.op, _freeze(node.attrs),
            tuple(None if v is None else v.type for v in node.inputs),
            tuple(v.type for v in node.outputs))


def lower_node(node: Node, target: Target) -> "tvm_.PrimFunc":
    opdef = get_op(node.op)
    chosen = implementation(node.op, target.kind)
    written = chosen.primfunc([v.type for v in node.inputs if v is not None], node.attrs,
                              [v.type for v in node.outputs], target)
    if written is not None:
        return written
    if type(opdef).compute is OpDef.compute:  # a kernel only a target's own TIR can give
        raise NotImplementedError(f"no {node.op} kernel for target kind {target.kind}")
    symbols: dict[str, Any] = {}

    def shape_of(tensor_type: TensorType) -> list:
        # A derived dim ("(frames - 1) // 2 + 1") is a variable of its own here, named by its
        # formula and bound from the buffer like any other.
        return [d if isinstance(d, int) else symbols.setdefault(d, tvm_.size_var(d)) for d in tensor_type.shape]

    # bit-pattern types (bfloat16, float8, ...) are their storage type in kernels
    placeholders = [None if v is None else tvm_.te.placeholder(shape_of(v.type), storage_dtype(v.type.dtype),
                                                                name=f"in{i}")
                    for i, v in enumerate(node.inputs)]
    outputs = opdef.compute(placeholders, node.attrs, [v.type for v in node.outputs])
    if len(outputs) != len(node.outputs):
        raise AssertionError(f"{node.op} compute gave {len(outputs)} outputs for {len(node.outputs)}")
    func = tvm_.create_prim_func([p for p in placeholders if p is not None] + list(outputs))
    try:
        return chosen.apply(func, target, node.attrs)
    except tvm_.ScheduleError:
        # The op's template does not fit this instance (a ConvTranspose over symbolic spatial
        # dims): the target's generic schedule computes the same, if slower.
        return implementation(GENERIC, target.kind).apply(func, target, node.attrs)


def lower_graph(graph: Graph, target: Target) -> tuple[dict[str, "tvm_.PrimFunc"], list[KernelCall]]:
    """All kernels of the graph by name, and the calls in execution order."""
    functions: dict[str, Any] = {}
    by_key: dict[tuple, str] = {}
    calls: list[KernelCall] = []
    for node in graph.nodes:
        if get_op(node.op).is_view:
            calls.append(KernelCall(node, None))
            continue
        key = kernel_key(node)
        name = by_key.get(key)
        if name is None:
            name = f"k{len(functions)}_{node.op.lower()}"
            try:
                functions[name] = lower_node(node, target)
            except (NotImplementedError, tvm_.ScheduleError) as exc:
                raise UnsupportedError(f"{node.op} node {node.name!r} cannot be lowered for "
                                       f"{target.kind}: {exc}") from exc
            by_key[key] = name
        calls.append(KernelCall(node, name))
    return functions, calls
