"""Bad recurrent layers and bad inputs get clear errors, at compile time where the model
shows the problem and at run time where only the data does."""
from __future__ import annotations

import numpy as np
import pytest
from onnx import helper

import support
from convrnn.compiler.errors import ModelError, UnsupportedError
from convrnn.runtime import InputError

H, I = 4, 3


def lstm_model(inputs=("X", "W", "R", "", "sequence_lens", "initial_h"), hidden_size=H, w_shape=(1, 4 * H, I),
               r_shape=(1, 4 * H, H), weights_as_inputs=(), lens_constant=None, **attrs):
    rng = np.random.default_rng(0)
    weights = {"W": rng.standard_normal(w_shape).astype(np.float32),
               "R": rng.standard_normal(r_shape).astype(np.float32)}
    graph_inputs = [support.tensor_info("X", np.float32, ["seq", "batch", I]),
                    support.tensor_info("initial_h", np.float32, [1, "h_batch", H])]
    initializers = [(n, a) for n, a in weights.items() if n not in weights_as_inputs]
    graph_inputs += [support.tensor_info(n, np.float32, list(weights[n].shape)) for n in weights_as_inputs]
    if lens_constant is not None:
        initializers.append(("sequence_lens", np.array(lens_constant, np.int32)))
    elif "sequence_lens" in inputs:
        graph_inputs.append(support.tensor_info("sequence_lens", np.int32, ["batch"]))
    node = helper.make_node("LSTM", list(inputs), ["Y", "Y_h"], hidden_size=hidden_size, **attrs)
    outputs = [support.tensor_info(n, np.float32, None) for n in ("Y", "Y_h")]
    return support.make_model([node], graph_inputs, outputs, initializers, opset=14)


def feeds(seq=5, batch=2, lens=(5, 3), h_batch=None):
    rng = np.random.default_rng(1)
    return {"X": rng.standard_normal((seq, batch, I)).astype(np.float32),
            "initial_h": rng.standard_normal((1, h_batch or batch, H)).astype(np.float32),
            "sequence_lens": np.array(lens, np.int32)}


def test_valid_model_runs():
    support.assert_matches_onnxruntime(lstm_model(), feeds())


@pytest.mark.parametrize("lens", [(6, 3), (5, -1)])
def test_sequence_lens_outside_the_sequence_fails_at_run_time(lens):
    model = support.compile_cached(lstm_model())
    with pytest.raises(InputError, match=r"sequence_lens entries must lie in \[0, seq_length\]"):
        model.run(**feeds(lens=lens))


def test_constant_sequence_lens_outside_the_sequence_fails_at_compile_time():
    model = lstm_model(lens_constant=[7, 2])
    with pytest.raises(ModelError, match="sequence_lens"):
        support.compile_cached(model, input_shapes={"X": [5, 2, I]})


def test_initial_state_batch_mismatch_fails_at_run_time():
    model = support.compile_cached(lstm_model())
    with pytest.raises(InputError, match="initial state must have the batch size of X"):
        model.run(**feeds(h_batch=3))


def test_hidden_size_inconsistent_with_r():
    with pytest.raises(ModelError, match="hidden_size is 5"):
        support.compile_cached(lstm_model(hidden_size=5))


def test_w_inconsistent_with_x():
    with pytest.raises(ModelError, match="W has shape"):
        support.compile_cached(lstm_model(w_shape=(1, 4 * H, I + 1)))


def test_r_inconsistent_with_direction():
    with pytest.raises(ModelError, match="R has shape"):
        support.compile_cached(lstm_model(direction="bidirectional"))


def test_missing_required_input():
    with pytest.raises(ModelError, match="required input 2 is missing"):
        support.compile_cached(lstm_model(inputs=("X", "W", "")))


def test_weights_must_be_constants():
    with pytest.raises(UnsupportedError, match=r"input 2 \(R\) must be a compile-time constant"):
        support.compile_cached(lstm_model(weights_as_inputs=("R",)))


def test_unknown_activation_is_refused():
    with pytest.raises(UnsupportedError, match="activation 'Swish'"):
        support.compile_cached(lstm_model(activations=["Sigmoid", "Swish", "Tanh"]))


def test_wrong_number_of_activations():
    with pytest.raises(ModelError, match="activations lists 2 functions, expected 3"):
        support.compile_cached(lstm_model(activations=["Sigmoid", "Tanh"]))
