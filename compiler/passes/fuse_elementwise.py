"""Fuse chains of elementwise ops into one ElementwiseChain node (schedules/ops/
elementwise_chain.py): a node whose result only the next elementwise node reads is computed
inside that node's kernel, so the intermediate tensor never goes through memory.

Elementwise: the registered unary and binary ops (schedules/ops/unary.py, binary.py).
The fused node takes the place of the chain's last node, where all its inputs exist.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from convrnn.compiler.ir import Graph, Node, Value
from convrnn.schedules.registry import get_op


def _elementwise(node: Node) -> bool:
    from convrnn.schedules.ops.binary import _Binary
    from convrnn.schedules.ops.unary import _Unary

    opdef = get_op(node.op)
    # an op with a compute of its own (Mod: its fmod attr) and no `expr` stays a kernel of its own
    return (isinstance(opdef, (_Unary, _Binary)) and hasattr(opdef, "expr") and len(node.outputs) == 1
            and all(v is not None for v in node.inputs))


@dataclass
class _Chain:
    inputs: list[Value] = field(default_factory=list)
    steps: list[dict] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)

    def ref(self, value: Value) -> int:
        for index, known in enumerate(self.inputs):
            if known is value:
                return index
        self.inputs.append(value)
        return len(self.inputs) - 1

    def absorb(self, other: "_Chain") -> int:
        """Append another chain's steps (its inputs renumbered); returns the ref of its result."""
        offset = len(self.steps)
        for step in other.steps:
            args = [self.ref(other.inputs[a]) if a >= 0 else -1 - (offset + (-1 - a)) for a in step["args"]]
            self.steps.append({**step, "args": args})
        self.nodes += other.nodes
        return -len(self.steps)


def fuse_elementwise(graph: Graph) -> Graph:
    readers = graph.consumers()
    graph_outputs = {id(v) for v in graph.outputs}
    chain_of: dict[int, _Chain] = {}  # id(value) -> the chain computing it, while it may grow
    for node in graph.nodes:
        if not _elementwise(node):
            continue
        chain = _Chain()
        args = []
        for value in node.inputs:
            producer = chain_of.get(id(value))
            if producer is not None and len(readers.get(id(value), [])) == 1 and id(value) not in graph_outputs:
                args.append(chain.absorb(producer))
                del chain_of[id(value)]
            else:
                args.append(chain.ref(value))
        chain.steps.append({"op": node.op, "args": args, "attrs": dict(node.attrs)})
        chain.nodes.append(node)
        chain_of[id(node.outputs[0])] = chain
    fused = {id(c.nodes[-1]): c for c in chain_of.values() if len(c.steps) > 1}
    absorbed = {id(n) for c in fused.values() for n in c.nodes[:-1]}
    nodes = []
    for node in graph.nodes:
        if id(node) in absorbed:
            continue
        chain = fused.get(id(node))
        if chain is None:
            nodes.append(node)
        else:
            nodes.append(Node("ElementwiseChain", tuple(chain.inputs), node.outputs, {"steps": chain.steps},
                              node.name))
    return graph.replace(nodes=nodes)
