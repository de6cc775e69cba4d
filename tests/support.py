"""Shared test helpers: build small ONNX models, run them in convrnn and in onnxruntime.

Compiled artifacts are cached per process by the model's bytes, so a model compiled by one
test is not compiled again by another.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import onnx
from onnx import helper

# Every model built here sets an IR version older onnxruntime builds accept.
IR_VERSION = 10

_CACHE_DIR = Path(tempfile.mkdtemp(prefix=f"convrnn-test-{os.getpid()}-"))
_LOADED: dict[str, object] = {}


def make_model(nodes: Sequence[onnx.NodeProto], inputs: Sequence[onnx.ValueInfoProto],
               outputs: Sequence[onnx.ValueInfoProto], initializers: Sequence = (), opset: int = 17,
               name: str = "test") -> onnx.ModelProto:
    """A model from nodes; initializers may be TensorProtos or (name, ndarray) pairs."""
    tensors = [init if isinstance(init, onnx.TensorProto) else onnx.numpy_helper.from_array(np.asarray(init[1]), init[0])
               for init in initializers]
    graph = helper.make_graph(list(nodes), name, list(inputs), list(outputs), tensors)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=IR_VERSION)


def tensor_info(name: str, dtype, shape) -> onnx.ValueInfoProto:
    """A value info; dtype is a numpy dtype (or its name), shape a list of ints/names (None: unknown)."""
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    return helper.make_tensor_value_info(name, elem, shape)


def compile_cached(model: onnx.ModelProto, target: str = "cpu", input_shapes: Optional[dict] = None):
    """Compile (once per process per model) and load; returns the CompiledModel."""
    from convrnn.compiler import compile_model
    from convrnn.runtime import load

    data = model.SerializeToString(deterministic=True)
    key = hashlib.sha256(data + repr((target, sorted((input_shapes or {}).items()))).encode()).hexdigest()[:24]
    if key not in _LOADED:
        path = _CACHE_DIR / key
        if not (path / "plan.json").exists():
            compile_model(model, path, target=target, input_shapes=input_shapes)
        _LOADED[key] = load(path)
    return _LOADED[key]


def run_convrnn(model: onnx.ModelProto, feeds: dict[str, np.ndarray], **options) -> list[np.ndarray]:
    return compile_cached(model, **options).run(**feeds)


def run_onnxruntime(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def run_reference(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    from onnx.reference import ReferenceEvaluator

    return ReferenceEvaluator(model).run(None, feeds)


def assert_matches_onnxruntime(model: onnx.ModelProto, feeds: dict[str, np.ndarray], rtol: float = 1e-4,
                               atol: float = 1e-5, oracle=run_onnxruntime, **options) -> list[np.ndarray]:
    expected = oracle(model, feeds)
    actual = run_convrnn(model, feeds, **options)
    assert len(actual) == len(expected)
    for index, (got, want) in enumerate(zip(actual, expected)):
        want = np.asarray(want)
        assert got.shape == want.shape, f"output {index}: shape {got.shape} != {want.shape}"
        assert got.dtype == want.dtype, f"output {index}: dtype {got.dtype} != {want.dtype}"
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=f"output {index}")
    return actual


def assert_same_elements(got: np.ndarray, want: np.ndarray) -> None:
    """Same dtype and shape, and the same elements exactly: for floats (numpy's and ml_dtypes'
    bfloat16, float8, float4), NaN where `want` has NaN and the same bits everywhere else (a
    negative zero must stay negative); for ints (int4 and int2 too), the same values."""
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    if np.dtype(want.dtype).kind in "iub" or str(want.dtype) in ("int4", "uint4", "int2", "uint2"):
        np.testing.assert_array_equal(got.astype(np.int64), want.astype(np.int64))
        return
    got_nan, want_nan = np.isnan(got.astype(np.float32)), np.isnan(want.astype(np.float32))
    np.testing.assert_array_equal(got_nan, want_nan)
    width = f"uint{8 * want.dtype.itemsize}"
    np.testing.assert_array_equal(got.view(width)[~want_nan], want.view(width)[~want_nan])


def random_input(shape, dtype="float32", seed: int = 0, low: float = -2.0, high: float = 2.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return rng.uniform(low, high, size=shape).astype(dtype)
    if dtype.kind == "b":
        return rng.integers(0, 2, size=shape).astype(bool)
    return rng.integers(int(low), int(high) + 1, size=shape).astype(dtype)


def weighted_node_case(op: str, x_shape, w_shape, out_channels: int, seed: int, bias: bool = True,
                       batch_name: Optional[str] = None, weight_input: bool = False, opset: int = 17, **attrs):
    """A one-node model op(X, W[, B]) with fixed random weights (an initializer, or a graph input
    when weight_input) and its feeds; X's batch is named batch_name when given."""
    rng = np.random.default_rng(seed)
    weight = (rng.standard_normal(w_shape) * 0.3).astype("float32")
    names = ["X", "W"] + (["B"] if bias else [])
    inits = [] if weight_input else [("W", weight)]
    if bias:
        inits.append(("B", rng.standard_normal(out_channels).astype("float32")))
    inputs = [tensor_info("X", "float32", [batch_name or x_shape[0], *x_shape[1:]])]
    feeds = {"X": random_input(x_shape, seed=seed + 1)}
    if weight_input:
        inputs.append(tensor_info("W", "float32", w_shape))
        feeds["W"] = weight
    node = helper.make_node(op, names, ["Y"], **attrs)
    return make_model([node], inputs, [tensor_info("Y", "float32", None)], inits, opset=opset), feeds


def run_script(path, *arguments: str, timeout: int = 300) -> str:
    """Run a Python script (an example) to completion; its stdout, once it has exited 0."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, str(path), *arguments], capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout
