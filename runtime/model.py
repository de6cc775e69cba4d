"""A loaded artifact: validates inputs, binds symbolic dims, runs the kernel calls in order.

Memory follows the static plan: one allocation per storage slot, sized for the bound dims
and reused for every run with the same dims; tensors are views into the slots. The
allocations of the last few distinct input shapes are kept (a sequence model sees a new
length per call: keeping all would grow without bound).
"""
from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from convrnn.runtime import tvm_runtime
from convrnn.runtime.artifact import LIBRARY_FILE, read_constants, read_plan
from convrnn.runtime.cpu_flags import host_cpu_flags
from convrnn.runtime.dims import formula, is_derived, names_in
from convrnn.runtime.element_types import as_element_type, as_storage
from convrnn.runtime.errors import ArtifactError, InputError
from convrnn.runtime.program import Program, ProgramState

# Bindings (allocations for one set of input shapes) kept per model: the most recently used.
KEPT_BINDINGS = 4


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: tuple  # ints and symbolic dim names
    dtype: str

    def __str__(self) -> str:
        return f"{self.name}: {self.dtype}[{','.join(str(d) for d in self.shape)}]"


@dataclass(frozen=True)
class CallTiming:
    """One kernel call of `CompiledModel.time_calls`: its node and kernel, its arguments'
    (shape, dtype) (inputs, then outputs) and its seconds in each repeat."""
    node: str
    kernel: str
    arguments: tuple
    seconds: tuple


class _Binding:
    """Everything allocated for one assignment of the symbolic dims."""

    def __init__(self, model: "CompiledModel", dims: dict[str, int]):
        plan = model.plan
        tensors = plan["tensors"]

        def concrete(shape):
            return [dims[d] if isinstance(d, str) else d for d in shape]

        def nbytes(name):
            spec = tensors[name]
            return int(np.prod(concrete(spec["shape"]), dtype=np.int64)) * np.dtype(spec["dtype"]).itemsize

        slots = [tvm_runtime.empty((max(1, max(nbytes(n) for n in names)),), "uint8", model.device)
                 for names in plan["slots"]]
        self.slots = slots
        # a model with Loops or Ifs runs its program (runtime/program.py), which makes its tensors
        self.program = ProgramState(model.program, model, dims, slots) if model.program is not None else None
        if self.program is not None:
            tensors = {name: spec for name, spec in tensors.items() if name not in model.program.volatile}
        self.tensors: dict[str, Any] = {}
        for name, spec in tensors.items():
            if self.program is not None:
                self.tensors[name] = self.program.root.tensor(name)
                continue
            if "constant" in spec:
                self.tensors[name] = model.constants[spec["constant"]]
            elif "slot" in spec:
                self.tensors[name] = tvm_runtime.view(slots[spec["slot"]], concrete(spec["shape"]), spec["dtype"])
        for name, spec in tensors.items():  # views are listed after their bases are bound
            if "view_of" in spec and self.program is None:
                self.tensors[name] = tvm_runtime.view(self.tensors[spec["view_of"]], concrete(spec["shape"]), spec["dtype"])
        self.calls = [(model.kernels[call["kernel"]], [self.tensors[a] for a in call["args"]], call["node"])
                      for call in plan["calls"]]
        self.slots = slots
        self.executor_args = ([self.tensors[name] for name in model.plan["executor"]["args"]]
                              if model.executor is not None else None)
        # numpy views of the host tensors the caller's arrays go into and come out of
        self.input_views = [tvm_runtime.host_view(self.tensors[spec.name]) for spec in model.inputs]
        self.output_views = ([tvm_runtime.host_view(self.tensors[spec.name]) for spec in model.outputs]
                             if self.program is None else None)  # a program's outputs may have run-time dims


class CompiledModel:
    def __init__(self, path: "str | os.PathLike", device: Optional[str] = None, flush_denormals: bool = True):
        self.path = Path(path)
        self.plan = plan = read_plan(self.path)
        built_for = plan["device"]
        if device is not None and device != built_for:
            raise ArtifactError(f"{self.path} was compiled for {built_for} (target {plan['target']}), "
                                f"not for {device}: recompile it with --target {device}")
        _check_cpu_flags(self.path, plan)
        self.device = tvm_runtime.device(built_for)
        try:
            library = tvm_runtime.load_library(str(self.path / LIBRARY_FILE))
            self.kernels = {name: tvm_runtime.get_function(library, name) for name in plan["kernels"]}
            # one call runs every kernel (compiler/executor.py); older artifacts have none
            self.executor = (tvm_runtime.get_function(library, plan["executor"]["kernel"])
                             if "executor" in plan else None)
            self.program = Program(plan, library, self.kernels) if "program" in plan else None
            # flush denormals to zero while the kernels run (compiler/float_mode.py)
            mode = plan.get("float_mode") if flush_denormals else None
            self._float_mode = ((tvm_runtime.get_function(library, mode["enter"]),
                                 tvm_runtime.get_function(library, mode["leave"])) if mode else None)
        except Exception as exc:  # TVM raises its own error types for unloadable libraries
            raise ArtifactError(f"{self.path / LIBRARY_FILE} cannot be loaded: {exc}") from None
        self._library = library
        arrays = read_constants(self.path)
        try:
            self.constants = {key: tvm_runtime.upload(arrays[key], self.device)
                              for key in {spec["constant"] for spec in plan["tensors"].values() if "constant" in spec}}
        except KeyError as exc:
            raise ArtifactError(f"{self.path} is missing weight {exc}") from None
        self.inputs = [TensorSpec(i["name"], tuple(i["shape"]), i["dtype"]) for i in plan["inputs"]]
        self.outputs = [TensorSpec(o["name"], tuple(o["shape"]), o["dtype"]) for o in plan["outputs"]]
        self._derived = self._derived_dims()
        # dims the model requires to equal a constant (compiler: Graph.dim_checks)
        self._dim_checks = [(str(f), v if isinstance(v, str) else int(v)) for f, v in plan.get("dim_checks", [])]
        # input (shape, dtype)s -> their binding, least recently used first
        self._bindings: "OrderedDict[tuple, _Binding]" = OrderedDict()
        self._float_states = threading.local()  # each calling thread's saved float mode

    @property
    def flushes_denormals(self) -> bool:
        """Whether runs flush denormal floats to zero (x86 artifacts, unless load() was told not to)."""
        return self._float_mode is not None

    def _enter_float_mode(self) -> Any:
        """Set the kernels' float mode on this thread and TVM's pool; the state to leave it with."""
        if self._float_mode is None:
            return None
        state = getattr(self._float_states, "state", None)
        if state is None:
            state = self._float_states.state = tvm_runtime.empty((2,), "int32", self.device)
        self._float_mode[0](state)
        return state

    def _leave_float_mode(self, state: Any) -> None:
        """Give this thread back the float mode it had before _enter_float_mode."""
        if state is not None:
            self._float_mode[1](state)

    def _derived_dims(self) -> list[str]:
        """The formula dims of the plan, checked to depend only on the inputs' dims."""
        named = {d for spec in self.inputs for d in spec.shape if isinstance(d, str)}
        known_later = set(self.plan.get("runtime_dims", []))  # a loop's trip count (runtime/program.py)
        derived = sorted({d for spec in self.plan["tensors"].values() for d in spec["shape"]
                          if isinstance(d, str) and is_derived(d) and not names_in(d) & known_later})
        for dim in derived:
            try:
                formula(dim)
                unknown = names_in(dim) - named
            except ValueError as exc:
                raise ArtifactError(f"{self.path}: {exc}") from None
            if unknown:
                raise ArtifactError(f"{self.path}: dim {dim!r} depends on {', '.join(sorted(unknown))}, "
                                    "which no input has")
        return derived

    # --- inputs -----------------------------------------------------------------------------
    def _gather_inputs(self, args: Sequence[Any], kwargs: dict[str, Any]) -> list[np.ndarray]:
        if len(args) == 1 and isinstance(args[0], Mapping):  # run({"input": x}), as onnxruntime's feeds
            if kwargs:
                raise InputError("give the inputs either as one mapping or by name, not both")
            args, kwargs = (), dict(args[0])
        known = {spec.name for spec in self.inputs}
        if len(args) > len(self.inputs):
            raise InputError(f"got {len(args)} positional inputs, the model takes {len(self.inputs)} "
                             f"({self._describe_inputs()})")
        for name in kwargs:
            if name not in known:
                raise InputError(f"unknown input {name!r}; the model's inputs are {self._describe_inputs()}")
        given: dict[str, Any] = dict(zip((spec.name for spec in self.inputs), args))
        for name, value in kwargs.items():
            if name in given:
                raise InputError(f"input {name!r} given both by position and by name")
            given[name] = value
        missing = [spec.name for spec in self.inputs if spec.name not in given]
        if missing:
            raise InputError(f"missing input{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}; "
                             f"the model's inputs are {self._describe_inputs()}")
        return [given[spec.name] for spec in self.inputs]

    def _describe_inputs(self) -> str:
        return ", ".join(str(spec) for spec in self.inputs)

    def _bind_dims(self, arrays: list[np.ndarray]) -> dict[str, int]:
        dims: dict[str, int] = {}
        for spec, array in zip(self.inputs, arrays):
            if str(array.dtype) != spec.dtype:
                raise InputError(f"input {spec.name!r} has dtype {array.dtype}, expected {spec.dtype} ({spec})")
            if array.ndim != len(spec.shape):
                raise InputError(f"input {spec.name!r} has rank {array.ndim} (shape {list(array.shape)}), "
                                 f"expected rank {len(spec.shape)} ({spec})")
            for axis, (want, got) in enumerate(zip(spec.shape, array.shape)):
                if isinstance(want, int):
                    if want != got:
                        raise InputError(f"input {spec.name!r} has shape {list(array.shape)}, expected "
                                         f"{list(spec.shape)}: axis {axis} must be {want}")
                elif got < 1:
                    raise InputError(f"input {spec.name!r} axis {axis} ({want}) must be at least 1, got {got}")
                elif dims.setdefault(want, got) != got:
                    raise InputError(f"input {spec.name!r} axis {axis} is {got}, but dim {want!r} "
                                     f"is {dims[want]} in another input")
        for dim in self._derived:  # e.g. a time axis after a pool: it must not vanish
            value = dims[dim] = formula(dim)(dims)
            if value < 1:
                given = ", ".join(f"{name}={dims[name]}" for name in sorted(names_in(dim)))
                raise InputError(f"the inputs' {given} is too short for this model: a layer's output "
                                 f"length {dim} would be {value}")
        for dim, wanted in self._dim_checks:
            value = formula(dim)(dims)
            target = wanted if isinstance(wanted, int) else formula(wanted)(dims)
            if value != target:
                names = names_in(dim) | (names_in(wanted) if isinstance(wanted, str) else set())
                given = ", ".join(f"{name}={dims[name]}" for name in sorted(names))
                raise InputError(f"the inputs' {given} do not fit this model: it needs {dim} to be "
                                 f"{wanted}" + (f" ({target})" if target != wanted else "") + f", not {value}")
        return dims

    # --- running ------------------------------------------------------------------------------
    def run(self, *args: Any, **kwargs: Any) -> list[np.ndarray]:
        """Run the model on numpy arrays given by position, by name, or as one mapping of names
        to arrays; returns its outputs in order."""
        binding = self._prepare(args, kwargs)
        state = self._enter_float_mode()
        try:
            self._run_binding(binding)
        finally:
            self._leave_float_mode(state)
        if binding.program is not None:
            outputs = binding.program.outputs([spec.name for spec in self.outputs])
            return [as_element_type(array, spec.dtype) for array, spec in zip(outputs, self.outputs)]
        return [as_element_type(view.copy() if view is not None else tvm_runtime.download(binding.tensors[spec.name]),
                                spec.dtype)
                for spec, view in zip(self.outputs, binding.output_views)]

    def _run_binding(self, binding: "_Binding") -> None:
        if binding.program is not None:
            binding.program.run()
        elif binding.executor_args is None:
            self._run_calls(binding)
        else:
            try:
                self.executor(*binding.executor_args)
            except Exception as exc:  # a kernel's run-time check failed: say which node's
                self._run_calls(binding)
                raise InputError(f"the model rejected its inputs: {_last_line(exc)}") from None

    def _prepare(self, args: Sequence[Any], kwargs: dict[str, Any]) -> "_Binding":
        """The binding for these inputs, with the inputs copied in."""
        arrays = [value if isinstance(value, np.ndarray) else np.asarray(value)
                  for value in self._gather_inputs(args, kwargs)]
        key = tuple((array.shape, array.dtype) for array in arrays)  # they decide every check below
        binding = self._bindings.get(key)
        if binding is None:
            binding = self._bindings[key] = _Binding(self, self._bind_dims(arrays))
            if len(self._bindings) > KEPT_BINDINGS:
                self._bindings.popitem(last=False)
        else:
            self._bindings.move_to_end(key)
        for spec, view, array in zip(self.inputs, binding.input_views, arrays):
            if view is not None:
                np.copyto(view, as_storage(array))  # a bfloat16/float8/... array as its bits
            else:
                tvm_runtime.copy_into(binding.tensors[spec.name], array)
        return binding

    def _run_calls(self, binding: "_Binding") -> None:
        """The kernels one by one from Python, naming the node whose checks fail."""
        for kernel, arguments, node in binding.calls:
            try:
                kernel(*arguments)
            except Exception as exc:  # TVM raises its own types for a kernel's run-time checks
                raise InputError(f"node {node!r} rejected its inputs: {_last_line(exc)}") from None

    def time_calls(self, inputs: Mapping[str, Any], repeats: int = 10) -> list[CallTiming]:
        """Run the model on `inputs` (names to arrays) once untimed, then `repeats` times
        kernel by kernel from Python (not through the executor), timing each call; one entry
        per kernel call, in order."""
        binding = self._prepare((inputs,), {})
        # a GPU kernel call only launches it: wait for it to finish (a CPU call returns when done)
        wait = self.device.sync if self.plan["device"] != "cpu" else (lambda: None)
        seconds: list[list[float]] = [[] for _ in binding.calls]
        clock = time.perf_counter
        state = self._enter_float_mode()
        try:
            self._run_calls(binding)  # warms the caches and checks the inputs, naming a failing node
            for _ in range(repeats):
                for times, (kernel, arguments, _) in zip(seconds, binding.calls):
                    start = clock()
                    kernel(*arguments)
                    wait()
                    times.append(clock() - start)
        finally:
            self._leave_float_mode(state)
        return [CallTiming(node, call["kernel"], tuple((tuple(int(d) for d in a.shape), str(a.dtype))
                                                       for a in arguments), tuple(times))
                for (_, arguments, node), call, times in zip(binding.calls, self.plan["calls"], seconds)]

    def run_dict(self, *args: Any, **kwargs: Any) -> dict[str, np.ndarray]:
        """Like run(), with the outputs keyed by name."""
        return dict(zip((spec.name for spec in self.outputs), self.run(*args, **kwargs)))

    def __repr__(self) -> str:
        return (f"CompiledModel({str(self.path)!r}, inputs=[{', '.join(map(str, self.inputs))}], "
                f"outputs=[{', '.join(map(str, self.outputs))}])")


def _check_cpu_flags(path: Path, plan: dict[str, Any]) -> None:
    """Refuse kernels that use CPU features this host lacks (they would die on an illegal
    instruction), where the system reports its CPU's flags."""
    flags = host_cpu_flags()
    if flags is None:
        return
    missing = [flag for flag in plan.get("cpu_flags", []) if flag not in flags]
    if missing:
        raise ArtifactError(f"{path} was compiled for a CPU with {', '.join(missing)}, which this CPU lacks "
                            f"(target {plan['target']}): compile the model on this machine, or for its CPU")


def _last_line(exc: Exception) -> str:
    message = str(exc).strip().splitlines()
    return message[-1] if message else type(exc).__name__


def load(path: "str | os.PathLike", device: Optional[str] = None, flush_denormals: bool = True) -> CompiledModel:
    """Load a compiled artifact. device: 'cpu' or 'cuda' (default: what it was compiled for).
    flush_denormals: on x86 the kernels treat floats below 1.2e-38 as zero, which keeps them
    from running tens of times slower on such inputs (as onnxruntime's and OpenVINO's denormal
    options, torch.set_flush_denormal); False runs them in the caller's mode. The caller's
    thread gets its own mode back after every run."""
    return CompiledModel(path, device, flush_denormals)
