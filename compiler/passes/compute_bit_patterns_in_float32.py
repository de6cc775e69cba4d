"""Ops on bit-pattern types (bfloat16, float8, float4, 4-/2-bit ints: compiler/ir.py) compute
in float32: each such input is cast to float32 before the node, each such output cast back
after it (rounded to nearest even, as ONNX's reference computes these ops: in float32, then
rounded once). Kernels see these types only as their storage bits, so an Add or an Einsum on
them would add bit patterns.

float32 holds every value of these types exactly, so an op that only moves elements (Concat,
Gather, Transpose) gives the same bits either way: the casts back do not saturate (E5M2's Inf
stays Inf; a computed overflow becomes Inf or NaN, as in IEEE arithmetic) and E8M0 rounds to
nearest (rounding up, its Cast's default, would move 2^-127, a float32 subnormal, to 2^-126); views and Identity
copies are left as they are, and so are the ops that convert these types themselves (Cast,
QuantizeLinear, DequantizeLinear) and If and Loop (their bodies pass through this pass on
their own).
"""
from __future__ import annotations

from convrnn.compiler.errors import UnsupportedError
from convrnn.compiler.ir import BIT_PATTERN_DTYPES, Graph, NameGenerator, Node, Value, TensorType
from convrnn.schedules.registry import get_op

LEFT_ALONE = {"Cast", "QuantizeLinear", "DequantizeLinear", "Identity", "If", "Loop"}


def _touches_bit_patterns(node: Node) -> bool:
    values = [v for v in (*node.inputs, *node.outputs) if v is not None]
    return any(v.type.dtype in BIT_PATTERN_DTYPES for v in values)


def _needs_float32(node: Node) -> bool:
    return (node.op not in LEFT_ALONE and not get_op(node.op).is_view
            and _touches_bit_patterns(node))


def compute_bit_patterns_in_float32(graph: Graph) -> Graph:
    if not any(_needs_float32(node) for node in graph.nodes):
        return graph
    names = NameGenerator(v.name for v in graph.values())
    nodes: list[Node] = []
    for node in graph.nodes:
        if not _needs_float32(node):
            nodes.append(node)
            continue
        inputs = []
        for value in node.inputs:
            if value is not None and value.type.dtype in BIT_PATTERN_DTYPES:
                wide = Value(names(f"{value.name}_float32"), TensorType(value.type.shape, "float32"))
                nodes.append(Node("Cast", (value,), (wide,), {"to": "float32", "from": value.type.dtype},
                                  name=node.name))
                value = wide
            inputs.append(value)
        try:
            types = get_op(node.op).infer([None if v is None else v.type for v in inputs], node.attrs)
        except ValueError as exc:
            raise UnsupportedError(f"{node.op} node {node.name!r} cannot compute its "
                                   f"{', '.join(sorted({v.type.dtype for v in node.inputs if v is not None}))} "
                                   f"operands in float32: {exc}") from None
        outputs, narrowing = [], []
        for original, wide_type in zip(node.outputs, types):
            if original.type.dtype not in BIT_PATTERN_DTYPES:
                outputs.append(original)
                continue
            if wide_type.dtype != "float32":
                raise UnsupportedError(f"{node.op} node {node.name!r}: its {original.type.dtype} output "
                                       f"{original.name!r} has no float32 form (it computes {wide_type.dtype})")
            wide = Value(names(f"{original.name}_float32"), TensorType(original.type.shape, "float32"))
            outputs.append(wide)
            attrs = {"to": original.type.dtype, "saturate": 0}
            if original.type.dtype == "float8_e8m0fnu":
                attrs["round_mode"] = "nearest"
            narrowing.append(Node("Cast", (wide,), (original,), attrs, name=node.name))
        nodes.append(Node(node.op, tuple(inputs), tuple(outputs), dict(node.attrs), name=node.name))
        nodes.extend(narrowing)
    return graph.replace(nodes=nodes)
