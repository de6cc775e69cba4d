"""A pointwise 1-d convolution between two layout transposes is a MatMul in channels-last.

tf2onnx writes a Keras Conv1D over channels-last data [N, L, C] as Transpose -> Conv (NCL)
-> Transpose back. With a one-tap kernel (a learned STFT, a frame-wise projection) the conv
is the product [N, L, C] x W^T [C, O]; over NCL its output channels rarely fit a vector
block (161 frequency bins) and the direct template ran it at 7-14% of the FMA peak. Here it
becomes Transpose -> MatMul -> Transpose, and cancel_transposes (next) removes both pairs of
transposes, so the product reads the channels-last data itself and runs in the dense
template. Only where the conv's input is such a transpose and its output is read by exactly
one, so no transpose is added.
"""
from __future__ import annotations

from convrnn.compiler.ir import Graph, NameGenerator, Node, TensorType, Value
from convrnn.schedules.conv_layout import weight_block

_SWAP_LAST = [0, 2, 1]


def _is_swap(node: "Node | None") -> bool:
    return node is not None and node.op == "Transpose" and list(node.attrs.get("perm", [])) == _SWAP_LAST


def _qualifies(node: Node, graph: Graph, producers: dict, readers: dict, outputs: set) -> bool:
    if node.op != "Conv" or node.attrs.get("epilogue") or node.attrs.get("weight_block", 0):
        return False
    attrs = node.attrs
    if weight_block(node.outputs[0].type.shape[1]):
        return False  # output channels in whole vector blocks: the conv template runs it well
    if list(attrs["kernel_shape"]) != [1] or list(attrs["strides"]) != [1] or list(attrs["pads"]) != [0, 0]:
        return False
    if attrs["group"] != 1 or not graph.is_constant(node.inputs[1]) or node.inputs[0].type.dtype != "float32":
        return False
    bias = node.inputs[2] if len(node.inputs) > 2 else None
    if bias is not None and not graph.is_constant(bias):
        return False
    out = node.outputs[0]
    out_readers = readers.get(id(out), [])
    return (_is_swap(producers.get(id(node.inputs[0]))) and id(out) not in outputs
            and len(out_readers) == 1 and _is_swap(out_readers[0]))


def pointwise_conv_as_matmul(graph: Graph) -> Graph:
    producers = {id(v): n for n in graph.nodes for v in n.outputs}
    readers = graph.consumers()
    outputs = {id(v) for v in graph.outputs}
    constants, constant_values = dict(graph.constants), dict(graph.constant_values)
    names = NameGenerator(v.name for v in graph.values())
    nodes, changed = [], False
    for node in graph.nodes:
        if not _qualifies(node, graph, producers, readers, outputs):
            nodes.append(node)
            continue
        x, w, out = node.inputs[0], node.inputs[1], node.outputs[0]
        bias = node.inputs[2] if len(node.inputs) > 2 else None
        batch, channels, length = x.type.shape
        out_channels = out.type.shape[1]
        weight = constants[w.name][:, :, 0].T.copy()  # [O, C, 1] -> [C, O]
        wt = Value(names(f"{w.name}_matmul"), TensorType(weight.shape, str(weight.dtype)))
        constants[wt.name], constant_values[wt.name] = weight, wt
        xt = Value(names(f"{x.name}_channels_last"), TensorType((batch, length, channels), x.type.dtype))
        product = Value(names(f"{out.name}_channels_last"), TensorType((batch, length, out_channels), out.type.dtype))
        nodes += [Node("Transpose", (x,), (xt,), {"perm": _SWAP_LAST}, name=f"{node.name} to channels-last"),
                  Node("MatMul", (xt, wt), (product,), {}, name=node.name)]
        if bias is not None:
            biased = Value(names(f"{out.name}_biased"), product.type)
            nodes.append(Node("Add", (product, bias), (biased,), {}, name=f"{node.name} bias"))
            product = biased
        nodes.append(Node("Transpose", (product,), (out,), {"perm": _SWAP_LAST}, name=f"{node.name} to NCL"))
        changed = True
    if not changed:
        return graph
    return graph.with_nodes(nodes, constants, constant_values)
