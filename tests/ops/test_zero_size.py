"""Zero-size tensors where ONNX allows them: an empty Slice, empty Split chunks, reductions over
an empty axis (their identities), with static dims, against onnxruntime."""
import numpy as np
import pytest
from onnx import helper

from support import assert_matches_onnxruntime, make_model, random_input, tensor_info


def test_empty_slice_is_an_empty_output():
    node = helper.make_node("Slice", ["x", "starts", "ends", "axes"], ["out"])
    inits = [(n, np.asarray(v, np.int64)) for n, v in (("starts", [5]), ("ends", [9]), ("axes", [1]))]
    model = make_model([node], [tensor_info("x", "float32", [2, 4])], [tensor_info("out", "float32", None)], inits)
    (result,) = assert_matches_onnxruntime(model, {"x": random_input((2, 4))})
    assert result.shape == (2, 0)


def test_empty_slice_feeds_a_concat():
    nodes = [helper.make_node("Slice", ["x", "starts", "ends", "axes"], ["empty"]),
             helper.make_node("Concat", ["empty", "x"], ["out"], axis=1)]
    inits = [(n, np.asarray(v, np.int64)) for n, v in (("starts", [3]), ("ends", [3]), ("axes", [1]))]
    model = make_model(nodes, [tensor_info("x", "float32", [2, 4])], [tensor_info("out", "float32", None)], inits)
    assert_matches_onnxruntime(model, {"x": random_input((2, 4))})


@pytest.mark.parametrize("split", [[0, 3, 2], [5, 0], [0, 0, 5]], ids=str)
def test_split_with_empty_chunks(split):
    outputs = [f"out{k}" for k in range(len(split))]
    node = helper.make_node("Split", ["x", "split"], outputs, axis=1)
    model = make_model([node], [tensor_info("x", "float32", [2, 5])], [tensor_info(o, "float32", None) for o in outputs],
                       [("split", np.asarray(split, np.int64))], opset=13)
    results = assert_matches_onnxruntime(model, {"x": random_input((2, 5))})
    assert [r.shape[1] for r in results] == split


@pytest.mark.parametrize("op", ["ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL2", "ReduceLogSumExp"])
@pytest.mark.parametrize("keepdims", [1, 0])
def test_reduction_over_an_empty_axis_is_its_identity(op, keepdims):
    # The empty axis comes from a Slice (a graph input's declared 0 dim is read as unknown).
    nodes = [helper.make_node("Slice", ["x", "starts", "ends", "axes"], ["empty"]),
             helper.make_node(op, ["empty", "axes"], ["out"], keepdims=keepdims)]
    inits = [(n, np.asarray(v, np.int64)) for n, v in (("starts", [2]), ("ends", [2]), ("axes", [1]))]
    model = make_model(nodes, [tensor_info("x", "float32", [2, 4, 3])], [tensor_info("out", "float32", None)], inits,
                       opset=18)
    assert_matches_onnxruntime(model, {"x": random_input((2, 4, 3))})
