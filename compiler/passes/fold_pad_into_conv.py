"""Fold a zero constant Pad of the spatial axes into the Conv that reads it: the Conv pads
its input itself (conv_compute.pad_input), so the padded copy never goes through memory.

Applies to a Pad with mode "constant", value 0, non-negative pads and none on the batch and
channel axes. A Pad that nothing reads any more is left for eliminate_dead_code, which runs
after this pass.
"""
from __future__ import annotations

from convrnn.compiler.ir import Graph, Node


def _spatial_pads(pad: Node) -> "list[int] | None":
    """The Pad's (begins, ends) over the spatial axes when it can fold, else None."""
    pads = list(pad.attrs["pads"])
    rank = len(pads) // 2
    if pad.attrs["mode"] != "constant" or float(pad.attrs["value"]) != 0.0 or min(pads) < 0:
        return None
    if any(pads[axis] or pads[axis + rank] for axis in (0, 1)):
        return None
    return pads[2:rank] + pads[rank + 2:]


def fold_pad_into_conv(graph: Graph) -> Graph:
    producer = {id(v): node for node in graph.nodes for v in node.outputs}
    nodes = []
    for node in graph.nodes:
        pad = producer.get(id(node.inputs[0])) if node.op == "Conv" and node.inputs else None
        extra = _spatial_pads(pad) if pad is not None and pad.op == "Pad" else None
        if extra is None:
            nodes.append(node)
            continue
        spatial = len(extra) // 2
        pads = [own + more for own, more in zip(node.attrs["pads"], extra[:spatial] + extra[spatial:])]
        nodes.append(Node(node.op, (pad.inputs[0], *node.inputs[1:]), node.outputs, {**node.attrs, "pads": pads},
                          node.name))
    return graph.replace(nodes=nodes)
