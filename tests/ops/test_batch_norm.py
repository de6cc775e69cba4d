"""BatchNormalization (inference) against onnxruntime, opsets 9, 14, 15; training is refused."""
import numpy as np
import pytest
from onnx import helper

import support


def batch_norm_case(x_shape, opset=15, batch_name=None, params_dtype="float32", **attrs):
    rng = np.random.default_rng(5)
    channels = x_shape[1]
    params = [("scale", rng.uniform(0.5, 2, channels)), ("bias", rng.standard_normal(channels)),
              ("mean", rng.standard_normal(channels)), ("var", rng.uniform(0.1, 3, channels))]
    inits = [(name, value.astype(params_dtype)) for name, value in params]
    node = helper.make_node("BatchNormalization", ["X"] + [name for name, _ in params], ["Y"], **attrs)
    inputs = [support.tensor_info("X", "float32", [batch_name or x_shape[0], *x_shape[1:]])]
    model = support.make_model([node], inputs, [support.tensor_info("Y", "float32", None)], inits, opset=opset)
    return model, {"X": support.random_input(x_shape, seed=6)}


@pytest.mark.parametrize("opset", [9, 14, 15])
@pytest.mark.parametrize("x_shape", [(2, 16, 5, 7), (3, 8), (1, 4, 9)], ids=str)
def test_batch_norm(opset, x_shape):
    support.assert_matches_onnxruntime(*batch_norm_case(x_shape, opset=opset, epsilon=1e-3))


def test_batch_norm_symbolic_batch_and_default_epsilon():
    for batch in (1, 4):
        support.assert_matches_onnxruntime(*batch_norm_case((batch, 8, 3, 3), batch_name="N"))


def test_batch_norm_opset7_spatial():
    support.assert_matches_onnxruntime(*batch_norm_case((2, 4, 3, 3), opset=7, spatial=1))


def test_batch_norm_training_mode_is_unsupported():
    from convrnn.compiler.errors import UnsupportedError

    model, _ = batch_norm_case((2, 4, 3, 3), opset=15, training_mode=1)
    with pytest.raises(UnsupportedError, match="training_mode"):
        support.compile_cached(model)


def test_batch_norm_wrong_channel_count():
    from convrnn.compiler.errors import ModelError

    model, _ = batch_norm_case((2, 4, 3, 3))
    model.graph.input[0].type.tensor_type.shape.dim[1].dim_value = 5
    with pytest.raises(ModelError, match="channels"):
        support.compile_cached(model)
