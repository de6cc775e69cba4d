import numpy as np
import pytest
from onnx import helper

import support
from convrnn.compiler.passes import run_pipeline
from convrnn.frontend import import_onnx


def _conv_bn_model(channels=8, group=1, with_bias=True, second_reader=False):
    rng = np.random.default_rng(0)
    inits = [("W", rng.standard_normal((channels, 4 // group, 3, 3)).astype(np.float32)),
             ("scale", rng.uniform(0.5, 2, channels).astype(np.float32)),
             ("shift", rng.standard_normal(channels).astype(np.float32)),
             ("mean", rng.standard_normal(channels).astype(np.float32)),
             ("var", rng.uniform(0.1, 3, channels).astype(np.float32))]
    conv_inputs = ["x", "W"]
    if with_bias:
        inits.append(("B", rng.standard_normal(channels).astype(np.float32)))
        conv_inputs.append("B")
    nodes = [helper.make_node("Conv", conv_inputs, ["c"], pads=[1, 1, 1, 1], group=group),
             helper.make_node("BatchNormalization", ["c", "scale", "shift", "mean", "var"], ["bn"], epsilon=1e-3),
             helper.make_node("Relu", ["bn"], ["y"])]
    outputs = [support.tensor_info("y", "float32", ["n", channels, 6, 6])]
    if second_reader:
        nodes.append(helper.make_node("Sigmoid", ["c"], ["z"]))
        outputs.append(support.tensor_info("z", "float32", ["n", channels, 6, 6]))
    return support.make_model(nodes, [support.tensor_info("x", "float32", ["n", 4, 6, 6])], outputs, inits)


@pytest.mark.parametrize("channels, group, with_bias", [(8, 1, True), (16, 1, False), (4, 4, True), (32, 2, False)])
def test_batch_norm_folds_into_conv_and_numbers_hold(channels, group, with_bias):
    model = _conv_bn_model(channels, group, with_bias)
    graph = run_pipeline(import_onnx(model), stop_after="fold_batch_norm", verify=True)
    assert [n.op for n in graph.nodes] == ["Conv", "Relu"]
    assert len(graph.nodes[0].inputs) == 3 and graph.is_constant(graph.nodes[0].inputs[2])
    for batch in (1, 2):
        # Folding reassociates the arithmetic: float32 rounding differs at about 1e-6 relative.
        support.assert_matches_onnxruntime(model, {"x": support.random_input((batch, 4, 6, 6), seed=batch)},
                                           rtol=1e-4, atol=1e-4)


def test_conv_read_elsewhere_keeps_its_batch_norm():
    model = _conv_bn_model(second_reader=True)
    graph = run_pipeline(import_onnx(model), stop_after="fold_batch_norm", verify=True)
    assert [n.op for n in graph.nodes] == ["Conv", "BatchNormalization", "Relu", "Sigmoid"]
    support.assert_matches_onnxruntime(model, {"x": support.random_input((1, 4, 6, 6))})
