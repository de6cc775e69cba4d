"""Every op convrnn claims imports at every opset from MIN_OPSET to MAX_OPSET where ONNX defines it.

The models are the ONNX conformance cases of each op, restamped to each opset where
onnx.checker accepts them (so each opset is met in a form valid there), and, for the opsets
before an op's inputs changed form (Clip's bounds, Pad's pads, Slice's bounds, Squeeze's and
a reduction's axes as attributes, Resize 10's scales, Dropout's ratio and float mask), a model
written in that older form.
"""
from __future__ import annotations

import collections
import functools

import numpy as np
import onnx
import onnx.checker
import onnx.defs
import pytest
from onnx import helper

import conformance_backend as backend
import support
from test_conformance import EXCLUDED
from convrnn.frontend import import_onnx
from convrnn.frontend.registry import MAX_OPSET, MIN_OPSET

REDUCTIONS = ("ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
              "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare")


def _one_node(op, attrs, y_shape, inputs=(), opset=MIN_OPSET, x_shape=(2, 3, 4, 4), more_outputs=()):
    """op(X, *constant inputs) -> Y, *more_outputs at `opset`; inputs are (name, array)
    initializers, more_outputs (name, dtype, shape)."""
    outputs = [("Y", "float32", y_shape), *more_outputs]
    node = helper.make_node(op, ["X", *(name for name, _ in inputs)], [name for name, _, _ in outputs], **attrs)
    return support.make_model([node], [support.tensor_info("X", "float32", list(x_shape))],
                              [support.tensor_info(*output) for output in outputs], list(inputs), opset=opset)


def _older_forms(op: str, opset: int) -> list[onnx.ModelProto]:
    """Models in the forms ONNX took before an input was turned from an attribute or added."""
    if op == "Clip":
        return [_one_node(op, {"min": -1.0, "max": 1.0}, (2, 3, 4, 4), opset=opset)]
    if op == "Pad":
        return [_one_node(op, {"pads": [0, 0, 1, 1, 0, 0, 1, 1], "mode": "constant", "value": 0.5}, (2, 3, 6, 6),
                          opset=opset)]
    if op == "Slice":
        return [_one_node(op, {"starts": [1, 0], "ends": [3, 2], "axes": [2, 3]}, (2, 3, 2, 2), opset=opset)]
    if op == "Squeeze":
        return [_one_node(op, {"axes": [0]}, (3, 4), opset=opset, x_shape=(1, 3, 4))]
    if op == "Unsqueeze":
        return [_one_node(op, {"axes": [0]}, (1, 3, 4), opset=opset, x_shape=(3, 4))]
    if op == "Dropout" and opset < 12:  # ratio an attribute; the mask has X's type before 10
        mask_type = "float32" if opset < 10 else "bool"
        return [_one_node(op, {"ratio": 0.2}, (2, 3, 4, 4), opset=opset, more_outputs=[("M", mask_type, (2, 3, 4, 4))])]
    if op in REDUCTIONS:
        return [_one_node(op, {"axes": [1], "keepdims": 0}, (2, 4, 4), opset=opset)]
    if op == "Resize" and opset == 10:
        return [_one_node(op, {"mode": mode}, (2, 3, 8, 6), [("scales", np.array([1, 1, 2, 1.5], "float32"))],
                          opset=opset) for mode in ("nearest", "linear")]
    if op == "Resize":  # 11 and 12: roi is required
        inputs = [("roi", np.zeros(0, "float32")), ("scales", np.array([1, 1, 2, 0.5], "float32"))]
        return [_one_node(op, {"mode": "linear"}, (2, 3, 8, 2), inputs, opset=opset)]
    return []


@functools.lru_cache(maxsize=None)
def _cases_by_op() -> dict[str, list[str]]:
    by_op = collections.defaultdict(list)
    for name, op in sorted(backend.cases_in_scope().items()):
        by_op[op].append(name)
    return by_op


def _defined(op: str, opset: int) -> bool:
    try:
        onnx.defs.get_schema(op, opset)
        return True
    except onnx.defs.SchemaError:
        return False


def _restamped(model: onnx.ModelProto, opset: int) -> onnx.ModelProto:
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    for entry in copy.opset_import:
        if entry.domain in ("", "ai.onnx"):
            entry.version = opset
    return copy


def _valid(model: onnx.ModelProto) -> bool:
    try:
        onnx.checker.check_model(model, full_check=True)
        return True
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError):
        return False


def _case_model(name: str, opset: int):
    """The case restamped at `opset` with its constant operands bound, or None if invalid there."""
    case = backend.all_cases()[name]
    model = _restamped(case.model, opset)
    if not _valid(model):
        return None
    inputs = dict(zip((info.name for info in model.graph.input), backend._arrays(case.data_sets[0][0])))
    constants = backend._constant_positions(model)
    return backend._bind_constants(model, {n: v for n, v in inputs.items() if n in constants})


def _params():
    for op in backend.SUPPORTED_OPS:
        for opset in range(MIN_OPSET, MAX_OPSET + 1):
            if _defined(op, opset):
                yield pytest.param(op, opset, id=f"{op}-{opset}")


def test_max_opset_is_the_newest_onnx_defines():
    assert MAX_OPSET == onnx.defs.onnx_opset_version()


@pytest.mark.parametrize("op, opset", list(_params()))
def test_op_imports_at_opset(op, opset):
    """Each older-form model, and the first conformance case valid at this opset, imports with
    the outputs the case declares (rank and element type)."""
    models = [model for model in _older_forms(op, opset) if _valid(model)]
    for name in _cases_by_op().get(op, []):
        if name in EXCLUDED:
            continue
        model = _case_model(name, opset)
        if model is not None:
            models.append(model)
            break
    assert models, f"no model of {op} is valid at opset {opset}: add its form to _older_forms"
    for model in models:
        graph = import_onnx(model)
        inferred = onnx.shape_inference.infer_shapes(model).graph.output
        assert len(graph.outputs) == len(inferred)
        for value, info in zip(graph.outputs, inferred):
            tensor = info.type.tensor_type
            assert value.type.dtype == str(helper.tensor_dtype_to_np_dtype(tensor.elem_type)), info.name
            if tensor.HasField("shape"):
                assert value.type.rank == len(tensor.shape.dim), info.name
