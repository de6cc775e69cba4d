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
    (32, 128, (56, 56), True), (64, 32, (900, 161), True), (32, 32, (56, 56), False), (128, 128, (14, 14), True),
    (128, 128, (8, 8), False), (64, 64, (28, 28), False),
    (32, 32, (450, 80), False), (16, 128, (56, 56), False)])  # many multiply-adds, too few channels
# wide channels (mean 128) gain from 10M multiply-adds (128 x 128 x 9 at 14 x 14: 28.9M; at 8 x 8:
# 9.4M); a mean of 64 only from 50M (at 28 x 28: 28.9M)
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
    from convrnn.schedules.implementations import implementation

    target = parse_target("cpu")
    graph = run_pipeline(import_onnx(conv_model(channels=16, out_channels=32, size=(12, 12))))
    (node,) = [n for n in graph.nodes if n.op == "WinogradConv"]
    space = implementation("WinogradConv", "llvm").knob_space([v.type for v in node.inputs if v is not None], node.attrs,
                                              [v.type for v in node.outputs], target)
    assert space["k_tile"] == [16, 32] and 6 in space["p_tile"]  # 6x6 tiles of 2x2: P = 36
    for knobs in ({"p_tile": 4, "k_tile": 32}, {"p_tile": 9, "k_tile": 16}):
        node.attrs["knobs"] = knobs
        lower_node(node, target)  # schedules without error for each choice


def refuse_fallback(*args):
    raise AssertionError("the Winograd template failed to schedule: the generic schedule was used")


def banded_model(name, **case):
    model = conv_model(**case)
    return support.make_model(model.graph.node, model.graph.input, model.graph.output, model.graph.initializer,
                              name=name)  # distinct models: the compile cache must not serve an unbanded build


@pytest.mark.parametrize("case", [dict(size=(20, 9)), dict(size=(20, 9), relu_residual=True),
                                  dict(size=(19, 9), pads=(0, 1, 2, 1))],
                         ids=["plain", "relu_residual", "odd_output_height_unbanded"])
def test_an_image_past_the_band_budget_runs_in_bands_with_the_same_numbers(monkeypatch, case):
    from convrnn.schedules import winograd
    from convrnn.schedules.cpu import generic

    # 16 -> 64 channels, 10 x 5 tiles of 2 x 2: 5,120 elements per tile row; a budget of 3 rows
    monkeypatch.setattr(winograd, "BAND_ELEMENTS", 3 * 16 * 5 * 64)
    monkeypatch.setattr(generic, "schedule_generic", refuse_fallback)  # the banded template must hold
    case = dict(channels=16, out_channels=64, **case)
    out_height = case["size"][0] + sum(case.get("pads", (1, 1, 1, 1))[0::2]) - 2
    assert winograd.band_tile_rows(out_height, 9, 16, 64, 2) == (2 if out_height % 2 == 0 else None)
    model = banded_model(f"banded_{'_'.join(map(str, case['size']))}_{case.get('relu_residual', False)}", **case)
    assert "WinogradConv" in ops(model)
    size = case["size"]
    for batch in (1, 2):
        feeds = {"x": support.random_input((batch, 16, *size), seed=batch)}
        if case.get("relu_residual"):
            feeds["r"] = support.random_input((batch, 64, out_height, 9), seed=9)
        support.assert_matches_onnxruntime(model, feeds, rtol=1e-4, atol=1e-5)


def test_a_band_takes_a_register_tile_dividing_its_tiles():
    from convrnn.schedules.cpu.winograd import winograd_knobs

    assert winograd_knobs(810, 64, 16, banded=True) == {"p_tile": 6, "k_tile": 64}
    assert winograd_knobs(405, 64, 16, banded=True) == {"p_tile": 5, "k_tile": 64}
    assert winograd_knobs(405, 32, 16, banded=True)["k_tile"] == 16  # 64 does not divide the channels


def test_a_conv_whose_whole_transformed_product_would_overflow_runs_in_bands(monkeypatch):
    from convrnn.schedules.cpu import generic

    monkeypatch.setattr(generic, "schedule_generic", refuse_fallback)
    # 16 -> 128 channels over a 900 x 161 spectrogram at a symbolic batch: the whole image's
    # product is 75M elements (2.4G bits, past TVM's 32-bit sizes); a band's fits
    model = conv_model(channels=16, out_channels=128, size=(900, 161))
    assert "WinogradConv" in ops(model)
    feeds = {"x": support.random_input((1, 16, 900, 161), seed=1)}
    support.assert_matches_onnxruntime(model, feeds, rtol=1e-4, atol=1e-5)  # used to fail to build:
    # "Literal value 2388787200 exceeds range of int32"


def test_an_odd_output_height_past_the_transform_limit_stays_direct():
    model = conv_model(channels=16, out_channels=128, size=(899, 161))
    assert "WinogradConv" not in ops(model)


def test_every_knob_choice_of_a_banded_conv_schedules_as_bands(monkeypatch):
    from convrnn.compiler.lower import lower_node
    from convrnn.compiler.target import parse_target
    from convrnn.schedules import winograd
    from convrnn.schedules.cpu import generic
    from convrnn.schedules.implementations import implementation

    monkeypatch.setattr(winograd, "BAND_ELEMENTS", 3 * 16 * 5 * 64)  # 10 tile rows, bands of 2
    monkeypatch.setattr(generic, "schedule_generic", refuse_fallback)
    target = parse_target("cpu")
    graph = run_pipeline(import_onnx(conv_model(channels=16, out_channels=64, size=(20, 9))))
    (node,) = [n for n in graph.nodes if n.op == "WinogradConv"]
    space = implementation("WinogradConv", "llvm").knob_space([v.type for v in node.inputs if v is not None], node.attrs,
                                              [v.type for v in node.outputs], target)
    assert space["band_rows"] == [1, 2] and space["k_tile"] == [16, 32, 64]  # twice 2 divides no 10 rows
    for band_rows in space["band_rows"] + [3, 5]:  # 3: the nearest divisor, 2
        for p_tile in (7, 12):  # dividing neither a band's 10 or 25 tiles nor the image's 50
            node.attrs["knobs"] = {"band_rows": band_rows, "p_tile": p_tile, "k_tile": 64}
            lower_node(node, target)
