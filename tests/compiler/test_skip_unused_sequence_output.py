"""skip_unused_sequence_output: a recurrence whose Y nothing reads stops writing it."""
import numpy as np
import pytest
from onnx import helper

import support
from convrnn.compiler.passes import run_pipeline
from convrnn.frontend import import_onnx

HIDDEN, INPUTS = 8, 5


def gru_model(y_name: str, read_y: bool = False, layout: int = 0):
    """A GRU keeping its last state; Y named y_name ("" = absent), optionally read by a Relu."""
    rng = np.random.default_rng(3)
    inits = [("W", rng.standard_normal((1, 3 * HIDDEN, INPUTS)).astype(np.float32) * 0.4),
             ("R", rng.standard_normal((1, 3 * HIDDEN, HIDDEN)).astype(np.float32) * 0.4)]
    nodes = [helper.make_node("GRU", ["x", "W", "R"], [y_name, "h"], hidden_size=HIDDEN, layout=layout),
             helper.make_node("Tanh", ["h"], ["out"])]
    outputs = [support.tensor_info("out", "float32", None)]
    if read_y:
        nodes.append(helper.make_node("Relu", [y_name], ["y_relu"]))
        outputs.append(support.tensor_info("y_relu", "float32", None))
    shape = ["batch", "seq", INPUTS] if layout else ["seq", "batch", INPUTS]
    return support.make_model(nodes, [support.tensor_info("x", "float32", shape)], outputs, inits, opset=14)


def cell(graph):
    (node,) = [n for n in graph.nodes if n.op == "GRU"]
    return node


@pytest.mark.parametrize("y_name, layout", [("", 0), ("y_unread", 0), ("y_unread", 1)],
                         ids=["absent", "named_unread", "named_unread_batch_first"])
def test_unread_y_is_not_stored_and_numbers_hold(y_name, layout):
    model = gru_model(y_name, layout=layout)
    graph = run_pipeline(import_onnx(model), verify=True)
    node = cell(graph)
    assert node.attrs["store_y"] == 0
    assert node.outputs[0].type.shape == (1, 1, 1, 1)
    oracle = support.run_reference if layout else support.run_onnxruntime  # onnxruntime lacks layout 1
    for seq, batch in ((7, 1), (3, 4)):
        feeds = {"x": support.random_input((batch, seq, INPUTS) if layout else (seq, batch, INPUTS), seed=seq)}
        np.testing.assert_allclose(support.run_convrnn(model, feeds)[0], oracle(model, feeds)[0], rtol=1e-4, atol=1e-5)


def test_read_y_is_stored():
    model = gru_model("y", read_y=True)
    node = cell(run_pipeline(import_onnx(model), verify=True))
    assert node.attrs.get("store_y", 1) == 1
    assert node.outputs[0].type.shape == ("seq", 1, "batch", HIDDEN)
    support.assert_matches_onnxruntime(model, {"x": support.random_input((6, 2, INPUTS), seed=1)})


def test_the_memory_plan_gives_unread_y_no_room():
    from convrnn.compiler.build import compile_graph
    from convrnn.compiler.target import parse_target

    def peak(model):
        graph = import_onnx(model, input_shapes={"x": [1000, 4, INPUTS]})
        return compile_graph(graph, parse_target("cpu"))[0].memory.peak_bytes

    # Y of 1000 steps x 4 rows x 8 units is 128 kB; nothing else comes close.
    assert peak(gru_model("y_unread")) < peak(gru_model("y", read_y=True)) - 100_000
