"""Static memory planning: activations share storage by liveness.

Every non-constant tensor gets a storage slot; a slot is reused once every tensor living in
it has been read for the last time. A view (reshape) lives in its base's slot and keeps it
alive. Graph outputs get slots of their own. Slot sizes can depend on symbolic dims, so
the runtime sizes each slot as the largest tensor assigned to it once dims are bound;
here sizes are estimated with every symbolic dim at 1 to choose which free slot to reuse.

Control flow (compiler/control_flow.py): a Loop or If node is one step reading its inputs
and writing its outputs, and each subgraph is planned on its own, in slots of its own. A
tensor whose shape holds a run-time dim (a loop's trip count) gets no slot: the runtime
allocates it once the dim is known. A loop body keeps its inputs (iteration, condition,
carried values) to the end and reads its captures from the enclosing graph's slots.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from typing import Collection

from convrnn.compiler.ir import Graph, Value
from convrnn.compiler.lower import KernelCall
from convrnn.compiler.symbolic_dims import names_in


@dataclass
class MemoryPlan:
    slot_of: dict[str, int]                    # tensor name -> slot (non-view tensors)
    view_of: dict[str, str]                    # view tensor name -> the tensor it views
    slot_tensors: list[list[str]] = field(default_factory=list)
    slot_bytes: list[int] = field(default_factory=list)  # estimate, symbolic dims at 1

    @property
    def peak_bytes(self) -> int:
        return sum(self.slot_bytes)


def _estimate(value: Value) -> int:
    return value.type.nbytes({s: 1 for s in value.type.symbols})


def is_view_call(call: KernelCall) -> bool:
    """A call that runs no kernel and makes its output a view of its input (not a Loop or If,
    which run no kernel of their own either)."""
    return call.kernel is None and not any(isinstance(v, Graph) for v in call.node.attrs.values())


def has_runtime_dim(value: Value, runtime_dims: Collection[str]) -> bool:
    return bool(runtime_dims) and any(isinstance(d, str) and names_in(d) & set(runtime_dims) for d in value.type.shape)


def plan_memory(graph: Graph, calls: list[KernelCall], runtime_dims: Collection[str] = (),
                outside: Collection[str] = (), keep_inputs: bool = False) -> MemoryPlan:
    """runtime_dims: dims known only while running; outside: names of the graph's inputs that
    live in an enclosing graph's slots (a body's captures); keep_inputs: inputs live to the end."""
    constant_ids = {id(v) for v in graph.constant_values.values()}
    output_ids = {id(v) for v in graph.outputs}
    view_base: dict[int, Value] = {}  # id(view) -> the root tensor owning memory
    for call in calls:
        if is_view_call(call):
            source = call.node.inputs[0]
            view_base[id(call.node.outputs[0])] = view_base.get(id(source), source)

    def root(value: Value) -> Value:
        return view_base.get(id(value), value)

    last_use: dict[int, int] = {}
    for step, call in enumerate(calls):
        for value in call.node.inputs:
            if value is not None:
                last_use[id(root(value))] = step
    for value in graph.outputs + (graph.inputs if keep_inputs else []):
        last_use[id(root(value))] = len(calls)  # outputs (and what they view) live to the end

    plan = MemoryPlan(slot_of={}, view_of={})
    free: list[int] = []

    def assign(value: Value) -> None:
        if value.name in outside or has_runtime_dim(value, runtime_dims):
            return
        size = _estimate(value)
        reusable = [s for s in free if id(value) not in output_ids]
        if reusable:
            # Smallest slot that fits, else the largest (it grows to fit).
            fitting = [s for s in reusable if plan.slot_bytes[s] >= size]
            slot = min(fitting, key=lambda s: plan.slot_bytes[s]) if fitting else max(reusable, key=lambda s: plan.slot_bytes[s])
            free.remove(slot)
            plan.slot_bytes[slot] = max(plan.slot_bytes[slot], size)
        else:
            slot = len(plan.slot_bytes)
            plan.slot_bytes.append(size)
            plan.slot_tensors.append([])
        plan.slot_of[value.name] = slot
        plan.slot_tensors[slot].append(value.name)

    for value in graph.inputs:
        assign(value)
    for step, call in enumerate(calls):
        for value in call.node.outputs:
            if is_view_call(call):
                plan.view_of[value.name] = call.node.inputs[0].name
            else:
                assign(value)
        # Release after the outputs are placed: no kernel writes into a slot it reads.
        released = set()
        for value in list(call.node.inputs) + list(call.node.outputs):
            if value is None or id(value) in constant_ids:
                continue
            base = root(value)
            if last_use.get(id(base), -1) <= step and id(base) not in released and base.name in plan.slot_of:
                released.add(id(base))
                free.append(plan.slot_of[base.name])
    return plan
