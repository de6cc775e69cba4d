"""batch_norm_as_affine: a BatchNormalization no conv absorbs becomes a per-channel multiply and
add that stays in the blocked layout, with onnxruntime's numbers."""
import numpy as np
import pytest
from onnx import helper

import support
from convrnn.compiler.passes import run_pipeline
from convrnn.frontend import import_onnx


def _bn_params(prefix, channels, seed):
    rng = np.random.default_rng(seed)
    return [(f"{prefix}_scale", rng.uniform(0.5, 1.5, channels).astype(np.float32)),
            (f"{prefix}_bias", rng.standard_normal(channels).astype(np.float32)),
            (f"{prefix}_mean", rng.standard_normal(channels).astype(np.float32)),
            (f"{prefix}_var", rng.uniform(0.5, 2.0, channels).astype(np.float32))]


def _bn(source, out, prefix):
    return helper.make_node("BatchNormalization", [source] + [f"{prefix}_{p}" for p in ("scale", "bias", "mean", "var")],
                            [out], epsilon=1e-3)


def test_a_batch_norm_after_a_pool_stays_in_the_layout():
    # a captcha CRNN's stage: conv, max pool, batch norm, then the next conv
    rng = np.random.default_rng(0)
    inits = [("w1", (rng.standard_normal((32, 8, 3, 3)) * 0.2).astype(np.float32)),
             ("w2", (rng.standard_normal((32, 32, 3, 3)) * 0.1).astype(np.float32))] + _bn_params("bn", 32, 1)
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
             _bn("p1", "b1", "bn"),
             helper.make_node("Conv", ["b1", "w2"], ["y"], pads=[1, 1, 1, 1])]
    model = support.make_model(nodes, [support.tensor_info("x", "float32", ["n", 8, 12, 18])],
                               [support.tensor_info("y", "float32", None)], inits)
    ops = [n.op for n in run_pipeline(import_onnx(model), verify=True).nodes]
    assert "BatchNormalization" not in ops and ops.count("FromBlocked") == 1 and ops[-1] == "FromBlocked", ops
    support.assert_matches_onnxruntime(model, {"x": support.random_input((2, 8, 12, 18))})


@pytest.mark.parametrize("shape", [(2, 5, 7), (1, 3, 4, 6)], ids=str)
def test_a_batch_norm_of_an_input_matches(shape):
    model = support.make_model([_bn("x", "y", "bn")], [support.tensor_info("x", "float32", list(shape))],
                               [support.tensor_info("y", "float32", None)], _bn_params("bn", shape[1], 2))
    assert "BatchNormalization" not in [n.op for n in run_pipeline(import_onnx(model), verify=True).nodes]
    support.assert_matches_onnxruntime(model, {"x": support.random_input(shape)})
