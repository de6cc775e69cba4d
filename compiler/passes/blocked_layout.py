"""Run chains of 2-d convs (and the pools between them) in the NCHW{c} layout.

In NCHW a conv vectorized over output channels stores each vector as a scatter across
channel planes, and a depthwise conv vectorized over the width loads strided vectors
(scalarized by TVM at stride 2). In NCHW{c} (schedules/conv_layout.py) both are contiguous.

Which nodes go blocked:
  - a Conv (becoming ConvBlocked, schedules/ops/conv_blocked.py) that is 2-d, float32, with
    a constant weight and bias, static channels, one group or depthwise, at least
    MIN_CHANNELS outputs, and joined to another such conv or a pool by a value one of them
    writes and the other reads (through X or an epilogue operand), or on its own summing at
    least MIN_LONE_REDUCTION products per output (a small conv on its own would mostly add a
    conversion);
  - a pool (MaxPool, AveragePool 2-d; GlobalMaxPool, GlobalAveragePool of rank 4) whose
    input is blocked;
  - an activation, Add, Mul or elementwise chain, a Resize over the spatial axes, or a Concat
    (along channels: ConcatBlocked) of blocked values, where no reader outside the layout
    needs its blocked operands in NCHW (an FPN's upsample-and-concatenate stays blocked).
A blocked conv reads an NCHW input as it is (its reduction broadcasts one input value at a
time either way); a depthwise conv's input, or an epilogue operand, from outside the layout
goes through a ToBlocked. A reader outside the layout, or a graph output, gets a FromBlocked
that produces the original value, so nothing downstream changes; a Transpose that is a
blocked value's only reader becomes the FromBlocked itself (a CRNN's features turning into a
sequence: one pass over them instead of two). The weights are laid out
here, once, their output channels padded to whole blocks with zeros (and a blocked input's
channels too, so padded input channels meet zero weights).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from convrnn.compiler.ir import Graph, NameGenerator, Node, TensorType, Value
from convrnn.schedules.conv_layout import ACTIVATION_BLOCK, channel_blocks, pad_axis, pack_weight, unpack_weight
from convrnn.schedules.epilogue import FUSABLE_UNARY
from convrnn.schedules.ops.resize import uses_filters
from convrnn.schedules.winograd import CHANNEL_BLOCK

MIN_CHANNELS = ACTIVATION_BLOCK // 2  # fewer, and padding to a block wastes most of the work
MIN_LONE_REDUCTION = 256  # products per output that make a conv worth blocking on its own
WINDOW_POOLS = ("MaxPool", "AveragePool")
ELEMENTWISE_BINARY = ("Add", "Mul")
GLOBAL_POOLS = ("GlobalMaxPool", "GlobalAveragePool")


def _static(*dims) -> bool:
    return all(isinstance(d, int) for d in dims)


def _convertible_conv(node: Node, graph: Graph) -> bool:
    if node.op != "Conv" or len(node.attrs["kernel_shape"]) != 2:
        return False
    x, out = node.inputs[0].type, node.outputs[0].type
    bias = node.inputs[2] if len(node.inputs) > 2 else None
    if x.dtype != "float32" or not graph.is_constant(node.inputs[1]) or (bias is not None
                                                                       and not graph.is_constant(bias)):
        return False
    if not _static(x.shape[1], out.shape[1]) or out.shape[1] < MIN_CHANNELS:
        return False
    group = node.attrs["group"]
    return group == 1 or group == x.shape[1] == out.shape[1]


def _convertible_winograd(node: Node, graph: Graph) -> bool:
    """A Winograd conv (its channels are whole blocks already) with a constant bias."""
    bias = node.inputs[2] if len(node.inputs) > 2 else None
    return (node.op == "WinogradConv" and ACTIVATION_BLOCK == CHANNEL_BLOCK and node.inputs[0].type.dtype == "float32"
            and (bias is None or graph.is_constant(bias)))


def _candidate(node: Node, graph: Graph) -> bool:
    return _convertible_conv(node, graph) or _convertible_winograd(node, graph)


def _blockable_elementwise(node: Node, blocked: dict) -> bool:
    """An activation of a blocked value, or an Add, Mul or elementwise chain of blocked values
    and per-channel [N, C, 1, 1] ones (a squeeze-and-excitation scale, a bias): the layout
    holds it as it is."""
    if node.op in FUSABLE_UNARY:
        return id(node.inputs[0]) in blocked and node.inputs[0].type.rank == 4
    if not (node.op in ELEMENTWISE_BINARY and len(node.inputs) == 2 or node.op == "ElementwiseChain") \
            or len(node.outputs) != 1 or node.outputs[0].type.rank != 4:
        return False
    out = node.outputs[0].type.shape
    if not any(id(v) in blocked for v in node.inputs):
        return False
    for value in node.inputs:
        shape = value.type.shape
        if value is None or value.type.rank != 4 or shape[1] != out[1] or shape[0] not in (out[0], 1):
            return False
        if id(value) not in blocked and tuple(shape[2:]) != (1, 1):
            return False
    return True


def _stays_in_layout(node: Node, readers: dict, outputs: set) -> bool:
    """Whether every blocked operand of an elementwise node is read only inside the layout (by
    convs, pools and such nodes) and is no graph output: then no NCHW copy of it is needed,
    and doing the node blocked adds no conversion."""
    layout_ops = ("Conv", "WinogradConv", *WINDOW_POOLS, *GLOBAL_POOLS, *ELEMENTWISE_BINARY, "ElementwiseChain",
                  *FUSABLE_UNARY, "Resize", "Concat")
    for value in node.inputs:
        if value is None or value.type.rank != 4 or tuple(value.type.shape[2:]) == (1, 1):
            continue
        if id(value) in outputs or any(reader.op not in layout_ops for reader in readers.get(id(value), [])):
            return False
    return True


def _blockable_resize(node: Node, blocked: dict) -> bool:
    """A Resize of a blocked value over its spatial axes only (an FPN's upsampling): the layout
    keeps the spatial axes where they were, so the same interpolation reads the blocks."""
    if node.op != "Resize" or id(node.inputs[0]) not in blocked or node.inputs[0].type.rank != 4:
        return False
    shape, attrs = node.inputs[0].type.shape, node.attrs
    return (tuple(attrs["sizes"][:2]) == tuple(shape[:2]) and list(attrs["scales"][:2]) == [1.0, 1.0]
            and not uses_filters(attrs) and attrs.get("roi") is None)


def _blockable_concat(node: Node, blocked: dict) -> bool:
    """A Concat of blocked values along the channels (ConcatBlocked) or a spatial axis."""
    if node.op != "Concat" or node.outputs[0].type.rank != 4 or node.attrs["axis"] not in (1, 2, 3):
        return False
    return all(id(v) in blocked and _static(v.type.shape[1]) for v in node.inputs)


def _blockable_pool(node: Node) -> bool:
    if node.op in WINDOW_POOLS:
        return len(node.attrs["kernel_shape"]) == 2
    return node.op in GLOBAL_POOLS and node.inputs[0].type.rank == 4


def _convs_to_convert(graph: Graph) -> set[int]:
    """ids of the Convs that go blocked: candidates joined to another blocked op, a candidate
    conv or a pool, by a value one writes and the other reads, directly or through ops the
    layout holds (alone, a conv would only add a conversion). Pools fed by a candidate (or by
    such a pool) join too."""
    readers = graph.consumers()
    candidates = {id(node) for node in graph.nodes if _candidate(node, graph)}
    parent: dict[int, int] = {}

    def root(key: int) -> int:
        while parent.setdefault(key, key) != key:
            key = parent[key]
        return key

    fed: set[int] = set()  # candidate convs and the pools they feed, directly or through pools
    for node in graph.nodes:  # in order: a pool's producer is seen before it
        if id(node) in candidates:
            fed.add(id(node))
        if id(node) not in fed:
            continue
        for reader in readers.get(id(node.outputs[0]), []):
            if (id(reader) in candidates or _blockable_pool(reader) and reader.inputs[0] is node.outputs[0]
                    or _passes_layout_through(reader)):
                fed.add(id(reader))
                parent[root(id(reader))] = root(id(node))
    sizes: dict[int, int] = {}
    for key in fed:
        sizes[root(key)] = sizes.get(root(key), 0) + 1
    by_id = {id(node): node for node in graph.nodes}
    return {key for key in candidates if sizes[root(key)] > 1 or _worth_alone(by_id[key])}


def _passes_layout_through(node: Node) -> bool:
    """An op the layout may hold between two convs (an FPN's Resize and Concat, an activation,
    a residual Add): convs it joins go blocked together."""
    if len(node.outputs) != 1 or node.outputs[0].type.rank != 4:
        return False
    return node.op in ("Resize", "Concat", *FUSABLE_UNARY, *ELEMENTWISE_BINARY, "ElementwiseChain")


def _worth_alone(node: Node) -> bool:
    """A conv on its own goes blocked when each output sums at least MIN_LONE_REDUCTION products:
    it reads its NCHW input as it is, so the layout costs only converting its output back, and
    the blocked template stores whole vectors (an FPN head's 96 -> 24 channel 3x3 conv ran at a
    third of the FMA peak in NCHW, two thirds blocked)."""
    if node.op != "Conv":
        return False
    x, kernel = node.inputs[0].type, node.attrs["kernel_shape"]
    return node.attrs["group"] == 1 and x.shape[1] * kernel[0] * kernel[1] >= MIN_LONE_REDUCTION


class _Rewriter:
    def __init__(self, graph: Graph):
        self.names = NameGenerator(v.name for v in graph.values())
        self.constants = dict(graph.constants)
        self.constant_values = dict(graph.constant_values)
        self.nodes: list[Node] = []
        self.blocked: dict[int, Value] = {}    # id(original value) -> its blocked twin
        self.converted: set[int] = set()       # ids of original values whose producer went blocked

    def constant(self, prefix: str, array: np.ndarray) -> Value:
        value = Value(self.names(prefix), TensorType(array.shape, array.dtype))
        self.constants[value.name], self.constant_values[value.name] = array, value
        return value

    def twin(self, value: Value) -> Value:
        """A new value holding `value` in NCHW{c}: [N, ceil(C/c), *S, c]."""
        shape = value.type.shape
        return Value(self.names(f"{value.name}_blocked"), TensorType(
            (shape[0], channel_blocks(shape[1], ACTIVATION_BLOCK), *shape[2:], ACTIVATION_BLOCK), value.type.dtype))

    def to_blocked(self, value: Value) -> Value:
        if id(value) in self.blocked:
            return self.blocked[id(value)]
        if value.name in self.constants:  # laid out here, once (a batch norm's scale and shift)
            array = self.constants[value.name]
            blocks = channel_blocks(array.shape[1], ACTIVATION_BLOCK)
            padded = pad_axis(array, 1, blocks * ACTIVATION_BLOCK)
            split = padded.reshape(array.shape[0], blocks, ACTIVATION_BLOCK, *array.shape[2:])
            out = self.constant(f"{value.name}_blocked", np.ascontiguousarray(np.moveaxis(split, 2, -1)))
        else:
            out = self.twin(value)
            self.nodes.append(Node("ToBlocked", (value,), (out,), {"block": ACTIVATION_BLOCK},
                                   name=f"{value.name}/to_blocked"))
        self.blocked[id(value)] = out
        return out

    def unblock(self, value: Optional[Value]) -> None:
        """Produce `value` in NCHW again before a reader outside the layout (once)."""
        if value is None or id(value) not in self.converted:
            return
        self.converted.discard(id(value))
        self.nodes.append(Node("FromBlocked", (self.blocked[id(value)],), (value,),
                               {"block": ACTIVATION_BLOCK, "channels": value.type.shape[1]},
                               name=f"{value.name}/from_blocked"))

    def blocked_output(self, original: Value) -> Value:
        """The twin a converted node writes in place of `original`."""
        out = self.twin(original)
        self.blocked[id(original)] = out
        self.converted.add(id(original))
        return out

    def conv(self, node: Node) -> None:
        block = ACTIVATION_BLOCK
        x, weight_value = node.inputs[0], node.inputs[1]
        bias = node.inputs[2] if len(node.inputs) > 2 else None
        out_type = node.outputs[0].type
        channels, depthwise = out_type.shape[1], node.attrs["group"] > 1
        weight = self.constants[weight_value.name]
        if node.attrs.get("weight_block", 0):
            weight = unpack_weight(weight)
        out_blocks = channel_blocks(channels, block)
        weight = pad_axis(weight, 0, out_blocks * block)
        source = self.blocked.get(id(x))
        if depthwise and source is None:
            source = self.to_blocked(x)
        in_block = block if source is not None else 0
        packed = pack_weight(weight, block)                  # [O/c, C, KH, KW, c]
        if in_block and not depthwise:                        # [O/c, C/i, KH, KW, i, c]
            in_blocks = source.type.shape[1]
            lanes = in_block if in_blocks > 1 else packed.shape[1]  # a lone block: no padded lanes
            packed = pad_axis(packed, 1, in_blocks * lanes)
            packed = packed.reshape(out_blocks, in_blocks, lanes, *packed.shape[2:])
            packed = np.ascontiguousarray(np.moveaxis(packed, 2, -2))
        inputs = [source if source is not None else x, self.constant(f"{weight_value.name}_nchwc", packed)]
        if bias is not None:
            inputs.append(self.constant(f"{bias.name}_nchwc", pad_axis(self.constants[bias.name], 0,
                                                                         out_blocks * block)))
        elif node.inputs[3:]:
            inputs.append(None)
        inputs += [self.to_blocked(extra) for extra in node.inputs[3:]]
        attrs = {key: value for key, value in node.attrs.items() if key != "weight_block"}
        attrs.update(block=block, in_block=in_block, channels=channels)
        out = self.blocked_output(node.outputs[0])
        self.nodes.append(Node("ConvBlocked", tuple(inputs), (out,), attrs, name=node.name))

    def winograd(self, node: Node) -> None:
        """Its own transforms block the channels: it reads and writes NCHW{c} as they are."""
        x = node.inputs[0]
        source = self.blocked.get(id(x))
        inputs = [source if source is not None else x, *node.inputs[1:3]]
        inputs += [self.to_blocked(extra) for extra in node.inputs[3:]]
        out = self.blocked_output(node.outputs[0])
        attrs = dict(node.attrs, block=ACTIVATION_BLOCK, in_block=ACTIVATION_BLOCK if source is not None else 0)
        self.nodes.append(Node(node.op, tuple(inputs), (out,), attrs, name=node.name))

    def unblock_transposed(self, transpose: Node) -> None:
        """A Transpose that alone reads a blocked value: one FromBlocked writes its output."""
        value = transpose.inputs[0]
        self.converted.discard(id(value))
        attrs = {"block": ACTIVATION_BLOCK, "channels": value.type.shape[1], "perm": list(transpose.attrs["perm"])}
        self.nodes.append(Node("FromBlocked", (self.blocked[id(value)],), transpose.outputs, attrs,
                               name=transpose.name))

    def elementwise(self, node: Node) -> None:
        """Elementwise on the blocked twins (numpy broadcasting holds in NCHW{c}: a per-channel
        [N, C, 1, 1] operand becomes [N, C/c, 1, 1, c]); padded channels stay finite."""
        inputs = [self.blocked.get(id(v)) or self.to_blocked(v) for v in node.inputs]
        out = self.blocked_output(node.outputs[0])
        self.nodes.append(Node(node.op, tuple(inputs), (out,), dict(node.attrs), name=node.name))

    def resize(self, node: Node) -> None:
        """The same interpolation, the channel lanes an extra axis it copies."""
        source = self.blocked[id(node.inputs[0])]
        out = self.blocked_output(node.outputs[0])
        attrs = dict(node.attrs, sizes=[*node.attrs["sizes"][:1], source.type.shape[1], *node.attrs["sizes"][2:],
                                        ACTIVATION_BLOCK], scales=[*node.attrs["scales"], 1.0])
        self.nodes.append(Node("Resize", (source,), (out,), attrs, name=node.name))

    def concat(self, node: Node) -> None:
        sources = tuple(self.blocked[id(v)] for v in node.inputs)
        out = self.blocked_output(node.outputs[0])
        if node.attrs["axis"] == 1:
            attrs = {"block": ACTIVATION_BLOCK, "channels": [v.type.shape[1] for v in node.inputs]}
            self.nodes.append(Node("ConcatBlocked", sources, (out,), attrs, name=node.name))
        else:  # a spatial axis keeps its place in NCHW{c}
            self.nodes.append(Node("Concat", sources, (out,), dict(node.attrs), name=node.name))

    def pool(self, node: Node) -> None:
        source = self.blocked[id(node.inputs[0])]
        out = self.blocked_output(node.outputs[0])
        self.nodes.append(Node(node.op, (source,), (out,), dict(node.attrs, block=ACTIVATION_BLOCK), name=node.name))


def blocked_layout(graph: Graph) -> Graph:
    converting = _convs_to_convert(graph)
    if not converting:
        return graph
    rewriter = _Rewriter(graph)
    readers = graph.consumers()
    outputs = {id(v) for v in graph.outputs}
    for node in graph.nodes:
        if id(node) in converting:
            (rewriter.winograd if node.op == "WinogradConv" else rewriter.conv)(node)
        elif (node.op == "Transpose" and id(node.inputs[0]) in rewriter.converted
              and len(readers[id(node.inputs[0])]) == 1 and id(node.inputs[0]) not in outputs):
            rewriter.unblock_transposed(node)
        elif _blockable_pool(node) and id(node.inputs[0]) in rewriter.blocked:
            rewriter.pool(node)
        elif _blockable_elementwise(node, rewriter.blocked) and _stays_in_layout(node, readers, outputs):
            rewriter.elementwise(node)
        elif _blockable_resize(node, rewriter.blocked) and _stays_in_layout(node, readers, outputs):
            rewriter.resize(node)
        elif _blockable_concat(node, rewriter.blocked) and _stays_in_layout(node, readers, outputs):
            rewriter.concat(node)
        else:
            for value in node.inputs:
                rewriter.unblock(value)
            rewriter.nodes.append(node)
    for value in graph.outputs:
        rewriter.unblock(value)
    return graph.with_nodes(rewriter.nodes, rewriter.constants, rewriter.constant_values)
