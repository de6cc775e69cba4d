"""The compiler driver: ONNX model -> artifact directory.

import -> pass pipeline -> lowering -> one tvm.compile -> memory plan -> artifact.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from convrnn.compiler import control_flow, executor, float_mode
from convrnn.compiler import tvm_adapter as tvm_
from convrnn.compiler.errors import TuningError
from convrnn.compiler.ir import Dim, Graph
from convrnn.compiler.lower import KernelCall, lower_graph
from convrnn.compiler.memory_plan import MemoryPlan, plan_memory
from convrnn.compiler.passes import run_pipeline
from convrnn.compiler.target import Target, parse_target
from convrnn.compiler.tuning.apply import apply_tuning
from convrnn.compiler.tuning.database import TuningDatabase
from convrnn.frontend import import_onnx
from convrnn.frontend.importer import ModelSource
from convrnn.runtime.artifact import write_artifact


@dataclass
class Compiled:
    graph: Graph
    calls: list[KernelCall]
    memory: MemoryPlan
    functions: dict[str, Any]
    target: Target
    executor_args: Optional[list[str]] = None  # the executor kernel's tensors (compiler/executor.py)
    program: Optional[control_flow.Block] = None  # a graph holding Loops or Ifs (compiler/control_flow.py)
    float_mode: bool = False  # the library has compiler/float_mode.py's functions


def compile_graph(graph: Graph, target: Target, tuning: Optional[TuningDatabase] = None) -> tuple[Compiled, Any]:
    # Tests set CONVRNN_VERIFY=1 to check the graph's invariants after every pass.
    verify = os.environ.get("CONVRNN_VERIFY") == "1"
    graph = run_pipeline(graph, target, verify=verify)
    graph = control_flow.optimize_subgraphs(graph, lambda body: run_pipeline(body, target, verify=verify))
    if tuning is not None:
        graph = apply_tuning(graph, tuning, target)
        graph = control_flow.optimize_subgraphs(graph, lambda body: apply_tuning(body, tuning, target))
    if control_flow.needs_program(graph):
        return _compile_program(graph, target)
    functions, calls = lower_graph(graph, target)
    kernels = dict(functions)
    executor_args = None
    if target.kind == "llvm" and functions:
        arguments = executor.executor_arguments(calls)
        kernels[executor.NAME] = executor.executor_primfunc(calls, arguments)
        executor_args = [value.name for value in arguments]
    flushes = _add_float_mode_functions(kernels, target, calls) if functions else False
    executable = tvm_.build(kernels, target)  # may be empty: a model of views and copies only
    return Compiled(graph, calls, plan_memory(graph, calls), functions, target, executor_args,
                    float_mode=flushes), executable


def _add_float_mode_functions(kernels: dict[str, Any], target: Target, calls: list[KernelCall]) -> bool:
    """Add compiler/float_mode.py's functions for these kernel calls where they apply; whether they did."""
    functions = float_mode.float_mode_functions(target, (c.node for c in calls if c.kernel is not None))
    kernels.update(functions)
    return bool(functions)


def _compile_program(graph: Graph, target: Target) -> tuple[Compiled, Any]:
    functions, root = control_flow.lower_program(graph, target)
    kernels = dict(functions)
    if target.kind == "llvm":
        control_flow.add_executors(root, kernels)
    calls = [call for segment in control_flow.segments(root) for call in segment]
    flushes = _add_float_mode_functions(kernels, target, control_flow.all_calls(root))
    compiled = Compiled(graph, calls, root.memory, functions, target, program=root, float_mode=flushes)
    return compiled, tvm_.build(kernels, target)


def make_plan(compiled: Compiled) -> tuple[dict[str, Any], dict[str, Any]]:
    """plan.json's content and the constants to store, keyed as the plan names them."""
    if compiled.program is not None:
        return _program_plan(compiled)
    graph, memory = compiled.graph, compiled.memory
    tensors: dict[str, dict[str, Any]] = {}
    constants = {}

    def describe(value) -> dict[str, Any]:
        return {"shape": list(value.type.shape), "dtype": value.type.dtype}

    for value in graph.inputs:
        tensors[value.name] = dict(describe(value), slot=memory.slot_of[value.name])
    used_constants = {id(v) for call in compiled.calls for v in call.node.inputs if v is not None}
    for name, value in graph.constant_values.items():
        if id(value) in used_constants:
            key = f"c{len(constants)}"
            constants[key] = graph.constants[name]
            tensors[name] = dict(describe(value), constant=key)
    for call in compiled.calls:
        for value in call.node.outputs:
            if value.name in memory.view_of:
                tensors[value.name] = dict(describe(value), view_of=memory.view_of[value.name])
            else:
                tensors[value.name] = dict(describe(value), slot=memory.slot_of[value.name])
    plan = {
        "target": compiled.target.json,
        "device": compiled.target.device_type,
        "inputs": [dict(describe(v), name=v.name) for v in graph.inputs],
        "outputs": [dict(describe(v), name=v.name) for v in graph.outputs],
        "tensors": tensors,
        "slots": memory.slot_tensors,
        "kernels": sorted(compiled.functions),
        "calls": [{"kernel": c.kernel, "node": c.node.name,
                   "args": [v.name for v in c.node.inputs if v is not None] + [v.name for v in c.node.outputs]}
                  for c in compiled.calls if c.kernel is not None],
        "peak_activation_bytes": memory.peak_bytes,
        "dim_checks": [[formula, value] for formula, value in graph.dim_checks],
    }
    if compiled.executor_args is not None:
        plan["executor"] = {"kernel": executor.NAME, "args": compiled.executor_args}
    _add_float_mode(plan, compiled)
    _add_cpu_flags(plan, compiled)
    return plan, constants


def _add_cpu_flags(plan: dict[str, Any], compiled: Compiled) -> None:
    """The CPU features the kernels may use: the runtime refuses a host without them."""
    plan["cpu_flags"] = compiled.target.required_cpu_flags()


def _add_float_mode(plan: dict[str, Any], compiled: Compiled) -> None:
    if compiled.float_mode:
        plan["float_mode"] = {"enter": float_mode.ENTER, "leave": float_mode.LEAVE}


def _program_plan(compiled: Compiled) -> tuple[dict[str, Any], dict[str, Any]]:
    """The plan of a graph holding control flow: its steps run by runtime/program.py; its
    top-level kernel calls are listed as `calls` too (the top block's, in order)."""
    graph = compiled.graph
    entries, constants = control_flow.program_plan(compiled.program, compiled.target.kind == "llvm")
    plan = {
        "target": compiled.target.json,
        "device": compiled.target.device_type,
        "inputs": [dict(control_flow.describe(v), name=v.name) for v in graph.inputs],
        "outputs": [dict(control_flow.describe(v), name=v.name) for v in graph.outputs],
        **entries,
        "kernels": sorted(compiled.functions),
        "peak_activation_bytes": control_flow.peak_bytes(compiled.program),
        "dim_checks": [[formula, value] for formula, value in graph.dim_checks],
    }
    _add_float_mode(plan, compiled)
    _add_cpu_flags(plan, compiled)
    return plan, constants


def compile_model(model: ModelSource, output: "str | os.PathLike", target: "str | dict | Target | None" = "cpu",
                  input_shapes: Optional[dict[str, list[Dim]]] = None,
                  db: "str | os.PathLike | TuningDatabase | None" = None) -> Path:
    """Compile an ONNX model (path, bytes or ModelProto) into an artifact directory at `output`;
    with `db` (a tuning database written by `convrnn tune`), each kernel takes the knobs of
    its fastest record for this target, and the others their defaults."""
    target = parse_target(target)
    tuning = db if isinstance(db, TuningDatabase) or db is None else open_tuning_database(db)
    graph = import_onnx(model, input_shapes)
    compiled, executable = compile_graph(graph, target, tuning)
    plan, constants = make_plan(compiled)

    return write_artifact(output, plan, constants, lambda path: tvm_.export_library(executable, path))


def open_tuning_database(path: "str | os.PathLike") -> TuningDatabase:
    """A database that must exist (a mistyped --db would otherwise compile untuned, silently);
    its unreadable lines are reported on stderr and skipped."""
    if not Path(path).is_file():
        raise TuningError(f"no tuning database at {path} (write one with `convrnn tune`)")
    db = TuningDatabase.open(path)
    for problem in db.problems:
        print(f"convrnn: warning: {problem}", file=sys.stderr)
    return db
