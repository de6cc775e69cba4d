"""The text form of a Graph, what `convrnn inspect` prints."""
from __future__ import annotations

from convrnn.compiler.ir import Graph


def _format_attr(value) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_format_attr(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _format_steps(steps: list) -> str:
    """An ElementwiseChain's steps as one expression over its inputs: Sigmoid(Mul($0, $0))."""
    texts: list[str] = []
    for step in steps:
        args = [f"${ref}" if ref >= 0 else texts[-1 - ref] for ref in step["args"]]
        extra = [f"{k}={_format_attr(v)}" for k, v in sorted(step.get("attrs", {}).items())]
        texts.append(f"{step['op']}({', '.join(args + extra)})")
    return texts[-1]


def format_graph(graph: Graph, max_constants: int = 8) -> str:
    lines = [f"graph({', '.join(f'%{v.name}: {v.type}' for v in graph.inputs)}) {{"]
    constants = list(graph.constant_values.values())
    for value in constants[:max_constants]:
        lines.append(f"  %{value.name}: {value.type} = constant")
    if len(constants) > max_constants:
        total = sum(a.nbytes for a in graph.constants.values())
        lines.append(f"  ... {len(constants) - max_constants} more constants ({total / 1e6:.2f} MB in all)")
    for node in graph.nodes:
        outs = ", ".join(f"%{v.name}: {v.type}" for v in node.outputs)
        args = ", ".join("_" if v is None else f"%{v.name}" for v in node.inputs)
        chain = node.op == "ElementwiseChain"  # (Slice has "steps" too: its strides)
        attrs = ", ".join(f"{k}={_format_steps(v) if chain and k == 'steps' else _format_attr(v)}"
                          for k, v in sorted(node.attrs.items()))
        lines.append(f"  {outs} = {node.op}({args}{'; ' + attrs if attrs else ''})  # {node.name}")
    lines.append(f"  return {', '.join('%' + v.name for v in graph.outputs)}")
    lines.append("}")
    return "\n".join(lines)
