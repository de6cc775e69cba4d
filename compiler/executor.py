"""The executor kernel: one function in the model's library that calls every kernel in order.

Called from Python, each kernel costs a trip through TVM's FFI (about 0.5-1 us with its
tensor arguments); a model of 20-30 small kernels (MobileNetV2-style: 0.2 ms in all) spends
several percent of its time there. The executor takes every tensor the calls use, once, and
calls the kernels directly (TIR's call_cpacked: a C call into the same library), so a run is
one FFI call. CPU targets only; the runtime falls back to calling the kernels one by one
where an artifact has no executor, and to find which node rejected its inputs.
"""
from __future__ import annotations

from typing import Any

from convrnn.compiler import tvm_adapter as tvm_
from convrnn.compiler.ir import storage_dtype
from convrnn.compiler.lower import KernelCall

NAME = "convrnn_run_all"


def executor_arguments(calls: list[KernelCall]) -> list[Any]:
    """The Values the kernel calls read or write, each once, in order of first use."""
    seen: dict[str, Any] = {}
    for call in calls:
        if call.kernel is None:
            continue
        for value in (*call.node.inputs, *call.node.outputs):
            if value is not None:
                seen.setdefault(value.name, value)
    return list(seen.values())


def executor_primfunc(calls: list[KernelCall], arguments: list[Any], name: str = NAME) -> Any:
    """The executor over `calls`, taking `arguments` (executor_arguments(calls)) in order.
    A program with control flow has one per run of calls between its Loops and Ifs."""
    index = {value.name: i for i, value in enumerate(arguments)}
    dims: dict[str, str] = {}  # a symbolic dim (a name or a formula) -> its variable here
    for value in arguments:
        for dim in value.type.shape:
            if isinstance(dim, str):
                dims.setdefault(dim, f"d{len(dims)}")
    lines = ["@T.prim_func", f"def {name}({', '.join(f'h{i}: T.handle' for i in range(len(arguments)))}):"]
    lines += [f"    {var} = T.int32()" for var in dims.values()]
    for i, value in enumerate(arguments):
        shape = ", ".join(dims[d] if isinstance(d, str) else str(d) for d in value.type.shape)
        lines.append(f'    b{i} = T.match_buffer(h{i}, ({shape}{"," if len(value.type.shape) == 1 else ""}), '
                     f'"{storage_dtype(value.type.dtype)}")')
    for call in calls:
        if call.kernel is not None:
            buffers = ", ".join(f"b{index[v.name]}" for v in (*call.node.inputs, *call.node.outputs) if v is not None)
            lines.append(f'    T.evaluate(T.call_cpacked("{call.kernel}", {buffers}))')
    return tvm_.parse_primfunc("\n".join(lines))
