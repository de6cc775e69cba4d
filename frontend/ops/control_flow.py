"""If and Loop.

An If whose condition is known at import is inlined (the taken branch only); otherwise both
branches become subgraphs of an IR If node and the runtime runs the taken one. A Loop's body
becomes the subgraph of an IR Loop node, compiled once and run once per iteration.
A carried value the body passes through unchanged (exporters thread weights through loops)
is no carried value: the body reads the initial value itself, a constant where that is one.
"""
from __future__ import annotations

import onnx

from convrnn.compiler import symbolic_dims
from convrnn.compiler.bound_dims import bound_dims
from convrnn.compiler.ir import Graph, TensorType
from convrnn.frontend.registry import converter


@converter("If", since=1)
def convert_if(ctx):
    condition = ctx.required_input(0)
    if condition.type.symbols or condition.type.num_elements() != 1:
        raise ctx.error(f"condition must hold one element, it is {condition.type}")
    known = ctx.builder.constant_of(condition)
    if known is not None:
        branch = ctx.attr("then_branch") if bool(known.reshape(-1)[0]) else ctx.attr("else_branch")
        outputs = ctx.convert_subgraph(branch)
        if len(outputs) != len(ctx.node.output):
            raise ctx.error(f"the taken branch has {len(outputs)} outputs, the node {len(ctx.node.output)}")
        return outputs
    if condition.type.dtype != "bool":
        raise ctx.error(f"condition must be a bool, it is {condition.type}")
    then_branch = ctx.convert_subgraph(ctx.attr("then_branch"), body_inputs=[])
    else_branch = ctx.convert_subgraph(ctx.attr("else_branch"), body_inputs=[])
    then_outputs, else_outputs = then_branch.graph.outputs, else_branch.graph.outputs
    if not len(then_outputs) == len(else_outputs) == len(ctx.node.output):
        raise ctx.error(f"the branches have {len(then_outputs)} and {len(else_outputs)} outputs, "
                        f"the node {len(ctx.node.output)}")
    for index, (a, b) in enumerate(zip(then_outputs, else_outputs)):
        if a.type != b.type:
            raise ctx.unsupported(f"output {index} ({ctx.node.output[index]!r}) is {a.type} in then_branch and "
                                  f"{b.type} in else_branch: convrnn compiles Ifs whose branches agree on "
                                  "their outputs' shapes and types")
    return ctx.emit("If", [condition, *then_branch.captures, *else_branch.captures],
                    {"then_branch": then_branch.graph, "else_branch": else_branch.graph})


def _counter_type(info: onnx.ValueInfoProto, dtype: str) -> TensorType:
    # onnxruntime hands the body the iteration number and condition with the rank the body
    # declares for them (0 or 1); models rely on it (a [1] counter fed to Concat).
    shape = info.type.tensor_type.shape
    rank = len(shape.dim) if info.type.tensor_type.HasField("shape") else 0
    return TensorType((1,) if rank == 1 else (), dtype)


@converter("Loop", since=1)
def convert_loop(ctx):
    node, body = ctx.node, ctx.attr("body")
    carried = len(node.input) - 2
    if carried < 0:
        raise ctx.error("takes the max trip count and the condition (either may be empty), then the carried values")
    if len(body.input) != carried + 2:
        raise ctx.error(f"its body takes {len(body.input)} inputs, it must take {carried + 2} "
                        "(iteration number, condition, carried values)")
    scans = len(body.output) - 1 - carried
    if scans < 0:
        raise ctx.error(f"its body gives {len(body.output)} outputs, fewer than the condition and {carried} carried values")
    for index, dtype in ((0, "int64"), (1, "bool")):
        given = ctx.input(index)
        if given is not None and (given.type.dtype != dtype or given.type.symbols or given.type.num_elements() != 1):
            raise ctx.error(f"input {index} must hold one {dtype}, it is {given.type}")
    initial = [ctx.required_input(2 + k) for k in range(carried)]
    invariant = [body.output[1 + k].name == body.input[2 + k].name for k in range(carried)]
    entries = [_counter_type(body.input[0], "int64"), _counter_type(body.input[1], "bool")]
    entries += [value if same else value.type for value, same in zip(initial, invariant)]
    imported = ctx.convert_subgraph(body, body_inputs=entries)
    graph = imported.graph
    # A carried value the body passes on as it is, through ops that change nothing (Paddle's
    # assignments: Squeeze(Unsqueeze(x) + 0)), is invariant too: import the body again with it
    # read from outside, so that what depends on it only can leave the loop (hoist_loop_invariants).
    fresh = [k for k in range(carried) if not invariant[k]]
    unchanged = [k for position, k in enumerate(fresh) if graph.outputs[1 + k] is graph.inputs[2 + position]]
    if unchanged:
        invariant = [same or k in unchanged for k, same in enumerate(invariant)]
        entries = entries[:2] + [value if same else value.type for value, same in zip(initial, invariant)]
        imported = ctx.convert_subgraph(body, body_inputs=entries)
        graph = imported.graph
    condition, carried_out, scan_values = graph.outputs[0], graph.outputs[1:1 + carried], graph.outputs[1 + carried:]
    if condition.type.dtype != "bool" or not condition.type.is_static or condition.type.num_elements() != 1:
        raise ctx.error(f"its body's condition output must hold one bool, it is {condition.type}")
    varying = [k for k in range(carried) if not invariant[k]]
    for k in varying:
        before, after = initial[k].type, carried_out[k].type
        if before.dtype != after.dtype:
            raise ctx.error(f"carried value {k} ({node.input[2 + k]!r}) is {before} before the loop, "
                            f"its body makes it {after}")
        if before.shape != after.shape:
            raise ctx.unsupported(f"carried value {k} ({node.input[2 + k]!r}) is {before} before the loop and "
                                  f"{after} after an iteration: convrnn compiles loops whose carried values "
                                  "keep their shape from one iteration to the next")
    inner_lengths = _loop_lengths(graph)
    for index, value in enumerate(graph.outputs[1:]):
        if any(isinstance(d, str) and symbolic_dims.names_in(d) & inner_lengths for d in value.type.shape):
            raise ctx.unsupported(f"its body's output {index + 1} ({value.type}) has a length computed in the body "
                                  "(a loop's trip count, a run-time slice), which may change from one iteration to the next")
    if not varying and not scans:
        return list(initial)  # nothing changes: the loop computes nothing anyone can read
    graph = graph.replace(outputs=[condition, *(carried_out[k] for k in varying), *scan_values])
    names = list(node.output) + [""] * (carried + scans - len(node.output))
    trips = ctx.new_dim("trips")
    outputs = ctx.builder.emit(
        "Loop", [ctx.input(0), ctx.input(1), *(initial[k] for k in varying), *imported.captures],
        {"body": graph, "carried": len(varying), "trips": trips},
        hints=[names[k] for k in varying] + names[carried:], node_name=ctx.name)
    finals = iter(outputs[:len(varying)])
    return [next(finals) if k in varying else initial[k] for k in range(carried)] + outputs[len(varying):]


def _loop_lengths(graph) -> set[str]:
    """The dims a graph computes as it runs, at any depth: the trip counts of its loops and the
    dims its nodes bind (compiler/bound_dims.py)."""
    found = set()
    for node in graph.nodes:
        found.update(bound_dims(node))
        if node.op == "Loop":
            found.add(node.attrs["trips"])
        for value in node.attrs.values():
            if isinstance(value, Graph):
                found |= _loop_lengths(value)
    return found
