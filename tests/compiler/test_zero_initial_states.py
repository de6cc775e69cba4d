"""zero_initial_states: a recurrence whose initial state is zeros by construction (PyTorch's
export of a call without (h0, c0)) starts from zero without the kernels that built the zeros."""
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper

import support
from convrnn.compiler.passes import run_pipeline
from convrnn.compiler.passes.zero_initial_states import STATES
from convrnn.frontend import import_onnx

DATA = Path(__file__).resolve().parent.parent / "data" / "recurrent"
CELLS = ("LSTM", "GRU", "RNN")
LAYERS = ("LSTMLayer", "GRULayer", "RNNLayer")  # as the frontend emits them


@pytest.mark.parametrize("name", ["lstm_stacked", "gru_stacked_bidirectional", "rnn_tanh", "lstm_batch_first",
                                  "crnn", "lstm_tagger_dynamo"])
def test_exported_zero_states_are_dropped(name):
    """(The committed exports' numbers against onnxruntime: tests/models/test_recurrent_models.py.)"""
    model = onnx.load(DATA / f"{name}.onnx")
    before = import_onnx(model)
    assert any(n.attrs.get("has_initial_h") for n in before.nodes if n.op in LAYERS)
    graph = run_pipeline(before, verify=True)
    cells = [n for n in graph.nodes if n.op in CELLS]
    assert cells and all(not n.attrs["has_initial_h"] and not n.attrs.get("has_initial_c", 0) for n in cells)
    built = {id(v) for n in graph.nodes for v in n.outputs}
    assert not any(id(n.inputs[i]) in built for n in cells for i in STATES[n.op])  # constants now
    assert "Expand" not in [n.op for n in graph.nodes]  # the zeros' ConstantOfShape went with its slices


def lstm_with_states(h0, c0_zero_constant: bool):
    """An LSTM whose h0 is a graph input or a constant, and whose c0 is a constant."""
    rng = np.random.default_rng(2)
    hidden, inputs = 6, 4
    inits = [("W", rng.uniform(-0.5, 0.5, (1, 4 * hidden, inputs)).astype(np.float32)),
             ("R", rng.uniform(-0.4, 0.4, (1, 4 * hidden, hidden)).astype(np.float32)),
             ("c0", (np.zeros if c0_zero_constant else np.ones)((1, 1, hidden), np.float32))]
    graph_inputs = [support.tensor_info("x", "float32", ["seq", 1, inputs])]
    if isinstance(h0, np.ndarray):
        inits.append(("h0", h0))
    else:
        graph_inputs.append(support.tensor_info("h0", "float32", [1, 1, hidden]))
    node = helper.make_node("LSTM", ["x", "W", "R", "", "", "h0", "c0"], ["y"], hidden_size=hidden)
    return support.make_model([node], graph_inputs, [support.tensor_info("y", "float32", None)], inits, opset=14)


@pytest.mark.parametrize("h0, c0_zero, has_h, has_c", [
    (np.zeros((1, 1, 6), np.float32), True, 0, 0),
    (np.zeros((1, 1, 6), np.float32), False, 0, 1),
    (np.full((1, 1, 6), 0.5, np.float32), True, 1, 0),
    (None, True, 1, 0),
], ids=["both_zero", "c0_ones", "h0_half", "h0_input"])
def test_only_states_that_are_zeros_go(h0, c0_zero, has_h, has_c):
    model = lstm_with_states(h0, c0_zero)
    (cell,) = [n for n in run_pipeline(import_onnx(model), verify=True).nodes if n.op == "LSTM"]
    assert (cell.attrs["has_initial_h"], cell.attrs["has_initial_c"]) == (has_h, has_c)
    feeds = {"x": support.random_input((5, 1, 4), seed=4, low=-1, high=1)}
    if h0 is None:
        feeds["h0"] = support.random_input((1, 1, 6), seed=5, low=-1, high=1)
    support.assert_matches_onnxruntime(model, feeds)
