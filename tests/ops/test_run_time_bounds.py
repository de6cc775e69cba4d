"""Slice and Range whose bounds are run-time tensors, against onnxruntime: the output's length
is a run-time dim that a kernel computes and the runtime reads (compiler/bound_dims.py), so one
artifact serves every bound, ONNX's clamping included, and the ops after it take that length."""
import numpy as np
import pytest
from onnx import helper

from support import assert_matches_onnxruntime, compile_cached, make_model, random_input, tensor_info


def _slice_model(axes, steps, rank_shape=("n", 7, 5), then_relu=True):
    nodes = [helper.make_node("Slice", ["x", "starts", "ends", "axes", "steps"], ["sliced"])]
    if then_relu:  # a consumer sized by the run-time dim, then its Shape as data
        nodes += [helper.make_node("Relu", ["sliced"], ["y"]), helper.make_node("Shape", ["y"], ["shape"])]
    count = len(axes)
    model = make_model(
        nodes,
        [tensor_info("x", "float32", list(rank_shape)), tensor_info("starts", "int64", [count]),
         tensor_info("ends", "int64", [count])],
        [tensor_info("y" if then_relu else "sliced", "float32", None)]
        + ([tensor_info("shape", "int64", None)] if then_relu else []),
        [("axes", np.array(axes, np.int64)), ("steps", np.array(steps, np.int64))], opset=13)
    return model


BIG = 2**63 - 1
# (axes, steps, [(starts, ends), ...]): each bound pair is one run of the same artifact
CASES = [
    ([1], [1], [([2], [5]), ([0], [1]), ([-3], [BIG]), ([6], [100]), ([4], [2]), ([-100], [3])]),
    ([1], [2], [([0], [7]), ([1], [-1]), ([5], [BIG])]),
    ([1], [-1], [([5], [1]), ([BIG], [-BIG]), ([-1], [-8]), ([2], [4])]),
    ([2, 1], [1, -2], [([1, 6], [4, 0]), ([0, BIG], [5, -BIG])]),
    ([0], [1], [([1], [3]), ([0], [BIG])]),
]


@pytest.mark.parametrize("axes,steps,bounds", CASES, ids=lambda c: str(c)[:30])
def test_slice_with_run_time_bounds(axes, steps, bounds):
    model = _slice_model(axes, steps)
    x = random_input((4, 7, 5))
    for starts, ends in bounds:
        assert_matches_onnxruntime(model, {"x": x, "starts": np.array(starts, np.int64),
                                           "ends": np.array(ends, np.int64)})


def test_the_output_length_is_a_run_time_dim():
    compiled = compile_cached(_slice_model([1], [1], then_relu=False))
    (output,) = compiled.outputs
    assert output.shape[0] == "n" and output.shape[2] == 5 and isinstance(output.shape[1], str)
    assert output.shape[1] in compiled.plan["runtime_dims"]


def test_an_empty_slice_gives_an_empty_tensor():
    model = _slice_model([1], [1])
    got = assert_matches_onnxruntime(model, {"x": random_input((2, 7, 5)), "starts": np.array([5], np.int64),
                                             "ends": np.array([5], np.int64)})
    assert got[0].shape == (2, 0, 5)


def _range_model(dtype):
    nodes = [helper.make_node("Range", ["start", "limit", "delta"], ["r"]),
             helper.make_node("Mul", ["r", "r"], ["squares"])]
    return make_model(nodes, [tensor_info(n, dtype, []) for n in ("start", "limit", "delta")],
                      [tensor_info("squares", dtype, None)], opset=13)


@pytest.mark.parametrize("dtype,bounds", [
    ("int64", [(0, 5, 1), (3, 20, 4), (10, 1, -3), (4, 4, 1), (5, 0, 1)]),
    ("int32", [(-6, 6, 5), (2, 3, 1)]),
    ("float32", [(0.5, 3.0, 0.25), (1.0, -2.0, -0.7)]),
])
def test_range_with_run_time_bounds(dtype, bounds):
    model = _range_model(dtype)
    for start, limit, delta in bounds:
        feeds = {n: np.array(v, dtype) for n, v in zip(("start", "limit", "delta"), (start, limit, delta))}
        assert_matches_onnxruntime(model, feeds)


def test_a_run_time_slice_in_a_loop_body():
    """As PaddleOCR's table recognizer writes a step's scores: acc[:, i:i+1] = f(i), through a
    Slice from the counter, a Range over it and a ScatterElements into the carried value."""
    body_nodes = [
        helper.make_node("Unsqueeze", ["i", "zero"], ["start"]),
        helper.make_node("Add", ["start", "one"], ["next"]),
        helper.make_node("Shape", ["acc_in"], ["acc_shape"]),
        helper.make_node("Gather", ["acc_shape", "one"], ["width"]),
        helper.make_node("Min", ["width", "next"], ["end"]),
        helper.make_node("Slice", ["acc_in", "start", "end", "one"], ["window"]),
        helper.make_node("Shape", ["window"], ["window_shape"]),
        helper.make_node("Cast", ["i"], ["i_float"], to=1),
        helper.make_node("Mul", ["row", "i_float"], ["value"]),
        helper.make_node("Unsqueeze", ["value", "one"], ["value_column"]),
        helper.make_node("Expand", ["value_column", "window_shape"], ["updates"]),
        helper.make_node("Range", ["i", "end_scalar", "one_scalar"], ["columns"]),
        helper.make_node("Squeeze", ["end", "zero"], ["end_scalar"]),
        helper.make_node("Reshape", ["columns", "column_shape"], ["column"]),
        helper.make_node("Expand", ["column", "window_shape"], ["indices"]),
        helper.make_node("ScatterElements", ["acc_in", "indices", "updates"], ["acc_out"], axis=1),
        helper.make_node("Identity", ["cond_in"], ["cond_out"]),
    ]
    # topological order for the body: Squeeze before Range
    order = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 11, 13, 14, 15, 16]
    body = helper.make_graph(
        [body_nodes[k] for k in order], "body",
        [tensor_info("i", "int64", []), tensor_info("cond_in", "bool", []), tensor_info("acc_in", "float32", ["b", 6])],
        [tensor_info("cond_out", "bool", []), tensor_info("acc_out", "float32", ["b", 6])],
        [helper.make_tensor("zero", 7, [1], [0]), helper.make_tensor("one", 7, [1], [1]),
         helper.make_tensor("one_scalar", 7, [], [1]), helper.make_tensor("column_shape", 7, [2], [1, -1])])
    loop = helper.make_node("Loop", ["trips", "", "acc0"], ["acc"], body=body)
    model = make_model([loop], [tensor_info("acc0", "float32", ["b", 6]), tensor_info("row", "float32", ["b"])],
                       [tensor_info("acc", "float32", None)], [("trips", np.array(6, np.int64))], opset=13)
    assert_matches_onnxruntime(model, {"acc0": random_input((3, 6)), "row": random_input((3,), seed=1)})


def test_a_length_the_model_fixes_is_checked_at_run_time():
    """The slice is added to a constant of 3 columns: import makes its run-time length 3, and a
    run whose bounds give another length is a clear error, not a read past the buffers."""
    from convrnn.runtime.errors import InputError

    nodes = [helper.make_node("Slice", ["x", "starts", "ends", "axes"], ["window"]),
             helper.make_node("Add", ["window", "bias"], ["y"])]
    model = make_model(nodes, [tensor_info("x", "float32", ["n", 7]), tensor_info("starts", "int64", [1]),
                               tensor_info("ends", "int64", [1])],
                       [tensor_info("y", "float32", None)],
                       [("axes", np.array([1], np.int64)), ("bias", np.arange(3, dtype=np.float32))], opset=13)
    x = random_input((2, 7))
    assert_matches_onnxruntime(model, {"x": x, "starts": np.array([2], np.int64), "ends": np.array([5], np.int64)})
    with pytest.raises(InputError, match="computed a size of 4 where the model requires 3"):
        compile_cached(model).run(x=x, starts=np.array([1], np.int64), ends=np.array([5], np.int64))
