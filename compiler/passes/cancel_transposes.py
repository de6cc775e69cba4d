"""Move elementwise activations ahead of Transposes and Reshapes, and cancel the Transposes and
Reshapes that undo each other.

TensorFlow models exported to ONNX (tf2onnx) switch layouts around every op: a conv's NCHW
result goes to NHWC for its activation and back to NCHW for the pool (madmom's onset CNN:
four copies of each feature map per layer, and Reshapes adding and dropping a unit batch dim
between them). An activation commutes with a Transpose or a Reshape, so Transpose ->
activation becomes activation -> Transpose; two Transposes in a row become one, two Reshapes
too, and none when they undo each other. The activation then sits right after its conv, where
fuse_epilogue takes it.

Only a Transpose whose result nothing else reads (and that is no graph output) is moved or
merged, so no work is duplicated; the last node of a chain keeps producing its value.
"""
from __future__ import annotations

from convrnn.compiler.ir import Graph, NameGenerator, Node, TensorType, Value
from convrnn.schedules.epilogue import FUSABLE_UNARY


def _sole_reader(graph_readers: dict, outputs: set, value: Value):
    readers = graph_readers.get(id(value), [])
    return readers[0] if len(readers) == 1 and id(value) not in outputs else None


def _rewrite_once(graph: Graph, names: NameGenerator):
    """The graph with one Transpose moved past its activation or merged into the next, or None."""
    readers = graph.consumers()
    outputs = {id(v) for v in graph.outputs}
    for node in graph.nodes:
        if node.op not in ("Transpose", "Reshape"):
            continue
        x, moved = node.inputs[0], node.outputs[0]
        reader = _sole_reader(readers, outputs, moved)
        if reader is None:
            continue
        if reader.op in FUSABLE_UNARY and reader.outputs[0].type.shape == moved.type.shape:
            activated = Value(names(f"{reader.outputs[0].name}_before_transpose"),
                              TensorType(x.type.shape, reader.outputs[0].type.dtype))
            first = Node(reader.op, (x,), (activated,), dict(reader.attrs), name=reader.name)
            second = Node(node.op, (activated,), reader.outputs, dict(node.attrs), name=node.name)
            return _replace(graph, {id(node): [first], id(reader): [second]})
        if reader.op == node.op == "Reshape":
            if reader.outputs[0].type.shape != x.type.shape:
                merged = Node("Reshape", (x,), reader.outputs, dict(reader.attrs), name=reader.name)
                return _replace(graph, {id(node): [], id(reader): [merged]})
            return _cancel(graph, node, reader, x, outputs)
        if reader.op == node.op == "Transpose":
            perm = list(node.attrs["perm"])
            combined = [perm[p] for p in reader.attrs["perm"]]
            if combined != list(range(len(combined))):
                merged = Node("Transpose", (x,), reader.outputs, {"perm": combined}, name=reader.name)
                return _replace(graph, {id(node): [], id(reader): [merged]})
            return _cancel(graph, node, reader, x, outputs)
    return None


def _cancel(graph: Graph, first: Node, second: Node, x: Value, outputs: set) -> Graph:
    """Two nodes that undo each other go; the second's readers read x itself."""
    if id(second.outputs[0]) in outputs:
        copy = Node("Identity", (x,), second.outputs, {}, name=second.name)
        return _replace(graph, {id(first): [], id(second): [copy]})
    return _substitute(_replace(graph, {id(first): [], id(second): []}), second.outputs[0], x)


def _replace(graph: Graph, replacements: dict) -> Graph:
    nodes = []
    for node in graph.nodes:
        nodes.extend(replacements.get(id(node), [node]))
    return graph.replace(nodes=nodes)


def _substitute(graph: Graph, old: Value, new: Value) -> Graph:
    nodes = [Node(n.op, tuple(new if v is old else v for v in n.inputs), n.outputs, n.attrs, name=n.name)
             if any(v is old for v in n.inputs) else n for n in graph.nodes]
    return graph.replace(nodes=nodes)


def cancel_transposes(graph: Graph) -> Graph:
    names = NameGenerator(v.name for v in graph.values())
    while True:
        rewritten = _rewrite_once(graph, names)
        if rewritten is None:
            return graph
        graph = rewritten
