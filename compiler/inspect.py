"""What `convrnn inspect` reports: the graph at a point of the pipeline and its memory plan."""
from __future__ import annotations

from typing import Any, Optional

from convrnn.compiler.ir import Dim, Graph
from convrnn.compiler.lower import KernelCall, kernel_key
from convrnn.compiler.memory_plan import plan_memory
from convrnn.compiler.passes import run_pipeline
from convrnn.compiler.printer import format_graph
from convrnn.frontend import import_onnx
from convrnn.schedules.registry import get_op


def summarize(graph: Graph) -> str:
    """Kernel count and the peak activation memory of the static plan (symbolic dims at 1)."""
    calls = [KernelCall(node, None if get_op(node.op).is_view else node.op) for node in graph.nodes]
    kernels = {kernel_key(call.node) for call in calls if call.kernel is not None}
    memory = plan_memory(graph, calls)
    symbols = sorted({d for v in graph.inputs for d in v.type.symbols})
    note = f" with {', '.join(symbols)} = 1" if symbols else ""
    return (f"# {len(graph.nodes)} nodes, {len(calls) - sum(c.kernel is None for c in calls)} kernel calls, "
            f"{len(kernels)} distinct kernels, {len(memory.slot_bytes)} buffers, "
            f"peak activation memory {memory.peak_bytes / 1e6:.3f} MB{note}")


def describe_model(model, after: Optional[str] = None, input_shapes: Optional[dict[str, list[Dim]]] = None,
                   target: Any = "cpu") -> str:
    graph = import_onnx(model, input_shapes)
    if after != "import":
        graph = run_pipeline(graph, target, stop_after=after)
    return f"{format_graph(graph)}\n{summarize(graph)}"
