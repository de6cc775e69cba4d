"""Build and time one candidate of a task: the kernel alone, on random data, on this machine,
its weights and outputs flushed from the caches before each call as a model's are.

Symbolic dims are measured at the sizes the user gives (`dims`), 1 for the rest (batch 1,
the latency case); derived dims follow from them.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from convrnn.compiler import tvm_adapter as tvm_
from convrnn.compiler.lower import lower_node
from convrnn.compiler.target import Target
from convrnn.compiler.tuning.tasks import Task, with_knobs
from convrnn.runtime.dims import formula, names_in

KERNEL = "candidate"


def build_candidate(task: Task, knobs: dict[str, Any], target: Target) -> Any:
    """The compiled kernel for `knobs` (raises what lowering or TVM raise for a bad candidate)."""
    return tvm_.build({KERNEL: lower_node(with_knobs(task.node, knobs), target)}, target)


def concrete_dims(task: Task, dims: dict[str, int]) -> dict[str, int]:
    names = {d for v in (*task.node.inputs, *task.node.outputs) if v is not None for d in v.type.symbols}
    bound = {name: dims.get(name, 1) for name in names if name.isidentifier()}
    for name in names - bound.keys():
        bound.update({base: dims.get(base, 1) for base in names_in(name) if base not in bound})
        bound[name] = formula(name)(bound)
    return bound


def kernel_arguments(task: Task, dims: dict[str, int], device: Any) -> list:
    """Random input tensors and empty outputs, in the kernel's argument order."""
    from convrnn.runtime import tvm_runtime

    rng = np.random.default_rng(0)
    bound = concrete_dims(task, dims)
    args = []
    for index, value in enumerate((*task.node.inputs, *task.node.outputs)):
        if value is None:
            continue
        shape = [bound[d] if isinstance(d, str) else d for d in value.type.shape]
        if index < len(task.node.inputs):
            array = rng.standard_normal(shape).astype(value.type.dtype) if value.type.dtype.startswith("float") \
                else np.zeros(shape, value.type.dtype)
            args.append(tvm_runtime.upload(array, device))
        else:
            args.append(tvm_runtime.empty(shape, value.type.dtype, device))
    return args


def time_candidate(executable: Any, args: list) -> float:
    """Median milliseconds of single calls with cold weights (database.MEASURE): timed warm,
    the tuner chose kernels that ran slower in the model than its defaults."""
    return 1e3 * tvm_.time_kernel_cold(executable, KERNEL, args)
