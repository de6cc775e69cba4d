"""ONNX model -> convrnn Graph.

Walks the ONNX graph in order. A node whose inputs are all constants is evaluated at import
time (constant folding); a node computing on shape vectors with symbolic dims is tracked
symbolically (the Shape -> Gather -> Concat -> Reshape arithmetic exporters emit); every
other node goes to its converter, which emits IR nodes.
"""
from __future__ import annotations

import os
from typing import Optional, Union

import onnx
from google.protobuf.message import DecodeError
from onnx import numpy_helper

from convrnn.compiler import symbolic_dims
from convrnn.compiler.errors import ModelError, UnsupportedError
from convrnn.compiler.ir import Dim, Graph, TensorType, Value
from convrnn.frontend.constant_folding import fold_node
from convrnn.frontend.context import GraphBuilder, NodeContext
from convrnn.frontend.registry import MAX_OPSET, MIN_OPSET, find_converter
from convrnn.frontend.subgraphs import Body, BodyScope, fresh_input, refine_subgraphs
from convrnn.frontend.symbolic_shapes import track_shape_node

ModelSource = Union[str, os.PathLike, bytes, onnx.ModelProto]
DEFAULT_DOMAINS = ("", "ai.onnx")


def load_model(source: ModelSource) -> onnx.ModelProto:
    if isinstance(source, onnx.ModelProto):
        return source
    try:
        if isinstance(source, bytes):
            return onnx.load_model_from_string(source)
        with open(source, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ModelError(f"cannot read model {os.fspath(source)!r}: {exc.strerror or exc}") from None
    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise ModelError(f"{os.fspath(source)!r} is not a valid ONNX model (protobuf does not parse: {exc})") from None
    if not model.graph.node and not model.graph.output:
        raise ModelError(f"{os.fspath(source)!r} is not a valid ONNX model (no graph)")
    return model


def model_opset(model: onnx.ModelProto) -> int:
    for entry in model.opset_import:
        if entry.domain in DEFAULT_DOMAINS:
            return entry.version
    return MAX_OPSET if not model.opset_import else MIN_OPSET


def domain_opsets(model: onnx.ModelProto) -> dict[str, int]:
    """The opset the model imports of each domain other than ONNX's default one."""
    return {entry.domain: entry.version for entry in model.opset_import if entry.domain not in DEFAULT_DOMAINS}


def check_supported(model: onnx.ModelProto, opset: int) -> None:
    """Fail once, listing every unsupported op of the model (subgraphs included)."""
    problems: list[str] = []
    domains = domain_opsets(model)
    if not MIN_OPSET <= opset <= MAX_OPSET:
        problems.append(f"opset {opset} (convrnn imports opsets {MIN_OPSET} to {MAX_OPSET})")

    def visit(graph: onnx.GraphProto, where: str) -> None:
        for node in graph.node:
            label = f"{node.op_type} (node {node.name or (node.output[0] if node.output else '?')!r}{where}, "
            if node.domain not in DEFAULT_DOMAINS:
                if find_converter(node.op_type, domains.get(node.domain, 1), node.domain) is None:
                    problems.append(label + f"domain {node.domain!r})")
            elif find_converter(node.op_type, opset) is None:
                problems.append(label + f"opset {opset})")
            for attribute in node.attribute:
                if attribute.type == onnx.AttributeProto.GRAPH:
                    visit(attribute.g, f" in subgraph {attribute.name} of {node.name or node.op_type!r}")
                for sub in attribute.graphs:
                    visit(sub, f" in subgraph {attribute.name} of {node.name or node.op_type!r}")

    visit(model.graph, "")
    if problems:
        raise UnsupportedError(f"unsupported by convrnn: {'; '.join(problems)}")


def _value_info_type(info: onnx.ValueInfoProto, override: Optional[list[Dim]]) -> TensorType:
    tensor_type = info.type.tensor_type
    if not info.type.HasField("tensor_type") or tensor_type.elem_type == 0:
        raise UnsupportedError(f"graph input {info.name!r} is not a tensor with a known element type")
    dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor_type.elem_type)
    if override is not None:
        return TensorType(tuple(override), dtype)
    if not tensor_type.HasField("shape"):
        raise UnsupportedError(f"graph input {info.name!r} has no shape: give it one with input_shapes")
    dims: list[Dim] = []
    for axis, dim in enumerate(tensor_type.shape.dim):
        if dim.HasField("dim_value") and dim.dim_value >= 0:  # 0 is a size (an empty tensor)
            dims.append(int(dim.dim_value))
        elif dim.HasField("dim_param") and any(ch.isalnum() for ch in dim.dim_param):
            dims.append(symbolic_dims.symbol_name(dim.dim_param))
        else:
            # no value, no name, or an exporter's placeholder ("?"): a dim of its own
            dims.append(f"{symbolic_dims.symbol_name(info.name)}_dim{axis}")
    return TensorType(tuple(dims), dtype)


class _Importer:
    def __init__(self, model: onnx.ModelProto, opset: int):
        self.model = model
        self.opset = opset
        self.domain_opsets = domain_opsets(model)
        self.builder = self.root_builder = GraphBuilder()
        self.scopes: list[dict[str, Optional[Value]]] = [{}]
        self.bodies: list[BodyScope] = []  # the bodies being imported, outermost first

    def lookup(self, name: str, node: onnx.NodeProto) -> Optional[Value]:
        if not name:
            return None
        for depth in range(len(self.scopes) - 1, -1, -1):
            if name in self.scopes[depth]:
                return self._visible(self.scopes[depth][name], depth)
        raise ModelError(f"{node.op_type} node {node.name or node.output[0]!r} reads {name!r}, "
                         f"which no node, graph input or initializer defines (missing initializer?)")

    def _visible(self, value: Optional[Value], depth: int) -> Optional[Value]:
        """A value defined at scope `depth`, as the body being imported sees it: each body
        between there and here brings it in (subgraphs.py)."""
        builder = self.root_builder
        for body in self.bodies:
            if body.depth > depth:
                value = body.bring_in(value, builder)
            builder = body.builder
        return value

    def define(self, name: str, value: Optional[Value]) -> None:
        if name:
            self.scopes[-1][name] = value

    def add_initializers(self, graph: onnx.GraphProto) -> None:
        for initializer in graph.initializer:
            try:
                array = numpy_helper.to_array(initializer)
            except Exception as exc:  # onnx raises several types for broken tensors
                raise ModelError(f"initializer {initializer.name!r} cannot be read: {exc}") from None
            self.define(initializer.name, self.builder.constant(array, hint=initializer.name))
        for sparse in graph.sparse_initializer:
            raise UnsupportedError(f"sparse initializer {sparse.values.name!r} is not supported")

    def convert_nodes(self, graph: onnx.GraphProto) -> None:
        for node in graph.node:
            inputs = [self.lookup(name, node) for name in node.input]
            outputs = self.convert_node(node, inputs)
            if len(outputs) < len([o for o in node.output if o]):
                raise ModelError(f"{node.op_type} node {node.name!r} produced {len(outputs)} outputs, "
                                 f"the model expects {len(node.output)}")
            for name, value in zip(node.output, outputs):
                self.define(name, value)

    def convert_node(self, node: onnx.NodeProto, inputs: list[Optional[Value]]) -> list[Optional[Value]]:
        folded = fold_node(self.builder, node, inputs, self.opset)
        if folded is not None:
            return folded
        tracked = track_shape_node(self.builder, node, inputs)
        if tracked is not None:
            return tracked
        if node.domain in DEFAULT_DOMAINS:
            convert = find_converter(node.op_type, self.opset)
        else:
            convert = find_converter(node.op_type, self.domain_opsets.get(node.domain, 1), node.domain)
        context = NodeContext(self.builder, node, inputs, self.opset, self.convert_subgraph)
        return list(convert(context))

    def convert_subgraph(self, graph: onnx.GraphProto, body_inputs: Optional[list] = None):
        """Inline the subgraph; with body_inputs, import it as a Body of its own instead."""
        if body_inputs is not None:
            return self.convert_body(graph, body_inputs)
        self.scopes.append({})
        try:
            self.add_initializers(graph)
            self.convert_nodes(graph)
            return [self.lookup(out.name, onnx.NodeProto(op_type="subgraph output", name=graph.name))
                    for out in graph.output]
        finally:
            self.scopes.pop()

    def convert_body(self, graph: onnx.GraphProto, inputs: list) -> Body:
        """The subgraph as a closed Graph; inputs[i] is a TensorType (a fresh body input) or a
        Value of the current graph (the body reads it under the subgraph's input name i)."""
        if len(inputs) != len(graph.input):
            raise ModelError(f"subgraph {graph.name!r} declares {len(graph.input)} inputs, its node gives {len(inputs)}")
        outer = self.builder
        scope = BodyScope.inside(outer, len(self.scopes))
        self.bodies.append(scope)
        self.scopes.append({})
        self.builder = scope.builder
        try:
            fresh = []
            for info, given in zip(graph.input, inputs):
                if isinstance(given, TensorType):
                    fresh.append(fresh_input(scope, info.name, given))
                    self.define(info.name, fresh[-1])
                else:
                    self.define(info.name, scope.bring_in(given, outer))
            self.add_initializers(graph)
            self.convert_nodes(graph)
            outputs = [self.lookup(out.name, onnx.NodeProto(op_type="subgraph output", name=graph.name))
                       for out in graph.output]
        finally:
            self.builder = outer
            self.scopes.pop()
            self.bodies.pop()
        if scope.builder.refined:  # a dim the body fixed is fixed outside it too
            outer.refine(list(scope.builder.refined.items()))
        return scope.body(fresh, outputs)

    def run(self, input_shapes: dict[str, list[Dim]]) -> Graph:
        graph = self.model.graph
        self.add_initializers(graph)
        inputs: list[Value] = []
        for info in graph.input:
            if info.name in self.scopes[0]:
                continue  # an initializer listed as an input (older exporters): a constant
            value = Value(self.builder.names(info.name), _value_info_type(info, input_shapes.pop(info.name, None)))
            self.define(info.name, value)
            inputs.append(value)
            self.builder.inputs.append(value)
        if input_shapes:
            raise ModelError(f"input_shapes names {', '.join(sorted(input_shapes))}, which the model "
                             f"does not have (its inputs: {', '.join(v.name for v in inputs)})")
        self.convert_nodes(graph)
        outputs: list[Value] = []
        for info in graph.output:
            outputs.append(self._output_value(info.name, outputs))
        result = self.builder.graph(inputs, outputs)
        refine_subgraphs(result, self.builder.refined)
        return result

    def _output_value(self, name: str, graph_outputs: list[Value]) -> Value:
        value = self.lookup(name, onnx.NodeProto(op_type="graph output", name=name))
        if value is None:
            raise ModelError(f"graph output {name!r} is not computed by the model")
        produced = {id(out) for node in self.builder.nodes for out in node.outputs}
        if value.name != name or id(value) not in produced or any(value is v for v in graph_outputs):
            # Graph outputs keep their ONNX names and their own buffers: a copy covers
            # outputs that are graph inputs, constants, repeated, or renamed by a converter.
            self.builder.rename_constant(name)
            value = self.builder.emit("Identity", [value], {}, hints=[name], node_name=f"output {name}")[0]
        return value


def import_onnx(source: ModelSource, input_shapes: Optional[dict[str, list[Dim]]] = None) -> Graph:
    """Import an ONNX model into convrnn's IR.

    input_shapes overrides (or fixes symbolic dims of) the shapes of named graph inputs.
    """
    model = load_model(source)
    opset = model_opset(model)
    check_supported(model, opset)
    return _Importer(model, opset).run(dict(input_shapes or {}))
