"""Ops that leave a value as it is (x + 0, x * 1, a Squeeze of an Unsqueeze) give the value
itself at import, so that a Loop's carried value the body only passes on is seen to be
invariant and what depends on it leaves the loop; the numbers stay onnxruntime's."""
import numpy as np
import onnx
import pytest
from onnx import helper

import support
from convrnn.compiler.passes import run_pipeline
from convrnn.frontend import import_onnx

info = support.tensor_info


def _ops(model):
    return [n.op for n in import_onnx(model).nodes]


@pytest.mark.parametrize("op,constant,swapped,kept", [
    ("Add", 0.0, False, False), ("Add", 0.0, True, False), ("Sub", 0.0, False, False), ("Mul", 1.0, True, False),
    ("Div", 1.0, False, False), ("Sub", 0.0, True, True), ("Div", 1.0, True, True), ("Add", 0.5, False, True),
], ids=str)
def test_a_neutral_operand_leaves_the_value(op, constant, swapped, kept):
    operands = ["c", "x"] if swapped else ["x", "c"]
    model = support.make_model([helper.make_node(op, operands, ["y0"]), helper.make_node("Relu", ["y0"], ["y"])],
                               [info("x", "float32", ["n", 3])], [info("y", "float32", None)],
                               [("c", np.array([constant], np.float32))])
    assert (op in _ops(model)) == kept
    support.assert_matches_onnxruntime(model, {"x": support.random_input((4, 3))})


def test_a_constant_that_broadcasts_the_value_is_kept():
    model = support.make_model([helper.make_node("Add", ["x", "c"], ["y"])], [info("x", "float32", [3])],
                               [info("y", "float32", None)], [("c", np.zeros((2, 1), np.float32))])
    assert "Add" in _ops(model)
    support.assert_matches_onnxruntime(model, {"x": support.random_input((3,))})


def test_a_squeeze_of_an_unsqueeze_is_the_value():
    model = support.make_model([helper.make_node("Unsqueeze", ["x", "axes"], ["u"]),
                                helper.make_node("Squeeze", ["u", "axes"], ["s"]),
                                helper.make_node("Relu", ["s"], ["y"])],
                               [info("x", "float32", ["n", 3])], [info("y", "float32", None)],
                               [("axes", np.array([0], np.int64))], opset=13)
    graph = import_onnx(model)
    (relu,) = [n for n in graph.nodes if n.op == "Relu"]
    assert relu.inputs[0] is graph.inputs[0]  # the Unsqueeze left is dead code
    assert [n.op for n in run_pipeline(graph).nodes] == ["Relu"]


def test_a_carried_value_the_body_passes_on_is_invariant():
    """Paddle's loop bodies reassign their encoder features: f' = Squeeze(Unsqueeze(f) + 0).
    The projection of f then runs once, before the loop."""
    rng = np.random.default_rng(0)
    body = helper.make_graph(
        [helper.make_node("Unsqueeze", ["f", "axes"], ["fu"]),
         helper.make_node("Add", ["fu", "zero"], ["fz"]),
         helper.make_node("Squeeze", ["fz", "axes"], ["f_next"]),
         helper.make_node("MatMul", ["f", "W"], ["projected"]),
         helper.make_node("ReduceSum", ["projected", "axes"], ["pooled"], keepdims=0),
         helper.make_node("Add", ["h", "pooled"], ["pre"]),
         helper.make_node("Tanh", ["pre"], ["h_next"]),
         helper.make_node("Identity", ["cond"], ["cond_out"])],
        "body", [info("i", "int64", []), info("cond", "bool", []), info("f", "float32", ["positions", 6]),
                 info("h", "float32", [8])],
        [info("cond_out", "bool", []), info("f_next", "float32", ["positions", 6]), info("h_next", "float32", [8])],
        [onnx.numpy_helper.from_array((rng.standard_normal((6, 8)) * 0.3).astype(np.float32), "W"),
         onnx.numpy_helper.from_array(np.array([0], np.int64), "axes"),
         onnx.numpy_helper.from_array(np.array([0.0], np.float32), "zero")])
    loop = helper.make_node("Loop", ["trips", "", "features", "h0"], ["f_final", "h"], body=body)
    model = support.make_model([loop], [info("features", "float32", ["positions", 6]), info("h0", "float32", [8])],
                               [info("f_final", "float32", None), info("h", "float32", None)],
                               [("trips", np.array(4, np.int64))], opset=13)
    graph = run_pipeline(import_onnx(model), verify=True)
    (node,) = [n for n in graph.nodes if n.op == "Loop"]
    assert node.attrs["carried"] == 1 and "MatMul" not in [n.op for n in node.attrs["body"].nodes]
    support.assert_matches_onnxruntime(model, {"features": support.random_input((5, 6)),
                                               "h0": support.random_input((8,), seed=1)})
