"""What a converter sees: the ONNX node, its inputs as IR values, and a way to emit IR nodes.

`GraphBuilder` accumulates the IR graph while the importer walks the ONNX graph;
`NodeContext` is the converter-facing view of one ONNX node.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
import onnx
from onnx import helper

from convrnn.compiler import symbolic_dims
from convrnn.compiler.errors import ModelError, UnsupportedError
from convrnn.compiler.ir import Dim, Graph, NameGenerator, Node, TensorType, Value
from convrnn.schedules.registry import get_op


class GraphBuilder:
    """Owns the IR graph under construction and the symbol table of ONNX names."""

    def __init__(self) -> None:
        self.names = NameGenerator()
        self.nodes: list[Node] = []
        self.constants: dict[str, np.ndarray] = {}
        self.constant_values: dict[str, Value] = {}
        # Small integer vectors whose elements are known, some of them symbolic dims
        # (what Shape -> Gather -> Concat chains compute); keyed by id(Value).
        self.shape_vectors: dict[int, list[Dim]] = {}
        self.inputs: list[Value] = []  # the graph inputs, whose dims a refinement may fix
        self.materialized: dict[int, Value] = {}  # id(shape vector) -> its DimValues output
        # Symbolic dims that the model fixes (a weight's size, a broadcast with a constant):
        # name -> the dim it stands for, applied to every value so far and to every node after.
        self.refined: dict[str, Dim] = {}
        # Formulas that must equal a constant or another formula though no name solves them (a
        # squeezed pooled axis; an FPN's upsampled level added to the level above): replaced
        # by the other side from here on, and checked at run time (Graph.dim_checks).
        self.fixed_formulas: dict[str, Dim] = {}
        # Dims that nodes bind at run time (compiler/bound_dims.py): refinement replaces these
        # rather than a dim of the inputs, so that the runtime checks what the model requires.
        self.bound_names: set[str] = set()
        # id(a Reshape's output) -> the value it views, through chains of them (a Squeeze of an
        # Unsqueeze is its source again)
        self.view_sources: dict[int, Value] = {}

    def constant(self, array: np.ndarray, hint: str = "const") -> Value:
        array = np.require(array, requirements="C")  # unlike ascontiguousarray, keeps 0-d arrays 0-d
        value = Value(self.names(hint), TensorType(array.shape, array.dtype))
        self.constants[value.name] = array
        self.constant_values[value.name] = value
        return value

    def rename_constant(self, name: str) -> None:
        """Give the constant called `name` (if any) another name, freeing `name` for an output."""
        value = self.constant_values.pop(name, None)
        if value is not None:
            value.name = self.names(f"{name}_const")
            self.constant_values[value.name] = value
            self.constants[value.name] = self.constants.pop(name)
            self.names.release(name)

    def constant_of(self, value: Optional[Value]) -> Optional[np.ndarray]:
        return None if value is None else self.constants.get(value.name)

    def emit(self, op: str, inputs: Sequence[Optional[Value]], attrs: dict[str, Any],
             hints: Sequence[str], node_name: str) -> list[Value]:
        """Append one IR node, inferring its output types; returns its outputs.

        Output i is named after hints[i] (made unique), or after the op where hints run out.
        """
        opdef = get_op(op)
        inputs = [self.materialize(v, node_name) if v is not None and id(v) in self.shape_vectors else v
                  for v in inputs]
        attrs = self._refine_attrs(attrs)
        try:
            with symbolic_dims.collecting_equalities() as equalities, symbolic_dims.assuming(self.fixed_formulas):
                types = opdef.infer([v.type if v is not None else None for v in inputs], attrs)
            if equalities:
                self.refine(equalities)
                attrs = self._refine_attrs(attrs)
                with symbolic_dims.assuming(self.fixed_formulas):
                    types = opdef.infer([v.type if v is not None else None for v in inputs], attrs)
        except (ValueError, TypeError, IndexError, KeyError) as exc:
            raise ModelError(f"node {node_name!r} ({op}): {exc}") from None
        outputs = [Value(self.names(hints[i] if i < len(hints) and hints[i] else f"{op.lower()}"), t)
                   for i, t in enumerate(types)]
        self.nodes.append(Node(op, tuple(inputs), tuple(outputs), dict(attrs), name=node_name))
        self.bound_names.update(d for d in attrs.get("binds", ()) if isinstance(d, str))
        return outputs

    def materialize(self, vector: Value, node_name: str) -> Value:
        """A tracked shape vector read as data: a DimValues node computing it at run time from
        the shapes of values that hold its names (once per vector)."""
        known = self.materialized.get(id(vector))
        if known is not None:
            return known
        elements = self.shape_vectors[id(vector)]
        wanted = set().union(*(symbolic_dims.names_in(e) for e in elements))
        sources: list[Value] = []
        for value in list(self.inputs) + [v for n in self.nodes for v in n.outputs]:
            holds = wanted & {d for d in value.type.shape if isinstance(d, str)}
            if holds:
                sources.append(value)
                wanted -= holds
        if wanted:
            raise UnsupportedError(f"node {node_name!r} reads {vector.name!r}, a shape computed from the "
                                   f"symbolic dims {', '.join(sorted(wanted))}, which no tensor holds as such")
        attrs = {"elements": list(elements), "scalar": int(vector.type.rank == 0), "dtype": vector.type.dtype}
        (value,) = self.emit("DimValues", sources, attrs, hints=[vector.name], node_name=f"{node_name} dims")
        self.materialized[id(vector)] = value
        return value

    def refine(self, equalities: list[tuple[Dim, Dim]]) -> None:
        """Make each pair of dims equal by binding symbolic names (symbolic_dims.solve), then
        rewrite every value, shape vector and node attribute built so far with the bindings."""
        bindings = dict(self.refined)
        for a, b in equalities:
            a, b = symbolic_dims.substitute(a, bindings), symbolic_dims.substitute(b, bindings)
            if a == b:
                continue
            try:
                new = symbolic_dims.solve(a, b, prefer=self.bound_names)
            except ValueError:
                if isinstance(a, int) and isinstance(b, int):
                    raise
                kept = symbolic_dims.more_concrete(a, b) if isinstance(a, int) or isinstance(b, int) \
                    else min(a, b, key=lambda d: (len(d), d))
                self.fixed_formulas[b if kept == a else a] = kept
                continue
            bindings = {name: symbolic_dims.substitute(dim, new) for name, dim in bindings.items()}
            bindings.update(new)
        self.refined = bindings
        values = list(self.inputs) + [v for node in self.nodes for v in node.outputs]
        for value in values:
            value.type = TensorType(self.refined_dims(value.type.shape), value.type.dtype)
        for key, vector in self.shape_vectors.items():
            self.shape_vectors[key] = self.refined_dims(vector)
        for node in self.nodes:
            node.attrs = self._refine_attrs(node.attrs)

    def refined_dims(self, dims) -> list[Dim]:
        refined = [symbolic_dims.substitute(d, self.refined) if isinstance(d, str) else d for d in dims]
        with symbolic_dims.assuming(self.fixed_formulas):
            return [symbolic_dims.apply_known(d) for d in refined]

    def _refine_attrs(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Attributes holding dims (a Reshape's target, a Slice's sizes) with the refined dims."""
        if not self.refined and not self.fixed_formulas:
            return attrs
        return {key: self._refine_attr(value) for key, value in attrs.items()}

    def _refine_attr(self, value: Any) -> Any:
        if isinstance(value, (list, tuple)) and any(isinstance(v, str) for v in value):
            refined = [self.refined_dims([v])[0] if isinstance(v, str) and _is_dim(v) else v for v in value]
            return type(value)(refined)
        return value

    def graph(self, inputs: list[Value], outputs: list[Value]) -> Graph:
        checks = [(symbolic_dims.substitute(f, self.refined), symbolic_dims.substitute(v, self.refined))
                  for f, v in self.fixed_formulas.items()]
        return Graph(inputs=inputs, outputs=outputs, nodes=self.nodes, constants=self.constants,
                     constant_values=self.constant_values, dim_checks=[(f, v) for f, v in checks if f != v])


def _is_dim(text: str) -> bool:
    try:
        symbolic_dims.names_in(text)
        return True
    except (SyntaxError, ValueError):
        return False


class NodeContext:
    """The converter's view of one ONNX node."""

    def __init__(self, builder: GraphBuilder, node: onnx.NodeProto, inputs: list[Optional[Value]],
                 opset: int, convert_subgraph: Any = None):
        self.builder = builder
        self.node = node
        self.inputs = inputs
        self.opset = opset
        self.name = node.name or (node.output[0] if node.output else node.op_type)
        self._convert_subgraph = convert_subgraph

    # --- inputs -------------------------------------------------------------------------
    def input(self, index: int) -> Optional[Value]:
        return self.inputs[index] if index < len(self.inputs) else None

    def required_input(self, index: int) -> Value:
        value = self.input(index)
        if value is None:
            raise self.error(f"required input {index} is missing")
        return value

    def type(self, index: int) -> TensorType:
        return self.required_input(index).type

    def constant(self, index: int, what: str = "") -> Optional[np.ndarray]:
        """The input's data when it is a compile-time constant; None when the input is absent."""
        value = self.input(index)
        if value is None:
            return None
        array = self.builder.constant_of(value)
        if array is None:
            raise UnsupportedError(
                f"{self.node.op_type} node {self.name!r} (opset {self.opset}): input {index}"
                f"{' (' + what + ')' if what else ''} must be a compile-time constant")
        return array

    def shape_vector(self, index: int, what: str = "shape") -> Optional[list[Dim]]:
        """An integer vector input whose elements are known, possibly symbolic dims."""
        value = self.input(index)
        if value is None:
            return None
        known = self.builder.shape_vectors.get(id(value))
        if known is not None:
            return list(known)
        return [int(v) for v in self.constant(index, what).reshape(-1)]

    # --- attributes ---------------------------------------------------------------------
    def attr(self, name: str, default: Any = None) -> Any:
        for attribute in self.node.attribute:
            if attribute.name == name:
                value = helper.get_attribute_value(attribute)
                if isinstance(value, bytes):
                    return value.decode("utf-8")
                if isinstance(value, onnx.TensorProto):
                    return onnx.numpy_helper.to_array(value)
                if isinstance(value, list):
                    return [v.decode("utf-8") if isinstance(v, bytes) else v for v in value]
                return value
        return default

    def has_attr(self, name: str) -> bool:
        return any(a.name == name for a in self.node.attribute)

    # --- output -------------------------------------------------------------------------
    def emit(self, op: str, inputs: Sequence[Optional[Value]], attrs: Optional[dict[str, Any]] = None,
             temp: bool = False) -> list[Value]:
        """Emit one IR node. Its outputs take the ONNX node's output names, unless `temp`
        marks an intermediate result of a converter that emits several IR nodes."""
        hints = ([f"{self.name}_{op.lower()}"] if temp else list(self.node.output))
        return self.builder.emit(op, inputs, attrs or {}, hints=hints, node_name=self.name)

    def emit1(self, op: str, inputs: Sequence[Optional[Value]], attrs: Optional[dict[str, Any]] = None,
              temp: bool = False) -> Value:
        return self.emit(op, inputs, attrs, temp=temp)[0]

    def make_constant(self, array: np.ndarray, hint: str = "const") -> Value:
        return self.builder.constant(np.asarray(array), hint=f"{self.name}_{hint}")

    def new_dim(self, label: str) -> str:
        """A fresh symbolic dim named after this node, for a size known only at run time (a
        Loop's trip count, a length a kernel computes: compiler/bound_dims.py)."""
        cleaned = "".join(ch if ch.isalnum() else "_" for ch in self.name)
        return self.builder.names(f"{cleaned if cleaned[:1].isalpha() else 'node_' + cleaned}_{label}")

    def convert_subgraph(self, graph: onnx.GraphProto, body_inputs: Optional[list] = None) -> Any:
        """Inline a subgraph (an If branch) into the current graph; returns its outputs. With
        body_inputs (a TensorType or a Value per subgraph input), a closed Body of its own
        (frontend/subgraphs.py: a Loop's body, a run-time If's branch)."""
        return self._convert_subgraph(graph, body_inputs)

    def error(self, message: str) -> ModelError:
        return ModelError(f"{self.node.op_type} node {self.name!r} (opset {self.opset}): {message}")

    def unsupported(self, message: str) -> UnsupportedError:
        return UnsupportedError(f"{self.node.op_type} node {self.name!r} (opset {self.opset}): {message}")
