"""fold_pad_into_conv: a zero spatial Pad before a Conv becomes the Conv's own pads."""
import numpy as np
import pytest
from onnx import helper

import support
from convrnn.compiler.passes import run_pipeline
from convrnn.frontend import import_onnx


def pad_conv_model(pads, mode="constant", value=0.0, conv_pads=(1, 1, 1, 1), second_reader=False):
    rng = np.random.default_rng(2)
    inits = [("W", (rng.standard_normal((8, 4, 3, 3)) * 0.3).astype(np.float32)),
             ("P", np.array(pads, np.int64)), ("V", np.array(value, np.float32))]
    nodes = [helper.make_node("Pad", ["x", "P", "V"], ["p"], mode=mode),
             helper.make_node("Conv", ["p", "W"], ["y"], pads=list(conv_pads))]
    outputs = [support.tensor_info("y", "float32", None)]
    if second_reader:
        nodes.append(helper.make_node("Relu", ["p"], ["z"]))
        outputs.append(support.tensor_info("z", "float32", None))
    return support.make_model(nodes, [support.tensor_info("x", "float32", ["n", 4, 6, 7])], outputs, inits)


@pytest.mark.parametrize("pads, conv_pads", [([0, 0, 1, 2, 0, 0, 3, 0], (1, 1, 1, 1)),
                                             ([0, 0, 2, 2, 0, 0, 2, 2], (0, 0, 0, 0))], ids=["uneven", "all"])
def test_zero_pad_folds_into_conv_and_numbers_hold(pads, conv_pads):
    model = pad_conv_model(pads, conv_pads=conv_pads)
    graph = run_pipeline(import_onnx(model), stop_after="eliminate_dead_code", verify=True)
    assert [n.op for n in graph.nodes] == ["Conv"]
    rank = 2
    expected = [c + p for c, p in zip(conv_pads, pads[2:2 + rank] + pads[4 + 2:4 + 2 + rank])]
    assert graph.nodes[0].attrs["pads"] == expected
    for batch in (1, 3):
        support.assert_matches_onnxruntime(model, {"x": support.random_input((batch, 4, 6, 7), seed=batch)})


@pytest.mark.parametrize("case", [dict(mode="reflect"), dict(value=1.5),
                                  dict(pads=[0, 0, -1, 1, 0, 0, 1, 1]), dict(second_reader=True)],
                         ids=["reflect", "nonzero_value", "negative", "read_elsewhere"])
def test_other_pads_stay(case):
    options = {"pads": [0, 0, 1, 1, 0, 0, 1, 1], **case}
    model = pad_conv_model(**options)
    graph = run_pipeline(import_onnx(model), stop_after="eliminate_dead_code", verify=True)
    assert "Pad" in [n.op for n in graph.nodes]
    support.assert_matches_onnxruntime(model, {"x": support.random_input((2, 4, 6, 7), seed=5)})
