"""Running a model with control flow: plan["program"], written by compiler/control_flow.py.

A block is a list of steps: runs of kernel calls (one executor call each where the artifact
has executors), Loops, Ifs, and binds (run-time dims read from a tensor a kernel has just
written: compiler/bound_dims.py). A Loop runs from here, one body run (one FFI call) per
iteration: odd iterations see the body's carried inputs and outputs with their slots swapped
(two environments, built once per binding), the condition is read from its host tensor after
each iteration, and scan stacks grow by doubling when the trip count outruns them. An If
reads its condition, runs the taken branch and copies the branch's outputs into its own.

Tensors are made lazily per environment. One whose shape holds a run-time dim (a loop's trip
count, its stacks' capacity) has storage of its own, made once the dim is known and remade
when it changes; the kernel argument lists holding such tensors are rebuilt then.
"""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from convrnn.runtime import tvm_runtime
from convrnn.runtime.dims import formula, names_in
from convrnn.runtime.errors import ArtifactError, InputError

# A stack's first capacity when the loop has no max trip count, or one above this.
FIRST_CAPACITY = 64
LARGEST_FIRST_CAPACITY = 4096


def _steps(block: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every step of a block and of the blocks inside it."""
    for step in block["steps"]:
        yield step
        if "loop" in step:
            yield from _steps(step["loop"]["body"])
        if "if" in step:
            yield from _steps(step["if"]["then"])
            yield from _steps(step["if"]["else"])


class Program:
    """What every binding of a model shares: the plan's program and its functions."""

    def __init__(self, plan: dict[str, Any], library: Any, kernels: dict[str, Any]):
        self.block = plan["program"]
        self.specs = plan["tensors"]
        self.runtime_dims = set(plan.get("runtime_dims", []))
        self.functions = dict(kernels)
        for step in _steps(self.block):
            if "executor" in step:
                name = step["executor"]["kernel"]
                self.functions[name] = tvm_runtime.get_function(library, name)
        self._check()
        self.volatile = self._volatile_tensors()

    def _volatile_tensors(self) -> set[str]:
        """The tensors made anew when a run-time dim changes."""
        volatile = set()

        def depends(name: str) -> bool:
            if name in volatile:
                return True
            spec = self.specs[name]
            base = spec.get("view_of") or spec.get("alias_of")
            dims = {n for d in spec["shape"] if isinstance(d, str) for n in names_in(d)}
            if spec.get("dynamic") or dims & self.runtime_dims or (base is not None and depends(base)):
                volatile.add(name)
                return True
            return False

        for name in self.specs:
            depends(name)
        return volatile

    def _check(self) -> None:
        for name, spec in self.specs.items():
            for key in ("view_of", "alias_of"):
                if key in spec and spec[key] not in self.specs:
                    raise ArtifactError(f"plan tensor {name!r} refers to {spec[key]!r}, which the plan lacks")


class Environment:
    """The tensors as one block sees them; `swaps` maps a slot to the slot read instead."""

    def __init__(self, state: "ProgramState", swaps: dict[int, int]):
        self.state = state
        self.swaps = swaps
        self.cache: dict[str, Any] = {}
        self.arguments: dict[int, tuple] = {}  # id(step) -> (executor, its args, calls)
        self.children: dict[tuple, "Environment"] = {}

    def tensor(self, name: str) -> Any:
        tensor = self.cache.get(name)
        if tensor is None:
            tensor = self.cache[name] = self.state.make(name, self)
        return tensor

    def body(self, loop: dict[str, Any], parity: int) -> "Environment":
        """The environment of the loop's body on even (0) or odd (1) iterations."""
        key = (id(loop), parity)
        child = self.children.get(key)
        if child is None:
            swaps = dict(self.swaps)
            if parity:
                specs = self.state.program.specs
                for a, b in zip(loop["carried_in"], loop["carried_out"]):
                    slot_a, slot_b = specs[a]["slot"], specs[b]["slot"]
                    swaps[slot_a], swaps[slot_b] = self.swaps.get(slot_b, slot_b), self.swaps.get(slot_a, slot_a)
            child = self.children[key] = Environment(self.state, swaps)
        return child

    def forget_volatile(self) -> None:
        volatile = self.state.program.volatile
        for name in volatile & set(self.cache):
            del self.cache[name]
        self.arguments.clear()
        for child in self.children.values():
            child.forget_volatile()


class ProgramState:
    """One binding's run of the program: its slots, run-time dims and environments."""

    def __init__(self, program: Program, model: Any, dims: dict[str, int], slots: list[Any]):
        self.program = program
        self.model = model
        self.dims = dict(dims)
        self.slots = slots
        self.storage: dict[str, Any] = {}  # tensor with a run-time dim -> its own allocation
        self.root = Environment(self, {})

    # --- tensors ----------------------------------------------------------------------------
    def concrete(self, shape: list) -> list[int]:
        return [d if isinstance(d, int) else self.dims[d] if d in self.dims else formula(d)(self.dims)
                for d in shape]

    def nbytes(self, spec: dict[str, Any]) -> int:
        return int(np.prod(self.concrete(spec["shape"]), dtype=np.int64)) * np.dtype(spec["dtype"]).itemsize

    def make(self, name: str, env: Environment) -> Any:
        spec = self.program.specs[name]
        if "constant" in spec:
            return self.model.constants[spec["constant"]]
        if "alias_of" in spec:
            return env.tensor(spec["alias_of"])
        shape = self.concrete(spec["shape"])
        if "slot" in spec:
            return tvm_runtime.view(self.slots[env.swaps.get(spec["slot"], spec["slot"])], shape, spec["dtype"])
        if "view_of" in spec:
            return tvm_runtime.view(env.tensor(spec["view_of"]), shape, spec["dtype"])
        needed = max(1, self.nbytes(spec))
        storage = self.storage.get(name)
        if storage is None or storage.shape[0] < needed:
            storage = self.storage[name] = tvm_runtime.empty((needed,), "uint8", self.model.device)
        return tvm_runtime.view(storage, shape, spec["dtype"])

    def set_dims(self, dims: dict[str, int]) -> None:
        if any(self.dims.get(name) != value for name, value in dims.items()):
            self.dims.update(dims)
            self.root.forget_volatile()

    # --- running ------------------------------------------------------------------------------
    def run(self) -> None:
        self.run_block(self.program.block, self.root)

    def outputs(self, names: list[str]) -> list[np.ndarray]:
        arrays = []
        for name in names:
            tensor = self.root.tensor(name)
            view = tvm_runtime.host_view(tensor)
            arrays.append(view.copy() if view is not None else tvm_runtime.download(tensor))
        return arrays

    def run_block(self, block: dict[str, Any], env: Environment) -> None:
        for step in block["steps"]:
            if "calls" in step:
                self.run_calls(step, env)
            elif "loop" in step:
                self.run_loop(step["loop"], env)
            elif "bind" in step:
                self.run_bind(step["bind"], env)
            else:
                self.run_if(step["if"], env)

    def run_calls(self, step: dict[str, Any], env: Environment) -> None:
        prepared = env.arguments.get(id(step))
        if prepared is None:
            prepared = env.arguments[id(step)] = self._prepare(step, env)
        executor, arguments, calls = prepared
        if executor is not None:
            try:
                executor(*arguments)
                return
            except Exception as exc:  # a kernel's run-time check failed: say which node's
                self._one_by_one(calls)
                raise InputError(f"the model rejected its inputs: {_last_line(exc)}") from None
        self._one_by_one(calls)

    def _prepare(self, step: dict[str, Any], env: Environment) -> tuple:
        functions = self.program.functions
        calls = [(functions[c["kernel"]], [env.tensor(a) for a in c["args"]], c["node"]) for c in step["calls"]]
        if "executor" not in step:
            return None, None, calls
        spec = step["executor"]
        return functions[spec["kernel"]], [env.tensor(a) for a in spec["args"]], calls

    @staticmethod
    def _one_by_one(calls: list[tuple]) -> None:
        for kernel, arguments, node in calls:
            try:
                kernel(*arguments)
            except Exception as exc:  # TVM raises its own types for a kernel's run-time checks
                raise InputError(f"node {node!r} rejected its inputs: {_last_line(exc)}") from None

    def run_loop(self, loop: dict[str, Any], env: Environment) -> None:
        max_trips = int(_read(env.tensor(loop["max_trips"]))) if loop["max_trips"] else None
        going = bool(_read(env.tensor(loop["condition"]))) if loop["condition"] else True
        scans = loop["scans"]
        capacity = 0
        if scans:
            capacity = (max_trips if max_trips is not None and max_trips <= LARGEST_FIRST_CAPACITY
                        else FIRST_CAPACITY)
            self.set_dims({loop["capacity"]: max(1, capacity)})
        envs = (env.body(loop, 0), env.body(loop, 1))
        even = envs[0]
        _write(even.tensor(loop["carried_in"][0]), going)
        for inner, initial in zip(loop["carried_in"][1:], loop["initial"]):
            even.tensor(inner).copyfrom(env.tensor(initial))
        iteration = _Writer(even.tensor(loop["iteration"]))
        conditions = [_Reader(e.tensor(loop["carried_out"][0])) for e in envs]
        body = loop["body"]
        trips = 0
        while going and (max_trips is None or trips < max_trips):
            if scans and trips == capacity:
                capacity = self._grow_stacks(loop, trips, 2 * capacity)
                iteration = _Writer(even.tensor(loop["iteration"]))
            iteration(trips)
            self.run_block(body, envs[trips & 1])
            going = bool(conditions[trips & 1]())
            trips += 1
        last = envs[trips & 1]  # the carried inputs the next iteration would read
        for final, inner in zip(loop["final"], loop["carried_in"][1:]):
            env.tensor(final).copyfrom(last.tensor(inner))
        if scans:
            self.set_dims({loop["trips"]: trips})

    def _grow_stacks(self, loop: dict[str, Any], rows: int, capacity: int) -> int:
        """Stacks of `capacity` rows holding the first `rows` rows of the current ones."""
        for scan in loop["scans"]:
            spec = self.program.specs[scan["stack"]]
            row_bytes = self.nbytes(dict(spec, shape=[1, *spec["shape"][1:]]))
            grown = tvm_runtime.empty((max(1, capacity * row_bytes),), "uint8", self.model.device)
            old = self.storage.get(scan["stack"])
            if rows and old is not None:
                tvm_runtime.view(grown, (rows * row_bytes,), "uint8").copyfrom(
                    tvm_runtime.view(old, (rows * row_bytes,), "uint8"))
            self.storage[scan["stack"]] = grown
        self.set_dims({loop["capacity"]: capacity})
        return capacity

    def run_bind(self, bind: dict[str, Any], env: Environment) -> None:
        """Set the dims a node has just computed, and check those that must equal a size known
        already (a constant, or a formula of known dims)."""
        sizes = [int(size) for size in _read_all(env.tensor(bind["tensor"]))]
        for index, required in bind["require"]:
            expected = required if isinstance(required, int) else self.concrete([required])[0]
            if sizes[index] != expected:
                raise InputError(f"node {bind['node']!r} computed a size of {sizes[index]} where the model "
                                 f"requires {required} = {expected}")
        self.set_dims({dim: size for dim, size in zip(bind["dims"], sizes) if dim is not None})

    def run_if(self, step: dict[str, Any], env: Environment) -> None:
        branch = step["then"] if bool(_read(env.tensor(step["condition"]))) else step["else"]
        self.run_block(branch, env)
        for output, value in zip(step["outputs"], branch["outputs"]):
            env.tensor(output).copyfrom(env.tensor(value))


def _read_all(tensor: Any) -> np.ndarray:
    view = tvm_runtime.host_view(tensor)
    return (view if view is not None else tvm_runtime.download(tensor)).reshape(-1)


def _read(tensor: Any) -> Any:
    return _read_all(tensor)[0]


def _write(tensor: Any, value: Any) -> None:
    _Writer(tensor)(value)


class _Reader:
    """The one element of a tensor, read through a host view made once."""

    def __init__(self, tensor: Any):
        self.tensor, self.view = tensor, tvm_runtime.host_view(tensor)

    def __call__(self) -> Any:
        return self.view.reshape(-1)[0] if self.view is not None else _read(self.tensor)


class _Writer:
    """Sets the one element of a tensor."""

    def __init__(self, tensor: Any):
        self.tensor, self.view = tensor, tvm_runtime.host_view(tensor)

    def __call__(self, value: Any) -> None:
        if self.view is not None:
            self.view[...] = value
        else:
            tvm_runtime.copy_into(self.tensor, np.full(tuple(self.tensor.shape), value, dtype=str(self.tensor.dtype)))


def _last_line(exc: Exception) -> str:
    message = str(exc).strip().splitlines()
    return message[-1] if message else type(exc).__name__
