"""Graphs holding Loops and Ifs compile to a program: a tree of blocks run by the runtime.

A block is one graph's kernel calls in order (the model's graph, a Loop's body, an If's
branch), with its Loop and If nodes as steps between them. Every subgraph is optimized by
the same pass pipeline and lowered once, its kernels named after its place in the tree, and
its consecutive kernel calls become one executor call (compiler/executor.py): a loop runs
from Python (runtime/program.py) at one FFI call per iteration for the body's kernels.

Carried values are double-buffered: the body's carried inputs and outputs (the condition
among them) have slots of their own, and odd iterations run with each pair's slots swapped,
so no iteration copies its state. Scan outputs go to a stack of a capacity the runtime picks
(the max trip count where the loop has one, else grown by doubling), written at the
iteration's row by a small kernel at the end of the body; the scan output is a view of its
first `trips` rows, a dim known once the loop has run.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from convrnn.compiler import executor
from convrnn.compiler import tvm_adapter as tvm_
from convrnn.compiler.bound_dims import binds, bound_dims, holds_binds
from convrnn.compiler.ir import Graph, Node, TensorType, Value
from convrnn.compiler.lower import KernelCall, lower_graph
from convrnn.compiler.memory_plan import MemoryPlan, has_runtime_dim, plan_memory
from convrnn.compiler.symbolic_dims import names_in
from convrnn.compiler.target import Target
from convrnn.schedules.registry import get_op

SCAN_STORE = "ScanStore"  # the pseudo-op of the calls writing a scan value into its stack


def subgraphs(node: Node) -> dict[str, Graph]:
    return {key: value for key, value in node.attrs.items() if isinstance(value, Graph)}


def holds_control_flow(graph: Graph) -> bool:
    return any(subgraphs(node) for node in graph.nodes)


def needs_program(graph: Graph) -> bool:
    """Whether the graph runs as a program: it holds Loops or Ifs, or binds run-time dims."""
    return holds_control_flow(graph) or holds_binds(graph)


# --- optimizing ------------------------------------------------------------------------------
def optimize_subgraphs(graph: Graph, transform: Callable[[Graph], Graph]) -> Graph:
    """The graph with `transform` (the pass pipeline) applied to every subgraph, innermost
    first; each Loop body's outputs then own their buffers (own_outputs)."""
    if not holds_control_flow(graph):
        return graph
    nodes = []
    for node in graph.nodes:
        inner = subgraphs(node)
        if inner:
            attrs = dict(node.attrs)
            for key, body in inner.items():
                body = transform(optimize_subgraphs(body, transform))
                attrs[key] = own_outputs(body, 1 + node.attrs["carried"]) if node.op == "Loop" else body
            node = Node(node.op, node.inputs, node.outputs, attrs, name=node.name)
        nodes.append(node)
    return graph.replace(nodes=nodes)


def own_outputs(body: Graph, count: int) -> Graph:
    """The body with each of its first `count` outputs (condition, carried values) written by a
    kernel of its own: an Identity where it is an input, a capture, a constant, a view or
    another of them. The double buffers swap those outputs' slots with the inputs'."""
    written = {id(v) for node in body.nodes if not get_op(node.op).is_view for v in node.outputs}
    nodes, outputs, seen = list(body.nodes), list(body.outputs), set()
    for index, value in enumerate(body.outputs[:count]):
        if id(value) not in written or id(value) in seen:
            copy = Value(f"{value.name}_out{index}", value.type)
            nodes.append(Node("Identity", (value,), (copy,), {}, name=f"body output {index}"))
            value = copy
        seen.add(id(value))
        outputs[index] = value
    return body.replace(nodes=nodes, outputs=outputs)


# --- lowering --------------------------------------------------------------------------------
@dataclass
class Block:
    graph: Graph
    calls: list[KernelCall]  # in order; a Loop or If appears with kernel None
    children: dict[int, dict[str, "Block"]] = field(default_factory=dict)  # id(node) -> its blocks
    memory: Optional[MemoryPlan] = None
    slot_base: int = 0  # this block's slots are numbered from here in the artifact's list
    # Loop only: for each scan output (by name), the stack its body writes it into
    stacks: dict[str, Value] = field(default_factory=dict)
    captures: list[str] = field(default_factory=list)  # inputs living in the enclosing block


def lower_program(graph: Graph, target: Target) -> tuple[dict[str, Any], Block]:
    """Every kernel of the graph and its subgraphs by name, and the root block."""
    functions: dict[str, Any] = {}
    root = _lower_block(graph, target, "", functions, {})
    _plan_blocks(root, runtime_dims(root), [0])
    return functions, root


def _lower_block(graph: Graph, target: Target, prefix: str, functions: dict[str, Any],
                 shared: dict[tuple, str]) -> Block:
    plain = [node for node in graph.nodes if not subgraphs(node)]
    kernels, plain_calls = lower_graph(graph.replace(nodes=plain), target)
    renamed = {name: f"{prefix}{name}" for name in kernels}
    functions.update({renamed[name]: func for name, func in kernels.items()})
    by_node = {id(call.node): KernelCall(call.node, renamed.get(call.kernel)) for call in plain_calls}
    block = Block(graph, [])
    for count, node in enumerate(graph.nodes):
        inner = subgraphs(node)
        if not inner:
            block.calls.append(by_node[id(node)])
            continue
        block.calls.append(KernelCall(node, None))
        children = block.children[id(node)] = {}
        for key, body in inner.items():
            child_prefix = f"{prefix}{'l' if node.op == 'Loop' else 'b'}{count}{key[0]}_"
            if node.op == "Loop":
                children[key] = _lower_loop_body(node, body, target, child_prefix, functions, shared)
            else:
                children[key] = _lower_block(body, target, child_prefix, functions, shared)
                children[key].captures = [v.name for v in body.inputs]
    return block


def _lower_loop_body(node: Node, body: Graph, target: Target, prefix: str, functions: dict[str, Any],
                     shared: dict[tuple, str]) -> Block:
    carried = node.attrs["carried"]
    iteration = body.inputs[0]
    stacks, stores = {}, []
    for output, value in zip(node.outputs[carried:], body.outputs[1 + carried:]):
        stack = Value(f"{output.name}_stack", TensorType((capacity_dim(node), *value.type.shape), value.type.dtype))
        stacks[output.name] = stack
        stores.append(Node(SCAN_STORE, (value, iteration), (stack,), {}, name=f"{node.name} scan {output.name}"))
    block = _lower_block(body, target, prefix, functions, shared)
    for store in stores:
        key = ("scan_store", store.inputs[0].type, iteration.type)
        name = shared.get(key)
        if name is None:
            name = shared[key] = f"scan_store{len([k for k in shared if k[0] == 'scan_store'])}"
            functions[name] = scan_store_primfunc(store.inputs[0].type, iteration.type)
        block.calls.append(KernelCall(store, name))
    block.stacks = stacks
    block.captures = [v.name for v in body.inputs[2 + carried:]]
    return block


def capacity_dim(node: Node) -> str:
    return f"{node.attrs['trips']}_capacity"


def runtime_dims(block: Block) -> list[str]:
    """The dims known only while running: each loop's trip count and its stacks' capacity, and
    the dims nodes bind (compiler/bound_dims.py)."""
    dims = []
    for call in block.calls:
        if call.node.op == "Loop":
            dims += [call.node.attrs["trips"], capacity_dim(call.node)]
        dims += bound_dims(call.node)
        for child in block.children.get(id(call.node), {}).values():
            dims += runtime_dims(child)
    return dims


def peak_bytes(block: Block) -> int:
    """The static slots of every block (symbolic dims at 1): each block has slots of its own."""
    return block.memory.peak_bytes + sum(peak_bytes(child) for children in block.children.values()
                                         for child in children.values())


def _plan_blocks(block: Block, dims: list[str], next_slot: list[int], is_body: bool = False) -> None:
    block.memory = plan_memory(block.graph, block.calls, runtime_dims=dims, outside=block.captures,
                               keep_inputs=is_body)
    block.slot_base = next_slot[0]
    next_slot[0] += len(block.memory.slot_bytes)
    for call in block.calls:
        for key, child in block.children.get(id(call.node), {}).items():
            _plan_blocks(child, dims, next_slot, is_body=call.node.op == "Loop")


def scan_store_primfunc(value_type: TensorType, iteration_type: TensorType) -> Any:
    """stack[iteration] = value, over the value's elements (stack: [capacity, *value's shape])."""
    dims: dict[str, str] = {}
    shape = [dims.setdefault(d, f"d{len(dims)}") if isinstance(d, str) else str(d) for d in value_type.shape]
    count = " * ".join(shape) or "1"
    dtype = value_type.dtype
    counter = "(1,)" if iteration_type.shape else "()"
    index = "0" if iteration_type.shape else "()"
    lines = ["@T.prim_func",
             "def scan_store(value_h: T.handle, iteration_h: T.handle, stack_h: T.handle):",
             *[f"    {var} = T.int32()" for var in dims.values()],
             "    capacity = T.int32()",
             f"    value = T.match_buffer(value_h, ({', '.join(shape)}{',' if len(shape) == 1 else ''}), \"{dtype}\")",
             f"    iteration = T.match_buffer(iteration_h, {counter}, \"int64\")",
             f"    stack = T.match_buffer(stack_h, (capacity, {', '.join(shape)}), \"{dtype}\")",
             f"    flat_value = T.decl_buffer(({count},), \"{dtype}\", data=value.data)",
             f"    flat_stack = T.decl_buffer((capacity * {count},), \"{dtype}\", data=stack.data)",
             f"    row = T.Cast(\"int32\", iteration[{index}]) * ({count})",
             f"    for j in range({count}):",
             "        flat_stack[row + j] = flat_value[j]"]
    return tvm_.parse_primfunc("\n".join(lines))


# --- executors -------------------------------------------------------------------------------
def add_executors(block: Block, kernels: dict[str, Any], path: str = "") -> None:
    """One executor function for each run of consecutive kernel calls in every block; each
    call list of the plan then names it (segments(), in the same order)."""
    for index, segment in enumerate(segments(block)):
        if any(call.kernel is not None for call in segment):
            arguments = executor.executor_arguments(segment)
            name = f"{executor.NAME}{path}_s{index}"
            kernels[name] = executor.executor_primfunc(segment, arguments, name)
    for position, call in enumerate(block.calls):
        for key, child in block.children.get(id(call.node), {}).items():
            add_executors(child, kernels, f"{path}_{position}{key[0]}")


def all_calls(block: Block) -> list[KernelCall]:
    """The kernel calls of the block and of every block inside it."""
    calls = []
    for call in block.calls:
        calls.append(call)
        for child in block.children.get(id(call.node), {}).values():
            calls += all_calls(child)
    return calls


def segments(block: Block) -> list[list[KernelCall]]:
    """The block's kernel calls cut at its boundaries (each segment may be empty)."""
    cut: list[list[KernelCall]] = [[]]
    for call in block.calls:
        if not block.children.get(id(call.node)):
            cut[-1].append(call)
        if block.children.get(id(call.node)) or binds(call.node):
            cut.append([])
    return cut


def boundaries(block: Block) -> list[Node]:
    """Where segments() cuts, in order: at a Loop or an If (a step of its own), and after a node
    binding run-time dims (the runtime reads them before the next segment)."""
    return [call.node for call in block.calls if block.children.get(id(call.node)) or binds(call.node)]


# --- the plan ----------------------------------------------------------------------------------
def describe(value: Value) -> dict[str, Any]:
    return {"shape": list(value.type.shape), "dtype": value.type.dtype}


class _PlanWriter:
    """plan.json's tensors, constants and program for a block tree."""

    def __init__(self, root: Block, has_executors: bool):
        self.root = root
        self.dims = runtime_dims(root)
        self.has_executors = has_executors
        self.tensors: dict[str, dict[str, Any]] = {}
        self.constants: dict[str, Any] = {}
        self.constant_keys: dict[int, str] = {}  # id(array) -> key: a weight a body shares is stored once
        self.slots: dict[int, list[str]] = {}  # artifact slot -> its tensors
        self.bound: set[str] = set()  # the run-time dims bind steps written so far set

    def write(self) -> dict[str, Any]:
        return self.block(self.root, "")

    def tensor(self, block: Block, value: Value, spec: dict[str, Any]) -> None:
        entry = dict(describe(value), **spec)
        if has_runtime_dim(value, self.dims) and "view_of" not in entry and "alias_of" not in entry:
            entry = dict(describe(value), dynamic=True)
        self.tensors.setdefault(value.name, entry)

    def block(self, block: Block, path: str) -> dict[str, Any]:
        graph, memory = block.graph, block.memory
        for index, names in enumerate(memory.slot_tensors):
            self.slots[block.slot_base + index] = list(names)
        for value in graph.inputs:
            if value.name in block.captures:
                continue  # alias specs are written by the enclosing step
            self.tensor(block, value, {"slot": block.slot_base + memory.slot_of[value.name]})
        used = {id(v) for call in block.calls for v in call.node.inputs if v is not None} | {id(v) for v in graph.outputs}
        for name, value in graph.constant_values.items():
            if id(value) in used:
                array = graph.constants[name]
                key = self.constant_keys.setdefault(id(array), f"c{len(self.constant_keys)}")
                self.constants[key] = array
                self.tensor(block, value, {"constant": key})
        steps: list[dict[str, Any]] = []
        cut, ends = segments(block), boundaries(block)
        for index, segment in enumerate(cut):
            steps.append(self.segment(block, segment, f"{path}_s{index}"))
            if index < len(ends):
                node = ends[index]
                if binds(node):
                    steps.append(self.bind(node))
                else:
                    position = next(i for i, c in enumerate(block.calls) if c.node is node)
                    steps.append(self.control(block, node, f"{path}_{position}"))
        return {"steps": [step for step in steps if step is not None]}

    def bind(self, node: Node) -> dict[str, Any]:
        """The node's bind step: each element of its last output sets a run-time dim, or, where
        import equated the dim with one known by then (an input's, a constant, one bound
        before), is checked against it."""
        sets, requires = [], []
        for index, dim in enumerate(node.attrs["binds"]):
            if isinstance(dim, str) and dim in self.dims and dim not in self.bound:
                self.bound.add(dim)
                sets.append(dim)
            else:
                sets.append(None)
                requires.append([index, dim])
        return {"bind": {"node": node.name, "tensor": node.outputs[-1].name, "dims": sets, "require": requires}}

    def outputs_of(self, block: Block, node: Node) -> None:
        for value in node.outputs:
            if value.name in block.memory.view_of:
                self.tensor(block, value, {"view_of": block.memory.view_of[value.name]})
            elif value.name in block.memory.slot_of:
                self.tensor(block, value, {"slot": block.slot_base + block.memory.slot_of[value.name]})
            else:
                self.tensor(block, value, {})  # a run-time dim: allocated by the runtime

    def segment(self, block: Block, calls: list[KernelCall], name: str) -> Optional[dict[str, Any]]:
        for call in calls:
            self.outputs_of(block, call.node)
        kernel_calls = [{"kernel": c.kernel, "node": c.node.name,
                         "args": [v.name for v in c.node.inputs if v is not None] + [v.name for v in c.node.outputs]}
                        for c in calls if c.kernel is not None]
        if not kernel_calls:
            return None
        step: dict[str, Any] = {"calls": kernel_calls}
        if self.has_executors:
            step["executor"] = {"kernel": f"{executor.NAME}{name}",
                                "args": [v.name for v in executor.executor_arguments(calls)]}
        return step

    def control(self, block: Block, node: Node, path: str) -> dict[str, Any]:
        children = block.children[id(node)]
        self.outputs_of(block, node)
        for key, child in children.items():
            captured = node.inputs[len(node.inputs) - len(child.captures):] if node.op == "Loop" else None
            if node.op == "If":
                first = 1 if key == "then_branch" else 1 + len(children["then_branch"].captures)
                captured = node.inputs[first:first + len(child.captures)]
            for inner, outer in zip(child.captures, captured):
                inner_value = next(v for v in child.graph.inputs if v.name == inner)
                self.tensor(child, inner_value, {"alias_of": outer.name})
        if node.op == "If":
            branches = {}
            for key in ("then_branch", "else_branch"):
                child = children[key]
                branches[key] = dict(self.block(child, f"{path}{key[0]}"), outputs=[v.name for v in child.graph.outputs])
            return {"if": {"node": node.name, "condition": node.inputs[0].name,
                           "outputs": [v.name for v in node.outputs],
                           "then": branches["then_branch"], "else": branches["else_branch"]}}
        body = children["body"]
        carried = node.attrs["carried"]
        graph = body.graph
        for output, stack in body.stacks.items():
            self.tensors[stack.name] = dict(describe(stack), dynamic=True)
            outer = next(v for v in node.outputs if v.name == output)
            self.tensors[output] = dict(describe(outer), view_of=stack.name)
        program = self.block(body, f"{path}b")
        return {"loop": {
            "node": node.name,
            "max_trips": node.inputs[0].name if node.inputs[0] is not None else None,
            "condition": node.inputs[1].name if node.inputs[1] is not None else None,
            "initial": [v.name for v in node.inputs[2:2 + carried]],
            "final": [v.name for v in node.outputs[:carried]],
            "trips": node.attrs["trips"], "capacity": capacity_dim(node),
            "iteration": graph.inputs[0].name,
            "carried_in": [graph.inputs[1].name] + [v.name for v in graph.inputs[2:2 + carried]],
            "carried_out": [v.name for v in graph.outputs[:1 + carried]],
            "scans": [{"output": output, "stack": stack.name} for output, stack in body.stacks.items()],
            "body": program}}


def program_plan(root: Block, has_executors: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """The plan's entries for a program (tensors, slots, program, runtime_dims), and the
    constants to store keyed as the tensors name them."""
    writer = _PlanWriter(root, has_executors)
    program = writer.write()
    slots = [writer.slots[index] for index in range(len(writer.slots))]
    # the top block's kernel calls whose tensors exist before anything runs (convrnn profile
    # times these one by one)
    late = _made_late(writer.tensors, writer.dims)
    calls = [call for step in program["steps"] for call in step.get("calls", [])
             if not late & set(call["args"])]
    return ({"tensors": writer.tensors, "slots": slots, "program": program, "runtime_dims": writer.dims,
             "calls": calls}, writer.constants)


def _made_late(tensors: dict[str, dict[str, Any]], dims: list[str]) -> set[str]:
    """The tensors the runtime makes only once a run-time dim is known."""
    late: set[str] = set()
    for _ in range(len(tensors)):  # until nothing changes (a chain of views)
        before = len(late)
        for name, spec in tensors.items():
            base = spec.get("view_of") or spec.get("alias_of")
            if spec.get("dynamic") or base in late or any(
                    isinstance(d, str) and names_in(d) & set(dims) for d in spec["shape"]):
                late.add(name)
        if len(late) == before:
            break
    return late
