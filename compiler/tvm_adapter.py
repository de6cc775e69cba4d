"""The one place convrnn's compiler touches TVM's internal APIs (TVM 0.27).

TVM moved much between releases (tir -> tirx, schedules -> s_tir, string targets -> JSON);
when it moves again, this file is what changes. Op modules use TE and topi through the
names re-exported here, and everything else (schedules, building, exporting) through the
functions below.
"""
from __future__ import annotations

from typing import Any, Sequence

from convrnn.runtime.threads import set_default_threads

set_default_threads()  # before TVM starts its thread pool (runtime/threads.py)
import tvm  # noqa: E402
from tvm import te, topi, tirx  # noqa: F401  (re-exported for op modules)
from tvm.s_tir import Schedule  # noqa: F401

from convrnn.compiler.target import Target

PrimFunc = tvm.tirx.PrimFunc
ScheduleError = tvm.s_tir.ScheduleError


def host_cpu_name() -> str:
    return str(tvm.target.codegen.llvm_get_system_cpu())


def cpu_features(config: dict) -> frozenset[str]:
    """The LLVM features of an LLVM target's mcpu with its mattr applied."""
    return frozenset(tvm.target.codegen.llvm_get_cpu_features(tvm.target.Target(config)))


def tvm_target(target: Target) -> "tvm.target.Target":
    return tvm.target.Target(target.json)


def size_var(name: str) -> "tirx.Var":
    """A symbolic dimension (an int32 scalar bound from the buffer shapes at call time)."""
    return te.var(name, dtype="int32")


def create_prim_func(tensors: Sequence["te.Tensor"]) -> PrimFunc:
    return te.create_prim_func(list(tensors))


def new_schedule(func: PrimFunc) -> Schedule:
    return Schedule(func)


def blocks(sch: Schedule) -> list:
    """The top-level blocks of the schedule's function, in order."""
    return list(sch.get_child_blocks(sch.get_sblock("root")))


def block_name(sch: Schedule, block) -> str:
    return sch.get(block).name_hint


def block_iter_kinds(sch: Schedule, block) -> list[str]:
    """'S' for each data-parallel iterator of the block, 'R' for each reduction, 'O' otherwise."""
    kinds = []
    for iter_var in sch.get(block).iter_vars:
        kinds.append({0: "S", 2: "R"}.get(int(iter_var.iter_type), "O"))
    return kinds


def loop_extent(sch: Schedule, loop) -> "int | None":
    """The loop's extent when it is a compile-time constant, else None."""
    extent = sch.get(loop).extent
    return int(extent.value) if isinstance(extent, tvm.tirx.IntImm) else None


def is_output_block(sch: Schedule, block) -> bool:
    return bool(sch.get_consumers(block)) is False


def finish(sch: Schedule, name: str) -> PrimFunc:
    return sch.mod["main"].with_attr("global_symbol", name)


def build(functions: dict[str, PrimFunc], target: Target):
    """Compile all kernels of a model in one IRModule with one tvm.compile."""
    module = tvm.IRModule({name: func.with_attr("global_symbol", name) for name, func in functions.items()})
    return tvm.compile(module, target=tvm_target(target))


def time_kernel(executable: Any, name: str, args: Sequence[Any], repeat: int = 5, min_repeat_ms: int = 20) -> float:
    """Median seconds per call of kernel `name` (TVM's time evaluator: each of `repeat`
    measurements runs the kernel enough times to last `min_repeat_ms`)."""
    timer = executable.mod.time_evaluator(name, args[0].device, number=1, repeat=repeat, min_repeat_ms=min_repeat_ms)
    return float(timer(*args).median)


def time_kernel_cold(executable: Any, name: str, args: Sequence[Any], calls: int = 15) -> float:
    """Median seconds of single calls of kernel `name` with every argument but the first
    flushed from the CPU caches before each (TVM's cache_flush_cpu_non_first_arg): as in a
    model, where the input was just written by the kernel before and the weights are cold."""
    timer = executable.mod.time_evaluator(name, args[0].device, number=1, repeat=calls, min_repeat_ms=0,
                                          f_preproc="cache_flush_cpu_non_first_arg")
    return float(timer(*args).median)


def parse_primfunc(text: str) -> PrimFunc:
    """A PrimFunc from TVMScript source that refers to the TIR builder as `T`."""
    import tvm.script
    from tvm.script import tirx as T

    return tvm.script.from_source(text, extra_vars={"T": T})


def assembly(executable: Any) -> str:
    """The machine code of a freshly built CPU executable, as assembly text."""
    return executable.mod.inspect_source("asm")


def export_library(executable: Any, path: str) -> None:
    executable.export_library(path)


def script(func: PrimFunc) -> str:
    return func.script()


# TVM's default GPU rules (dlight), most specific first; Fallback binds any loop nest.
GPU_RULES = ("Matmul", "GEMV", "Reduction", "GeneralReduction", "Fallback")


def default_gpu_schedule(func: PrimFunc, target: Target) -> PrimFunc:
    """`func` scheduled by the first of TVM's default GPU rules (dlight) that takes it; they
    read the target's limits. A rule that matches and then fails (a matrix product whose
    epilogue it cannot inline) passes the kernel to the rules after it."""
    from tvm.s_tir import dlight as dl

    failure: Exception = ScheduleError("no GPU rule")
    for first in range(len(GPU_RULES)):
        rules = [getattr(dl.gpu, name)() for name in GPU_RULES[first:]]
        try:
            with tvm_target(target):
                return dl.ApplyDefaultSchedule(*rules)(tvm.IRModule({"main": func}))["main"]
        except (AssertionError, RuntimeError) as exc:  # (ScheduleError and TVM's internal errors are RuntimeErrors)
            failure = exc
    raise failure


def device_source(executable: Any) -> str:
    """The device code (CUDA C, OpenCL C) of an executable built for a GPU target."""
    return "\n".join(module.inspect_source() for module in executable.mod.imports)
