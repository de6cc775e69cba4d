"""select_winograd: eligible 3x3 convs become Winograd convolutions, with the same numbers."""
import sys

import numpy as np
import pytest
from onnx import helper

import support
from convrnn.compiler.passes import run_pipeline
from convrnn.frontend import import_onnx
from convrnn.schedules.winograd import MATRICES, matrix, transform_weight

PASS_MODULE = sys.modules["convrnn.compiler.passes.select_winograd"]  # the package re-exports the function
DEFAULT_MIN_MULTIPLY_ADDS = PASS_MODULE.MIN_MULTIPLY_ADDS
DEFAULT_MIN_CHANNEL_MEAN = PASS_MODULE.MIN_CHANNEL_MEAN


def conv_model(channels=16, out_channels=32, size=(10, 9), pads=(1, 1, 1, 1), strides=(1, 1), dilations=(1, 1),
               group=1, kernel=3, bias=True, relu_residual=False, weight_input=False):
    rng = np.random.default_rng(4)
    weight = (rng.standard_normal((out_channels, channels // group, kernel, kernel)) / np.sqrt(9 * channels))
    inits = [] if weight_input else [("W", weight.astype(np.float32))]
    inputs = [support.tensor_info("x", "float32", ["n", channels, *size])]
    if weight_input:
        inputs.append(support.tensor_info("W", "float32", list(weight.shape)))
    if bias:
        inits.append(("B", rng.standard_normal(out_channels).astype(np.float32)))
    nodes = [helper.make_node("Conv", ["x", "W"] + (["B"] if bias else []), ["y"], kernel_shape=[kernel, kernel],
                              pads=list(pads), strides=list(strides), dilations=list(dilations), group=group)]
    out = "y"
    if relu_residual:  # conv -> Relu -> + r: the conv's fused epilogue
        nodes += [helper.make_node("Relu", ["y"], ["a"]), helper.make_node("Add", ["a", "r"], ["z"])]
        heights = [s + p0 + p1 - 2 for s, p0, p1 in zip(size, pads[:2], pads[2:])]
        inputs.append(support.tensor_info("r", "float32", ["n", out_channels, *heights]))
        out = "z"
    return support.make_model(nodes, inputs, [support.tensor_info(out, "float32", None)], inits)


@pytest.fixture(autouse=True)
def small_layers_qualify(monkeypatch):
    """The tests' layers are small: let them take the Winograd path (the size threshold is
    tested on its own below)."""
    monkeypatch.setattr(PASS_MODULE, "MIN_MULTIPLY_ADDS", 0)
    monkeypatch.setattr(PASS_MODULE, "MIN_CHANNEL_MEAN", 0)


def ops(model):
    return [n.op for n in run_pipeline(import_onnx(model), verify=True).nodes]


@pytest.mark.parametrize("channels, out_channels, size, winograd", [
    (64, 64, (56, 56), True), (256, 256, (14, 14), True), (64, 128, (28, 28), True),
    (32, 32, (56, 56), False), (128, 128, (14, 14), False),
    (32, 32, (450, 80), False), (32, 128, (56, 56), False)])  # many multiply-adds, too few channels
def test_only_layers_big_enough_to_gain_take_winograd(monkeypatch, channels, out_channels, size, winograd):
    monkeypatch.setattr(PASS_MODULE, "MIN_MULTIPLY_ADDS", DEFAULT_MIN_MULTIPLY_ADDS)
    monkeypatch.setattr(PASS_MODULE, "MIN_CHANNEL_MEAN", DEFAULT_MIN_CHANNEL_MEAN)
    model = conv_model(channels=channels, out_channels=out_channels, size=size)
    assert ("WinogradConv" in ops(model)) is winograd


@pytest.mark.parametrize("tile", sorted(MATRICES))
def test_the_transforms_compute_a_3x3_correlation(tile):
    rng = np.random.default_rng(tile)
    alpha = tile + 2
    d, g = rng.standard_normal((alpha, alpha)), rng.standard_normal((1, 1, 3, 3))  # a tile, a 3x3 window
    u = matrix(tile, "G") @ g[0, 0] @ matrix(tile, "G").T
    y = matrix(tile, "AT") @ (u * (matrix(tile, "BT") @ d @ matrix(tile, "BT").T)) @ matrix(tile, "AT").T
    direct = [[np.sum(d[i:i + 3, j:j + 3] * g[0, 0]) for j in range(tile)] for i in range(tile)]
    np.testing.assert_allclose(y, direct, atol=1e-12)


def test_the_packed_weight_holds_each_channel_pair_transform():
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((32, 16, 3, 3)).astype(np.float32)
    packed = transform_weight(weight, 2)
    assert packed.shape == (4, 4, 2, 16, 16)
    g = matrix(2, "G")
    k, c = 21, 5  # output channel 21 is lane 5 of block 1
    np.testing.assert_allclose(packed[:, :, 1, c, 5], g @ weight[k, c].astype(np.float64) @ g.T, rtol=1e-6)


@pytest.mark.parametrize("case", [dict(), dict(size=(9, 11), pads=(0, 1, 2, 1)), dict(bias=False),
                                  dict(relu_residual=True), dict(channels=32, out_channels=16, size=(8, 8))],
                         ids=["plain", "odd_size_uneven_pads", "no_bias", "relu_residual", "exactly_8x8"])
def test_eligible_conv_becomes_winograd_and_numbers_hold(case):
    model = conv_model(**case)
    assert "WinogradConv" in ops(model) and "Conv" not in ops(model)
    size = case.get("size", (10, 9))
    channels = case.get("channels", 16)
    for batch in (1, 3):  # one artifact, symbolic batch
        feeds = {"x": support.random_input((batch, channels, *size), seed=batch)}
        if case.get("relu_residual"):
            pads = case.get("pads", (1, 1, 1, 1))
            out = [s + p0 + p1 - 2 for s, p0, p1 in zip(size, pads[:2], pads[2:])]
            feeds["r"] = support.random_input((batch, case.get("out_channels", 32), *out), seed=9)
        support.assert_matches_onnxruntime(model, feeds, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("case", [dict(strides=(2, 2)), dict(dilations=(2, 2)), dict(group=2), dict(kernel=1, pads=(0, 0, 0, 0)),
                                  dict(channels=8), dict(out_channels=24), dict(size=(6, 6)), dict(weight_input=True)],
                         ids=["strided", "dilated", "grouped", "1x1", "8_in_channels", "24_out_channels",
                              "small_output", "weight_not_constant"])
def test_other_convs_stay_direct(case):
    assert "WinogradConv" not in ops(conv_model(**case))


def test_tile_4_matches_within_its_rounding(monkeypatch):
    """F(4x4, 3x3): 4x fewer multiplies, larger coefficients; the op supports it."""
    monkeypatch.setattr(PASS_MODULE, "TILE", 4)
    model = conv_model(size=(13, 12))
    graph = run_pipeline(import_onnx(model))
    assert [n.attrs["tile"] for n in graph.nodes if n.op == "WinogradConv"] == [4]
    feeds = {"x": support.random_input((2, 16, 13, 12), seed=3)}
    (got,) = support.compile_cached(support.make_model(  # a distinct model: the cache must not serve tile 2
        model.graph.node, model.graph.input, model.graph.output, model.graph.initializer, name="tile4")).run(**feeds)
    np.testing.assert_allclose(got, support.run_onnxruntime(model, feeds)[0], rtol=1e-3, atol=1e-4)


def test_every_knob_choice_schedules():
    from convrnn.compiler.lower import lower_node
    from convrnn.compiler.target import parse_target
    from convrnn.schedules.registry import get_op

    target = parse_target("cpu")
    graph = run_pipeline(import_onnx(conv_model(channels=16, out_channels=32, size=(12, 12))))
    (node,) = [n for n in graph.nodes if n.op == "WinogradConv"]
    space = get_op("WinogradConv").knob_space([v.type for v in node.inputs if v is not None], node.attrs,
                                              [v.type for v in node.outputs], target)
    assert space["k_tile"] == [16, 32] and 6 in space["p_tile"]  # 6x6 tiles of 2x2: P = 36
    for knobs in ({"p_tile": 4, "k_tile": 32}, {"p_tile": 9, "k_tile": 16}):
        node.attrs["knobs"] = knobs
        lower_node(node, target)  # schedules without error for each choice


def test_a_conv_whose_transformed_product_would_overflow_stays_direct_and_builds(tmp_path):
    # 16 -> 128 channels over a 900 x 161 spectrogram at a symbolic batch: the input's transform
    # is small (9M elements), the product's 75M (2.4G bits, past TVM's 32-bit sizes): direct
    from convrnn.compiler import compile_model

    model = conv_model(channels=16, out_channels=128, size=(900, 161))
    assert "WinogradConv" not in ops(model)
    compile_model(model, tmp_path / "artifact")  # used to fail: "Literal value 2388787200 exceeds range of int32"
