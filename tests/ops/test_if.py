"""ONNX If whose condition is computed at run time: both branches compiled, the taken one run."""
import numpy as np
import onnx
import pytest
from onnx import helper

import support
from convrnn.compiler.errors import UnsupportedError
from convrnn.frontend import import_onnx

info = support.tensor_info


def _weights(shape, seed):
    return (np.random.default_rng(seed).standard_normal(shape) * 0.4).astype(np.float32)


def _conv_branches():
    then_branch = helper.make_graph(
        [helper.make_node("Conv", ["x", "w_then"], ["conv_t"], pads=[1, 1, 1, 1]),
         helper.make_node("Relu", ["conv_t"], ["y_t"])],
        "then", [], [info("y_t", "float32", ["batch", 4, 6, 6])])
    else_branch = helper.make_graph(
        [helper.make_node("Conv", ["x", "w_else", "b_else"], ["conv_e"], pads=[1, 1, 1, 1]),
         helper.make_node("Sigmoid", ["conv_e"], ["y_e"])],
        "else", [], [info("y_e", "float32", ["batch", 4, 6, 6])])
    return then_branch, else_branch


def test_branches_of_convolutions_on_a_run_time_condition_and_a_symbolic_batch():
    then_branch, else_branch = _conv_branches()
    nodes = [helper.make_node("ReduceMean", ["x"], ["mean"], keepdims=0),
             helper.make_node("Greater", ["mean", "zero"], ["positive"]),
             helper.make_node("If", ["positive"], ["y"], name="by_sign", then_branch=then_branch,
                              else_branch=else_branch),
             helper.make_node("Add", ["y", "one"], ["z"])]
    model = support.make_model(
        nodes, [info("x", "float32", ["batch", 3, 6, 6])], [info("z", "float32", ["batch", 4, 6, 6])],
        [("w_then", _weights((4, 3, 3, 3), 1)), ("w_else", _weights((4, 3, 3, 3), 2)), ("b_else", _weights((4,), 3)),
         ("zero", np.float32(0)), ("one", np.float32(1))])
    for batch, shift in ((1, 1.0), (1, -1.0), (2, 1.0), (2, -1.0)):
        x = support.random_input((batch, 3, 6, 6), seed=batch) + np.float32(shift)
        support.assert_matches_onnxruntime(model, {"x": x})


def test_a_branch_holding_a_recurrence_beside_one_of_matmuls():
    hidden, inputs, steps = 5, 3, 4
    gru = helper.make_graph(
        [helper.make_node("GRU", ["x", "W", "R", "B"], ["", "h"], hidden_size=hidden),
         helper.make_node("Squeeze", ["h", "zero"], ["y_gru"])],
        "recurrent", [], [info("y_gru", "float32", ["batch", hidden])])
    plain = helper.make_graph(
        [helper.make_node("ReduceSum", ["x", "zero"], ["summed"], keepdims=0),
         helper.make_node("MatMul", ["summed", "P"], ["projected"]),
         helper.make_node("Tanh", ["projected"], ["y_plain"])],
        "plain", [], [info("y_plain", "float32", ["batch", hidden])])
    model = support.make_model(
        [helper.make_node("If", ["use_gru"], ["y"], then_branch=gru, else_branch=plain)],
        [info("x", "float32", [steps, "batch", inputs]), info("use_gru", "bool", [])],
        [info("y", "float32", ["batch", hidden])],
        [("W", _weights((1, 3 * hidden, inputs), 4)), ("R", _weights((1, 3 * hidden, hidden), 5)),
         ("B", _weights((1, 6 * hidden), 6)), ("P", _weights((inputs, hidden), 7)), ("zero", np.array([0], np.int64))])
    for batch in (1, 3):
        for use_gru in (True, False):
            feeds = {"x": support.random_input((steps, batch, inputs), seed=batch), "use_gru": np.array(use_gru)}
            support.assert_matches_onnxruntime(model, feeds)


def test_branch_outputs_that_are_outer_values_or_constants():
    # onnxruntime wants an Identity between an outer value and a branch output
    then_branch = helper.make_graph([helper.make_node("Identity", ["x"], ["same"])], "then", [],
                                    [info("same", "float32", [3])])
    else_branch = helper.make_graph(
        [helper.make_node("Constant", [], ["k"], value=onnx.numpy_helper.from_array(np.full(3, 7, np.float32)))],
        "else", [], [info("k", "float32", [3])])
    model = support.make_model(
        [helper.make_node("If", ["c"], ["y"], then_branch=then_branch, else_branch=else_branch)],
        [info("x", "float32", [3]), info("c", "bool", [1])], [info("y", "float32", [3])])
    for c in (True, False):
        support.assert_matches_onnxruntime(model, {"x": support.random_input((3,)), "c": np.array([c])})


def test_an_if_inside_a_loop_takes_a_branch_per_iteration():
    then_branch = helper.make_graph([helper.make_node("Mul", ["v", "two"], ["doubled"])], "early", [],
                                    [info("doubled", "float32", [2])])
    else_branch = helper.make_graph([helper.make_node("Sub", ["v", "one"], ["lowered"])], "late", [],
                                    [info("lowered", "float32", [2])])
    body = helper.make_graph(
        [helper.make_node("Less", ["i", "three"], ["early"]),
         helper.make_node("If", ["early"], ["v_next"], then_branch=then_branch, else_branch=else_branch),
         helper.make_node("Identity", ["c"], ["c_out"])],
        "body", [info("i", "int64", []), info("c", "bool", []), info("v", "float32", [2])],
        [info("c_out", "bool", []), info("v_next", "float32", [2]), info("v_next", "float32", [2])])
    model = support.make_model(
        [helper.make_node("Loop", ["M", "", "v0"], ["v_final", "history"], body=body)],
        [info("v0", "float32", [2])], [info("v_final", "float32", [2]), info("history", "float32", [None, 2])],
        [("M", np.array(6, np.int64)), ("two", np.float32(2)), ("one", np.float32(1)),
         ("three", np.array(3, np.int64))])
    support.assert_matches_onnxruntime(model, {"v0": support.random_input((2,))})


def test_branches_whose_output_shapes_disagree_are_refused_by_name():
    then_branch = helper.make_graph([helper.make_node("Relu", ["x"], ["t"])], "then", [], [info("t", "float32", [4])])
    else_branch = helper.make_graph([helper.make_node("Concat", ["x", "x"], ["e"], axis=0)], "else", [],
                                    [info("e", "float32", [8])])
    model = support.make_model(
        [helper.make_node("If", ["c"], ["y"], name="mismatched_if", then_branch=then_branch, else_branch=else_branch)],
        [info("x", "float32", [4]), info("c", "bool", [])], [info("y", "float32", [None])])
    with pytest.raises(UnsupportedError, match=r"If node 'mismatched_if'.*output 0.*float32\[4\].*float32\[8\]"):
        import_onnx(model)


def test_a_branch_holding_a_loop_whose_scan_it_reduces():
    body = helper.make_graph(
        [helper.make_node("Add", ["v", "x"], ["v_next"]), helper.make_node("Identity", ["c"], ["c_out"])],
        "body", [info("i", "int64", []), info("c", "bool", []), info("v", "float32", [3])],
        [info("c_out", "bool", []), info("v_next", "float32", [3]), info("v_next", "float32", [3])])
    then_branch = helper.make_graph(
        [helper.make_node("Loop", ["M", "", "x"], ["v_final", "history"], body=body),
         helper.make_node("ReduceSum", ["history", "axis0"], ["summed"], keepdims=0)],
        "looping", [], [info("summed", "float32", [3])])
    else_branch = helper.make_graph([helper.make_node("Neg", ["x"], ["negated"])], "plain", [],
                                    [info("negated", "float32", [3])])
    model = support.make_model(
        [helper.make_node("If", ["c"], ["y"], then_branch=then_branch, else_branch=else_branch)],
        [info("x", "float32", [3]), info("c", "bool", []), info("M", "int64", [])], [info("y", "float32", [3])],
        [("axis0", np.array([0], np.int64))])
    for c in (True, False):
        for trips in (3, 70):  # the stack takes M rows, read when the loop starts
            feeds = {"x": support.random_input((3,)), "c": np.array(c), "M": np.array(trips, np.int64)}
            support.assert_matches_onnxruntime(model, feeds)
