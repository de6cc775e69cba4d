"""Recurrent models as exporters write them (tests/data/recurrent/, made by
tests/data/make_recurrent_models.py) against onnxruntime on random inputs.

Each model is compiled once, with its batch and sequence axes symbolic, and that one artifact
runs every (batch, sequence length) below, T=1 and a long T included.
"""
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import support

DATA = Path(__file__).resolve().parent.parent / "data" / "recurrent"

# name -> (input name, input shape as a function of (batch, seq), dtype, vocabulary size or None,
#          the (batch, seq) pairs run through the one compiled artifact)
MODELS = {
    # PyTorch (TorchScript exporter), symbolic batch and sequence
    "lstm_stacked": ("x", lambda b, t: (t, b, 16), "float32", None, [(1, 1), (3, 17), (2, 64)]),
    "lstm_bidirectional": ("x", lambda b, t: (t, b, 16), "float32", None, [(1, 1), (4, 9), (2, 40)]),
    "lstm_batch_first": ("x", lambda b, t: (b, t, 12), "float32", None, [(1, 1), (5, 7), (2, 1000)]),
    "gru_stacked_bidirectional": ("x", lambda b, t: (t, b, 16), "float32", None, [(1, 1), (3, 11), (2, 50)]),
    "rnn_tanh": ("x", lambda b, t: (t, b, 16), "float32", None, [(1, 1), (3, 13), (2, 200)]),
    "rnn_relu": ("x", lambda b, t: (t, b, 16), "float32", None, [(1, 1), (3, 13), (2, 30)]),
    # whole models
    "lstm_tagger": ("tokens", lambda b, t: (b, t), "int64", 50, [(1, 1), (3, 12), (2, 100)]),
    "gru_classifier": ("tokens", lambda b, t: (b, t), "int64", 100, [(1, 1), (3, 12), (2, 256)]),
    # CRNN: seq is the spectrogram's frame count (T/2 LSTM steps after the pooling; 2 frames -> 1 step)
    "crnn": ("spectrogram", lambda b, t: (b, 1, 80, t), "float32", None, [(1, 2), (2, 16), (1, 60)]),
    # PyTorch's dynamo exporter (Expand chains; sequence length fixed by the exporter)
    "gru_stacked_bidirectional_dynamo": ("x", lambda b, t: (t, b, 16), "float32", None, [(1, 5), (3, 5)]),
    "lstm_tagger_dynamo": ("tokens", lambda b, t: (b, t), "int64", 50, [(1, 7), (3, 7)]),
    # Keras Sequential([LSTM, Dense]) converted by tf2onnx: Transpose to time-major, Expand-built zero
    # state, LSTM (layout 0), Squeeze and Slice of the last step
    "keras_lstm": ("input", lambda b, t: (b, t, 10), "float32", None, [(1, 1), (4, 23), (2, 300)]),
}


def load(name: str) -> onnx.ModelProto:
    return onnx.load(str(DATA / f"{name}.onnx"))


def make_input(name: str, batch: int, seq: int, seed: int) -> dict[str, np.ndarray]:
    input_name, shape, dtype, vocab, _ = MODELS[name]
    if vocab is not None:
        return {input_name: support.random_input(shape(batch, seq), dtype, seed=seed, low=0, high=vocab - 1)}
    return {input_name: support.random_input(shape(batch, seq), dtype, seed=seed, low=-1.5, high=1.5)}


def test_committed_files_are_small_and_hold_recurrences():
    ops = {"LSTM", "GRU", "RNN"}
    for name in MODELS:
        path = DATA / f"{name}.onnx"
        assert path.stat().st_size < 1 << 20, f"{name}: {path.stat().st_size} bytes"
        model = load(name)
        assert model.ir_version == 10, name
        assert ops & {node.op_type for node in model.graph.node}, f"{name} holds no LSTM/GRU/RNN node"


def test_exports_hold_what_exporters_emit_around_recurrences():
    """The files are what they claim: zero initial states built from the input's shape (the
    TorchScript exporter: Shape, Gather, Unsqueeze, Concat, ConstantOfShape; the dynamo exporter and
    tf2onnx: Shape, Concat, Expand), the direction axis squeezed away, layers joined by Transpose."""
    ops = {name: {node.op_type for node in load(name).graph.node} for name in MODELS}
    for name in ("lstm_stacked", "lstm_batch_first", "rnn_tanh", "rnn_relu", "gru_classifier"):
        assert {"Shape", "Gather", "Unsqueeze", "Concat", "ConstantOfShape", "Squeeze"} <= ops[name], name
    for name in ("gru_stacked_bidirectional_dynamo", "lstm_tagger_dynamo", "keras_lstm"):
        assert {"Shape", "Concat", "Expand"} <= ops[name], name
    assert {"Transpose", "Squeeze"} <= ops["keras_lstm"]
    for name in ("lstm_bidirectional", "gru_stacked_bidirectional", "lstm_tagger", "crnn"):
        assert {"Transpose", "Reshape"} <= ops[name], name  # [T, 2, B, H] -> [T, B, 2H]
    directions = {attr.s.decode() for name in MODELS for node in load(name).graph.node
                  for attr in node.attribute if attr.name == "direction"}
    assert "bidirectional" in directions


# Known gaps, each a strict xfail: the suite goes red when one starts passing.
KNOWN_GAPS: dict[str, str] = {}  # model name -> why it is expected to fail


@pytest.mark.slow
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[n]))
                                  if n in KNOWN_GAPS else n for n in MODELS])
def test_matches_onnxruntime_at_several_batch_and_sequence_sizes(name):
    model = load(name)
    compiled = support.compile_cached(model)
    declared = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert list(compiled.inputs[0].shape) == declared  # symbolic axes stay symbolic: one artifact
    for index, (batch, seq) in enumerate(MODELS[name][4]):
        feeds = make_input(name, batch, seq, seed=index)
        try:
            support.assert_matches_onnxruntime(model, feeds)
        except AssertionError as error:
            raise AssertionError(f"{name} at batch {batch}, sequence {seq}: {error}") from None
    assert support.compile_cached(model) is compiled


# --- an LSTM inside an If ---------------------------------------------------------------------
HIDDEN, FEATURES = 12, 8


def lstm_in_if(condition: str) -> onnx.ModelProto:
    """Y = squeeze(LSTM_forward(X)) if condition else squeeze(LSTM_reverse(X)), the LSTMs inside
    the If's branches, their weights and X taken from the outer scope.

    condition "true"/"false": a Constant bool node, as exporters emit for a traced-out test;
    "shape": Equal(Gather(Shape(X), 2), 8), a shape test that folds to true at compile time."""
    rng = np.random.default_rng(7)
    weights = {name: rng.uniform(-0.4, 0.4, shape).astype(np.float32) for name, shape in (
        ("W", (1, 4 * HIDDEN, FEATURES)), ("R", (1, 4 * HIDDEN, HIDDEN)), ("B", (1, 8 * HIDDEN)))}
    axes = ("axes", np.array([1], np.int64))

    def branch(direction: str) -> onnx.GraphProto:
        nodes = [helper.make_node("LSTM", ["X", "W", "R", "B"], [f"{direction}_Y", f"{direction}_Y_h"],
                                  hidden_size=HIDDEN, direction=direction),
                 helper.make_node("Squeeze", [f"{direction}_Y", "axes"], [f"{direction}_out"])]
        outputs = [support.tensor_info(f"{direction}_out", "float32", ["seq", "batch", HIDDEN]),
                   support.tensor_info(f"{direction}_Y_h", "float32", [1, "batch", HIDDEN])]
        return helper.make_graph(nodes, f"{direction}_branch", [], outputs)

    if condition == "shape":
        nodes = [helper.make_node("Shape", ["X"], ["shape"]),
                 helper.make_node("Gather", ["shape", "two"], ["features"], axis=0),
                 helper.make_node("Equal", ["features", "eight"], ["cond"])]
        constants = [("two", np.array(2, np.int64)), ("eight", np.array(FEATURES, np.int64))]
    else:
        nodes = [helper.make_node("Constant", [], ["cond"], value=helper.make_tensor(
            "value", TensorProto.BOOL, [], [condition == "true"]))]
        constants = []
    nodes.append(helper.make_node("If", ["cond"], ["Y", "Y_h"], then_branch=branch("forward"),
                                  else_branch=branch("reverse")))
    return support.make_model(
        nodes, [support.tensor_info("X", "float32", ["seq", "batch", FEATURES])],
        [support.tensor_info("Y", "float32", ["seq", "batch", HIDDEN]),
         support.tensor_info("Y_h", "float32", [1, "batch", HIDDEN])],
        list(weights.items()) + [axes] + constants, opset=17)


@pytest.mark.parametrize("condition", ["false", "shape"])  # else branch by a Constant; then by a folded test
def test_lstm_inside_if_compiles_and_matches(condition):
    model = lstm_in_if(condition)
    onnx.checker.check_model(model, full_check=True)
    for index, (batch, seq) in enumerate([(1, 1), (3, 10)]):
        feeds = {"X": support.random_input((seq, batch, FEATURES), seed=index)}
        support.assert_matches_onnxruntime(model, feeds)
    # the branch taken is the one the condition names: the two directions differ
    feeds = {"X": support.random_input((6, 2, FEATURES), seed=5)}
    forward = support.run_onnxruntime(lstm_in_if("true"), feeds)[0]
    reverse = support.run_onnxruntime(lstm_in_if("false"), feeds)[0]
    assert not np.allclose(forward, reverse)


# --- the whole models with the sequence axis fixed at compile time ---------------------------
# The symbolic-sequence test above is the requirement; this one checks the same files with the
# sequence length pinned through `input_shapes` (batch still symbolic), which isolates the
# recurrences from symbolic-length support in the ops around them (Conv, Slice).
FIXED = {"crnn": 16, "gru_classifier": 12, "keras_lstm": 23}


@pytest.mark.slow
@pytest.mark.parametrize("name", FIXED)
def test_whole_model_with_the_sequence_length_fixed_at_compile_time(name):
    model, seq = load(name), FIXED[name]
    input_name = model.graph.input[0].name
    shapes = {input_name: list(MODELS[name][1]("batch", seq))}
    for index, batch in enumerate((1, 3)):
        support.assert_matches_onnxruntime(model, make_input(name, batch, seq, seed=10 + index), input_shapes=shapes)
