"""convrnn's graph IR: typed values, nodes and graphs.

The leaf module of the project: it imports nothing from convrnn and nothing from TVM.
A dimension is an ``int`` or a symbolic name such as ``"batch"``; two symbolic dims with
the same name are equal. A name may also be a formula over other names, such as
``"(frames - 1) // 2 + 1"`` (a time axis halved by a pool; compiler/symbolic_dims.py does the
arithmetic): the runtime computes it from the input dims (runtime/dims.py). Values are compared by identity, never by name.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Optional, Union

import ml_dtypes  # noqa: F401  (gives numpy the names of the bit-pattern types below)
import numpy as np

Dim = Union[int, str]

# ONNX element types that numpy knows only through ml_dtypes, by the names onnx.helper maps
# them to (bfloat16, float8 and float4 variants, 4- and 2-bit ints), with the unsigned type
# their buffers hold: one bit pattern per element, never packed. TVM 0.27 has no type for most
# of them, packs int4 and float4 two to a byte, and rounds as its legalization passes choose,
# so kernels convert them with integer bit manipulation (schedules/element_conversions.py).
BIT_PATTERN_DTYPES = {
    "bfloat16": "uint16",
    "float8_e4m3fn": "uint8", "float8_e4m3fnuz": "uint8", "float8_e5m2": "uint8", "float8_e5m2fnuz": "uint8",
    "float8_e8m0fnu": "uint8", "float4_e2m1fn": "uint8",
    "int4": "uint8", "uint4": "uint8", "int2": "uint8", "uint2": "uint8",
}

SUPPORTED_DTYPES = ("float32", "float64", "float16", "int64", "int32", "int16", "uint16", "int8", "uint8", "bool",
                    *BIT_PATTERN_DTYPES)


def is_floating(dtype: str) -> bool:
    """float16/32/64, bfloat16 and the float8/float4 types (ops on the narrow ones compute in
    float32: compiler/passes/compute_bit_patterns_in_float32.py)."""
    return dtype.startswith("float") or dtype == "bfloat16"


def storage_dtype(dtype: str) -> str:
    """The dtype a buffer of `dtype` elements is declared with in kernels."""
    return BIT_PATTERN_DTYPES.get(dtype, dtype)


@dataclass(frozen=True)
class TensorType:
    shape: tuple[Dim, ...]
    dtype: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", tuple(d if isinstance(d, str) else int(d) for d in self.shape))
        object.__setattr__(self, "dtype", str(np.dtype(self.dtype)))

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def is_static(self) -> bool:
        return all(isinstance(d, int) for d in self.shape)

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(d for d in self.shape if isinstance(d, str))

    def num_elements(self, bindings: Optional[dict[str, int]] = None) -> int:
        n = 1
        for d in self.shape:
            n *= bindings[d] if isinstance(d, str) else d
        return n

    def nbytes(self, bindings: Optional[dict[str, int]] = None) -> int:
        return self.num_elements(bindings) * np.dtype(self.dtype).itemsize

    def __str__(self) -> str:
        return f"{self.dtype}[{','.join(str(d) for d in self.shape)}]"


class Value:
    """A tensor flowing through a graph: defined once, by a node, a graph input or a constant."""

    __slots__ = ("name", "type")

    def __init__(self, name: str, type: TensorType):
        self.name = name
        self.type = type

    def __repr__(self) -> str:
        return f"%{self.name}: {self.type}"


@dataclass(eq=False)
class Node:
    op: str
    inputs: tuple[Optional[Value], ...]
    outputs: tuple[Value, ...]
    attrs: dict[str, Any] = field(default_factory=dict)
    name: str = ""

    def __post_init__(self) -> None:
        self.inputs = tuple(self.inputs)
        self.outputs = tuple(self.outputs)


@dataclass(eq=False)
class Graph:
    inputs: list[Value]
    outputs: list[Value]
    nodes: list[Node]
    # Constant data keyed by the name of the Value that carries it.
    constants: dict[str, np.ndarray] = field(default_factory=dict)
    constant_values: dict[str, Value] = field(default_factory=dict)
    # (formula, dim): dims the model requires to equal a constant or another formula that no
    # name can be solved for (a squeezed axis computed by pools); checked by the runtime on
    # every input.
    dim_checks: list[tuple[str, Dim]] = field(default_factory=list)

    def is_constant(self, value: Optional[Value]) -> bool:
        return value is not None and value.name in self.constants

    def values(self) -> Iterator[Value]:
        """Every value of the graph once: inputs, constants, then node outputs in order."""
        yield from self.inputs
        yield from self.constant_values.values()
        for node in self.nodes:
            yield from node.outputs

    def consumers(self) -> dict[int, list[Node]]:
        """Map id(value) -> nodes reading it."""
        users: dict[int, list[Node]] = {}
        for node in self.nodes:
            for value in node.inputs:
                if value is not None:
                    users.setdefault(id(value), []).append(node)
        return users

    def replace(self, **changes: Any) -> "Graph":
        fields = dict(inputs=self.inputs, outputs=self.outputs, nodes=self.nodes,
                      constants=self.constants, constant_values=self.constant_values, dim_checks=self.dim_checks)
        fields.update(changes)
        return Graph(**fields)

    def with_nodes(self, nodes: list["Node"], constants: dict[str, np.ndarray],
                   constant_values: dict[str, "Value"]) -> "Graph":
        """This graph with new nodes and constants, keeping only the constants still read
        (a pass that rewrites weights drops the ones it replaced)."""
        read = {v.name for n in nodes for v in n.inputs if v is not None} | {v.name for v in self.outputs}
        kept = {name: value for name, value in constant_values.items() if name in read}
        return self.replace(nodes=nodes, constants={name: constants[name] for name in kept}, constant_values=kept)


class NameGenerator:
    """Hands out names unique within one graph, keeping readable prefixes."""

    def __init__(self, taken: Iterable[str] = ()):
        self._taken = set(taken)
        self._counter = itertools.count()

    def __call__(self, prefix: str) -> str:
        name = prefix
        while name in self._taken or not name:
            name = f"{prefix}_{next(self._counter)}"
        self._taken.add(name)
        return name

    def release(self, name: str) -> None:
        self._taken.discard(name)


class NewValues:
    """The values a pass adds to a graph: fresh names, and new constants kept beside the
    graph's own until `graph_with` puts them in."""

    def __init__(self, graph: Graph):
        self.constants, self.constant_values = dict(graph.constants), dict(graph.constant_values)
        self.names = NameGenerator(v.name for v in graph.values())

    def constant(self, array: np.ndarray, hint: str) -> Value:
        value = Value(self.names(hint), TensorType(array.shape, str(array.dtype)))
        self.constants[value.name], self.constant_values[value.name] = array, value
        return value

    def value(self, hint: str, tensor_type: TensorType) -> Value:
        return Value(self.names(hint), tensor_type)

    def graph_with(self, graph: Graph, nodes: list[Node]) -> Graph:
        """`graph` with these nodes and the constants they read."""
        return graph.with_nodes(nodes, self.constants, self.constant_values)
