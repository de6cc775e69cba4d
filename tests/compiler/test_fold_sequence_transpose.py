"""fold_sequence_transpose: a recurrence whose Y only a Transpose(0, 2, 1, 3) reads (PyTorch's
export of every LSTM/GRU/RNN) writes Y in that order itself, and the Transpose goes."""
import numpy as np
import pytest
from onnx import helper

import support
from convrnn.compiler.passes import run_pipeline
from convrnn.frontend import import_onnx

HIDDEN, INPUTS = 12, 5
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


def model(op="LSTM", perm=(0, 2, 1, 3), extra_reader=False, y_output=False, layout=0):
    """A bidirectional cell with sequence_lens; Y -> Transpose(perm) -> Reshape [seq, batch, 2 * hidden]
    (PyTorch's export)."""
    rng = np.random.default_rng(7)
    g = GATES[op]
    inits = [("W", rng.uniform(-0.5, 0.5, (2, g * HIDDEN, INPUTS)).astype(np.float32)),
             ("R", rng.uniform(-0.4, 0.4, (2, g * HIDDEN, HIDDEN)).astype(np.float32)),
             ("B", rng.uniform(-0.3, 0.3, (2, 2 * g * HIDDEN)).astype(np.float32)),
             ("shape", np.array([0, 0, -1], dtype=np.int64))]
    nodes = [helper.make_node(op, ["x", "W", "R", "B", "lens"], ["y"], hidden_size=HIDDEN, direction="bidirectional",
                              layout=layout),
             helper.make_node("Transpose", ["y"], ["t"], perm=list(perm))]
    if list(perm) == [0, 2, 1, 3] and not layout:  # (other orders would merge a symbolic dim)
        nodes.append(helper.make_node("Reshape", ["t", "shape"], ["out"]))
    else:
        nodes.append(helper.make_node("Identity", ["t"], ["out"]))
    outputs = [support.tensor_info("out", "float32", None)]
    if extra_reader:
        nodes.append(helper.make_node("Relu", ["y"], ["y_relu"]))
        outputs.append(support.tensor_info("y_relu", "float32", None))
    if y_output:
        outputs.append(support.tensor_info("y", "float32", None))
    x_shape = ["batch", "seq", INPUTS] if layout else ["seq", "batch", INPUTS]
    return support.make_model(nodes, [support.tensor_info("x", "float32", x_shape),
                                      support.tensor_info("lens", "int32", ["batch"])], outputs, inits, opset=14)


def feeds(seq, batch, seed):
    rng = np.random.default_rng(seed)
    return {"x": support.random_input((seq, batch, INPUTS), seed=seed, low=-1, high=1),
            "lens": rng.integers(1, seq + 1, batch).astype(np.int32)}


@pytest.mark.parametrize("op", ["LSTM", "GRU", "RNN"])
def test_the_cell_writes_pytorchs_order_and_the_transpose_goes(op):
    m = model(op)
    graph = run_pipeline(import_onnx(m), verify=True)
    assert "Transpose" not in [n.op for n in graph.nodes]
    (cell,) = [n for n in graph.nodes if n.op == op]
    assert cell.attrs["y_order"] == "sbdh" and cell.outputs[0].type.shape == ("seq", "batch", 2, HIDDEN)
    for seq, batch in ((6, 1), (5, 3)):  # shorter sequences' rows: zeros in Y, in the new order too
        support.assert_matches_onnxruntime(m, feeds(seq, batch, seed=seq + batch))


@pytest.mark.parametrize("options", [dict(perm=(1, 0, 2, 3)), dict(extra_reader=True), dict(y_output=True)],
                         ids=["other_perm", "second_reader", "y_is_an_output"])
def test_the_transpose_stays_where_y_is_needed_in_onnx_order(options):
    m = model(**options)
    graph = run_pipeline(import_onnx(m), verify=True)
    assert "Transpose" in [n.op for n in graph.nodes]
    (cell,) = [n for n in graph.nodes if n.op == "LSTM"]
    assert cell.attrs.get("y_order", "sdbh") == "sdbh"
    support.assert_matches_onnxruntime(m, feeds(4, 2, seed=1))


def test_batch_first_cells_keep_their_layout():
    graph = run_pipeline(import_onnx(model(layout=1)), verify=True)
    (cell,) = [n for n in graph.nodes if n.op == "LSTM"]
    assert cell.attrs["layout"] == 1 and cell.attrs.get("y_order", "sdbh") == "sdbh"
    assert "Transpose" in [n.op for n in graph.nodes]
