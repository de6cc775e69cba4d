"""A 2-d convolution over an image one position wide, with a kernel one tap wide, is a 1-d
convolution along the height: run it as one (Reshapes around it are views).

Temporal convolutions exported from 2-d frameworks look so ([N, C, T, 1] by k x 1 kernels:
madmom's TCN beat tracker, eleven dilated layers). The conv templates tile the last spatial
axis; over [N, C, T, 1] that is the width of 1, so every output was a tile of one position
(2% of the FMA peak). As a 1-d conv the time axis is the last one, tiled (in whole tiles when
it is symbolic). Runs before cancel_transposes, which moves the activation after the
Reshape back to the conv, for fuse_epilogue.
"""
from __future__ import annotations

from convrnn.compiler.ir import Graph, NameGenerator, Node, TensorType, Value


def _qualifies(node: Node, graph: Graph) -> bool:
    if node.op != "Conv" or len(node.attrs["kernel_shape"]) != 2 or node.attrs.get("epilogue"):
        return False
    x, out = node.inputs[0].type, node.outputs[0].type
    pads = node.attrs["pads"]
    return (x.shape[-1] == 1 and out.shape[-1] == 1 and node.attrs["kernel_shape"][1] == 1
            and node.attrs["kernel_shape"][0] > 1  # a 1 x 1 conv (a squeeze-and-excitation FC) has no time axis
            and pads[1] == 0 and pads[3] == 0 and graph.is_constant(node.inputs[1]))


def unit_width_conv_as_1d(graph: Graph) -> Graph:
    constants, constant_values = dict(graph.constants), dict(graph.constant_values)
    names = NameGenerator(v.name for v in graph.values())
    nodes, changed = [], False
    for node in graph.nodes:
        if not _qualifies(node, graph):
            nodes.append(node)
            continue
        x, w, out = node.inputs[0], node.inputs[1], node.outputs[0]
        attrs = node.attrs
        weight = constants[w.name].squeeze(axis=3)  # the width tap of [O, C/g, k, 1] or packed [O/b, C/g, k, 1, b]
        w1 = Value(names(f"{w.name}_1d"), TensorType(weight.shape, str(weight.dtype)))
        constants[w1.name], constant_values[w1.name] = weight, w1
        x1 = Value(names(f"{x.name}_1d"), TensorType(x.type.shape[:-1], x.type.dtype))
        out1 = Value(names(f"{out.name}_1d"), TensorType(out.type.shape[:-1], out.type.dtype))
        conv_attrs = dict(attrs, kernel_shape=[attrs["kernel_shape"][0]], strides=[attrs["strides"][0]],
                          dilations=[attrs["dilations"][0]], pads=[attrs["pads"][0], attrs["pads"][2]])
        nodes += [Node("Reshape", (x,), (x1,), {"shape": list(x1.type.shape)}, name=f"{node.name} as 1-d"),
                  Node("Conv", (x1, w1, *node.inputs[2:]), (out1,), conv_attrs, name=node.name),
                  Node("Reshape", (out1,), (out,), {"shape": list(out.type.shape)}, name=f"{node.name} back to 2-d")]
        changed = True
    if not changed:
        return graph
    return graph.with_nodes(nodes, constants, constant_values)
