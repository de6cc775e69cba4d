"""hoist_loop_invariants: what a Loop body computes the same every iteration runs once before
the loop, and the loop gives the same numbers (onnxruntime), for any trip count."""
import numpy as np
import onnx
import pytest
from onnx import helper

import support
from convrnn.compiler.passes import run_pipeline
from convrnn.frontend import import_onnx

info = support.tensor_info


def _attention_loop():
    """h <- tanh(h + sum over positions of (features @ W^T)) per step: features, W and the
    Transpose of W are the same every iteration; `features` is an outer value (a capture)."""
    rng = np.random.default_rng(0)
    body = helper.make_graph(
        [helper.make_node("Transpose", ["W"], ["Wt"], perm=[1, 0]),
         helper.make_node("MatMul", ["features", "Wt"], ["projected"]),
         helper.make_node("ReduceSum", ["projected", "axis0"], ["pooled"], keepdims=0),
         helper.make_node("Add", ["h", "pooled"], ["pre"]),
         helper.make_node("Tanh", ["pre"], ["h_next"]),
         helper.make_node("Identity", ["cond"], ["cond_out"])],
        "body", [info("i", "int64", []), info("cond", "bool", []), info("h", "float32", [8])],
        [info("cond_out", "bool", []), info("h_next", "float32", [8]), info("pooled", "float32", [8])],
        [onnx.numpy_helper.from_array((rng.standard_normal((8, 6)) * 0.3).astype(np.float32), "W"),
         onnx.numpy_helper.from_array(np.array([0], np.int64), "axis0")])
    loop = helper.make_node("Loop", ["trips", "", "h0"], ["h", "scanned"], body=body)
    return support.make_model([loop], [info("features", "float32", ["positions", 6]), info("h0", "float32", [8]),
                                       info("trips", "int64", [])],
                              [info("h", "float32", None), info("scanned", "float32", None)], opset=13)


def test_the_invariant_nodes_leave_the_body():
    graph = run_pipeline(import_onnx(_attention_loop()), verify=True)
    (loop,) = [n for n in graph.nodes if n.op == "Loop"]
    outside = {n.op for n in graph.nodes}
    inside = [n.op for n in loop.attrs["body"].nodes]
    assert "MatMul" in outside, outside
    assert "MatMul" not in inside and "Transpose" not in inside, inside
    assert "Tanh" in inside  # reads the carried state: stays


@pytest.mark.parametrize("trips", [0, 1, 5])
def test_the_loop_gives_the_same_numbers(trips):
    feeds = {"features": support.random_input((7, 6)), "h0": support.random_input((8,), seed=1),
             "trips": np.array(trips, np.int64)}
    if trips == 0:  # onnxruntime's empty scan output keeps its row shape
        got = support.run_convrnn(_attention_loop(), feeds)
        np.testing.assert_allclose(got[0], feeds["h0"])
        assert got[1].shape == (0, 8)
    else:
        support.assert_matches_onnxruntime(_attention_loop(), feeds)
