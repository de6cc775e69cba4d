"""Tuning tasks: the distinct tunable kernels of a compiled graph.

A task is one kernel (op, attributes, input and output types: what `lower.kernel_key` shares)
whose schedule template has knobs; its key is a stable hash of that, without the knobs, so a
database written by one run (or one model) serves every later compile of the same kernel.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace
from typing import Any

from convrnn.compiler.ir import Graph, Node
from convrnn.compiler.lower import kernel_key
from convrnn.compiler.target import Target
from convrnn.schedules.implementations import implementation
from convrnn.schedules.registry import get_op


@dataclass
class Task:
    key: str
    node: Node  # the first node of the graph that runs this kernel
    space: dict[str, list]  # knob -> the values to try
    uses: int  # how many nodes of the graph run it

    @property
    def describe(self) -> str:
        shapes = ", ".join(str(v.type) for v in self.node.inputs if v is not None)
        return f"{self.node.op}({shapes}) -> {self.node.outputs[0].type}"

    @property
    def size(self) -> int:
        return math.prod(len(values) for values in self.space.values())


def without_knobs(node: Node) -> Node:
    return replace(node, attrs={k: v for k, v in node.attrs.items() if k != "knobs"})


def task_key(node: Node) -> str:
    return hashlib.sha256(repr(kernel_key(without_knobs(node))).encode()).hexdigest()[:24]


def knob_space(node: Node, target: Target) -> "dict[str, list] | None":
    if get_op(node.op).is_view:
        return None
    try:
        chosen = implementation(node.op, target.kind)
    except NotImplementedError:
        return None  # nothing to tune (lowering says what is missing)
    return chosen.knob_space([v.type if v is not None else None for v in node.inputs], node.attrs,
                             [v.type for v in node.outputs], target)


def extract_tasks(graph: Graph, target: Target) -> list[Task]:
    """The graph's tunable kernels in execution order, each once (with more than one candidate)."""
    tasks: dict[str, Task] = {}
    for node in graph.nodes:
        space = knob_space(node, target)
        if not space or math.prod(len(v) for v in space.values()) < 2:
            continue
        key = task_key(node)
        if key in tasks:
            tasks[key].uses += 1
        else:
            tasks[key] = Task(key, node, space, 1)
    return list(tasks.values())


def with_knobs(node: Node, knobs: dict[str, Any]) -> Node:
    return replace(node, attrs={**node.attrs, "knobs": dict(knobs)})
