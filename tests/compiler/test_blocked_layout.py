"""blocked_layout: conv chains run in NCHW{c}, converted only at their boundaries, with the same numbers."""
import numpy as np
import pytest
from onnx import helper

import support
from convrnn.compiler.passes import run_pipeline
from convrnn.frontend import import_onnx
from convrnn.schedules.conv_layout import ACTIVATION_BLOCK


class Builder:
    """A small ONNX graph written one conv (or op) at a time."""

    def __init__(self, channels, size, seed=0, width="w"):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits = [], []
        self.inputs = [support.tensor_info("x", "float32", ["n", channels, size[0], width or size[1]])]
        self.channels = {"x": channels}
        self.count = 0

    def name(self, prefix):
        self.count += 1
        return f"{prefix}{self.count}"

    def conv(self, source, out_channels, kernel=3, stride=1, pad=1, group=1, dilation=1, bias=True, act=None):
        channels = self.channels[source]
        w = self.name("W")
        fan_in = channels // group * kernel * kernel
        self.inits.append((w, (self.rng.standard_normal((out_channels, channels // group, kernel, kernel))
                               / np.sqrt(fan_in)).astype(np.float32)))
        inputs = [source, w]
        if bias:
            inputs.append(self.name("B"))
            self.inits.append((inputs[-1], self.rng.standard_normal(out_channels).astype(np.float32)))
        out = self.name("conv")
        self.nodes.append(helper.make_node("Conv", inputs, [out], kernel_shape=[kernel, kernel], strides=[stride] * 2,
                                           pads=[pad] * 4, group=group, dilations=[dilation] * 2))
        self.channels[out] = out_channels
        return self.op(act, out) if act else out

    def op(self, op, *sources, **attrs):
        out = self.name(op.lower())
        if op == "Clip":
            bounds = [self.name("lo"), self.name("hi")]
            self.inits += [(bounds[0], np.array(0, np.float32)), (bounds[1], np.array(6, np.float32))]
            sources = (*sources, *bounds)
        self.nodes.append(helper.make_node(op, list(sources), [out], **attrs))
        self.channels[out] = self.channels[sources[0]]
        return out

    def model(self, *outputs):
        return support.make_model(self.nodes, self.inputs, [support.tensor_info(o, "float32", None) for o in outputs],
                                  self.inits)


def ops(model):
    return [n.op for n in run_pipeline(import_onnx(model), verify=True).nodes]


def inverted_residual(b, source, channels, expand, stride):
    hidden = b.conv(source, channels * expand, kernel=1, pad=0, act="Relu")
    hidden = b.conv(hidden, channels * expand, stride=stride, group=channels * expand, act="Clip")
    out = b.conv(hidden, channels, kernel=1, pad=0)
    return b.op("Add", out, source) if stride == 1 else out


def mobile_net(width="w"):
    b = Builder(3, (12, 10), width=width)
    x = b.conv("x", 12, stride=2, act="Relu")           # 3 NCHW channels in, 12 (padded to 16) out
    x = inverted_residual(b, x, 12, 2, 1)               # 24 hidden channels, a residual add
    x = inverted_residual(b, x, 12, 3, 2)               # a stride-2 depthwise
    x = b.conv(x, 20, kernel=1, pad=0, act="Relu")
    return b, b.op("GlobalAveragePool", x)


def test_a_conv_chain_runs_blocked_between_one_conversion_out():
    b, out = mobile_net()
    got = ops(b.model(out))
    assert got.count("ConvBlocked") == 8 and "Conv" not in got
    assert got.count("FromBlocked") == 1 and got[-1] == "FromBlocked" and "ToBlocked" not in got
    assert "GlobalAveragePool" in got


def test_the_chain_gives_onnxruntime_numbers_at_any_batch_and_width():
    b, out = mobile_net()
    model = b.model(out)
    for shape in ((1, 3, 12, 10), (2, 3, 12, 7)):  # one artifact: symbolic batch and width
        support.assert_matches_onnxruntime(model, {"x": support.random_input(shape, seed=shape[0])},
                                           rtol=1e-4, atol=1e-5)


def test_the_chain_runs_blocked_over_a_symbolic_height_too():
    # real models declare every axis symbolic (PP-OCR: [-1, 3, ?, ?])
    b, out = mobile_net()
    model = b.model(out)
    model.graph.input[0].type.tensor_type.shape.dim[2].dim_param = "h"
    assert ops(model).count("ConvBlocked") == 8
    for shape in ((1, 3, 12, 10), (2, 3, 9, 7), (1, 3, 16, 5)):
        support.assert_matches_onnxruntime(model, {"x": support.random_input(shape, seed=shape[2])},
                                           rtol=1e-4, atol=1e-5)


def test_blocked_values_read_outside_the_layout_are_converted_once():
    """A value read by a blocked conv and by a Sigmoid, and also a graph output."""
    b = Builder(8, (9, 9))
    a = b.conv("x", 24)
    d = b.conv(b.conv(a, 16, stride=2, act="Relu"), 16)
    s = b.op("Sigmoid", a)
    model = b.model(a, d, s)
    got = ops(model)
    assert got.count("ConvBlocked") == 3 and got.count("FromBlocked") == 2  # a (once, for both readers) and d
    support.assert_matches_onnxruntime(model, {"x": support.random_input((2, 8, 9, 9))}, rtol=1e-4, atol=1e-5)


def test_a_residual_operand_from_outside_the_layout_is_blocked_on_the_way_in():
    b = Builder(16, (8, 8))
    a = b.conv("x", 16, act="Relu")
    c = b.conv(a, 16)
    out = b.op("Add", c, "x")  # x is NCHW: the fused residual reads it through a ToBlocked
    model = b.model(b.conv(out, 16, act="Relu"))
    got = ops(model)
    assert got.count("ToBlocked") == 1 and got.count("ConvBlocked") == 3
    support.assert_matches_onnxruntime(model, {"x": support.random_input((1, 16, 8, 8))}, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("pool", [dict(op="MaxPool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
                                  dict(op="AveragePool", kernel_shape=[2, 3], strides=[2, 1], pads=[0, 1, 0, 1],
                                       count_include_pad=0),
                                  dict(op="MaxPool", kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)],
                         ids=["max_3x3_s2", "average_excluding_pads", "max_ceil"])
def test_pools_between_convs_stay_blocked(pool):
    pool = dict(pool)
    op = pool.pop("op")
    b = Builder(4, (11, 13), seed=2, width=None)
    a = b.conv("x", 20, act="Relu")
    p = b.op(op, a, **pool)
    model = b.model(b.conv(p, 16, dilation=2, pad=2, act="Relu"))
    got = ops(model)
    assert got == ["ConvBlocked", op, "ConvBlocked", "FromBlocked"]
    support.assert_matches_onnxruntime(model, {"x": support.random_input((2, 4, 11, 13), seed=4)},
                                       rtol=1e-4, atol=1e-5)


def test_convs_that_only_nchw_readers_take_stay_nchw():
    b = Builder(8, (8, 8))
    a = b.conv("x", 16, act="Relu")
    model = b.model(b.op("Sigmoid", a))
    assert "ConvBlocked" not in ops(model)


@pytest.mark.parametrize("case", [dict(out_channels=4), dict(group=2)], ids=["few_channels", "grouped"])
def test_ineligible_convs_stay_nchw(case):
    b = Builder(8, (8, 8))
    a = b.conv("x", case.get("out_channels", 16), group=case.get("group", 1))
    got = ops(b.model(b.conv(a, 16)))
    assert got[0] == "Conv"


def test_the_weights_are_laid_out_once_padded_with_zeros():
    b = Builder(3, (8, 8))
    a = b.conv("x", 20, act="Relu")
    graph = run_pipeline(import_onnx(b.model(b.conv(a, 24))))
    first, second = [n for n in graph.nodes if n.op == "ConvBlocked"]
    block = ACTIVATION_BLOCK
    w1, w2 = (graph.constants[n.inputs[1].name] for n in (first, second))
    assert w1.shape == (2, 3, 3, 3, block) and first.attrs["in_block"] == 0
    assert w2.shape == (2, 2, 3, 3, block, block) and second.attrs["in_block"] == block
    assert not w1[1, ..., 4:].any()                    # output channels 20..31 are padding
    assert not w2[:, 1, :, :, 4:, :].any()             # so are input channels 20..31
    assert graph.constants[first.inputs[2].name].shape == (2 * block,)


@pytest.mark.parametrize("knobs", [dict(ow_tile=4, oh_tile=3, oc_blocks=2, channels_outer=False, pad="task"),
                                   dict(ow_tile=1, oh_tile=6, oc_blocks=1, channels_outer=True, pad="inline")],
                         ids=["two_blocks_rows_outer", "rows_only"])
def test_every_knob_choice_gives_the_same_numbers(monkeypatch, knobs):
    from convrnn.compiler.target import parse_target
    from convrnn.schedules.cpu import conv_blocked as conv_blocked_cpu
    from convrnn.schedules.implementations import implementation

    b = Builder(16, (6, 8), width=None)
    a = b.conv("x", 32, act="Relu")
    model = b.model(b.conv(a, 32))
    graph = run_pipeline(import_onnx(model))
    node = [n for n in graph.nodes if n.op == "ConvBlocked"][1]
    space = implementation("ConvBlocked", "llvm").knob_space([v.type for v in node.inputs if v is not None], node.attrs,
                                             [v.type for v in node.outputs], parse_target("cpu"))
    assert all(value in space[key] for key, value in knobs.items())
    monkeypatch.setattr(conv_blocked_cpu, "conv_blocked_knobs", lambda *args: dict(knobs))
    model.graph.name = f"knobs_{knobs['ow_tile']}"  # a distinct model: the cache must not serve the defaults
    support.assert_matches_onnxruntime(model, {"x": support.random_input((2, 16, 6, 8), seed=7)},
                                       rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("out_blocks, height, width, lanes", [
    (4, 300, 161, 16), (2, 80, 80, 16), (4, 25, 77, 16), (32, 7, 7, 16), (3, None, None, 16), (5, 10, 10, 16),
    (1, 160, 160, 16), (6, 80, 80, 16), (4, 300, 161, 8), (8, 12, 38, 8)])
def test_dense_register_tiles_fit_the_vector_registers(out_blocks, height, width, lanes):
    from convrnn.schedules.cpu.conv_blocked import MAX_OC_BLOCKS, SYMBOLIC_WIDTHS, dense_register_tile
    from convrnn.schedules.cpu.tiling import broadcast_tile_registers, vector_registers

    widths = SYMBOLIC_WIDTHS if width is None else None
    ow, oh, blocks = dense_register_tile(out_blocks, height, width, lanes, ACTIVATION_BLOCK, widths)
    assert out_blocks % blocks == 0 and blocks <= MAX_OC_BLOCKS
    assert broadcast_tile_registers(ow * oh, blocks * ACTIVATION_BLOCK // lanes) < vector_registers(lanes)
    assert height is None or height % oh == 0
    if lanes == 16 and out_blocks % 4 == 0 and (width or 14) >= 14:
        assert blocks == 4  # every broadcast input serves four channel blocks


def test_a_wide_row_of_four_channel_blocks_is_tiled_padded_and_reduced_row_by_row():
    """161 output positions of 64 channels from 256: 5 x 4 tiles (a partial last tile, so the
    row is computed padded to 165 and cropped in the write-back), the input channel blocks
    outermost along the row (a tile's weights, 576 KB, would stream from beyond L2 per tile);
    from 128 channels (288 KB) each tile reduces over all of them."""
    from convrnn.schedules.cpu.conv_blocked import conv_blocked_knobs, padded_width_tile

    attrs = dict(group=1, block=ACTIVATION_BLOCK, in_block=ACTIVATION_BLOCK, kernel_shape=[3, 3])
    knobs = conv_blocked_knobs(4, 3, 161, attrs, 16, in_blocks=16)
    assert (knobs["ow_tile"], knobs["oc_blocks"], knobs["reduce_rows"]) == (5, 4, True)
    assert not conv_blocked_knobs(4, 3, 161, attrs, 16, in_blocks=8)["reduce_rows"]
    assert not conv_blocked_knobs(4, 3, 161, attrs, 16, in_blocks=2)["reduce_rows"]
    assert padded_width_tile(attrs, 4, 3, 161, 2) == 5
    assert padded_width_tile(attrs, 4, 3, 160, 2) == 1  # whole tiles: nothing to crop


@pytest.mark.parametrize("out_blocks, size, kernel, strides, in_block, outer", [
    (32, (14, 14), [3, 3], [1, 1], 0, True),  # 256 -> 512 from the graph's input: the weight outweighs it
    (4, (112, 112), [7, 7], [2, 2], 0, False),  # a stem: 3 channels, its input outweighs the weight
    (32, (14, 14), [3, 3], [1, 1], ACTIVATION_BLOCK, False),  # a blocked input: positions outside
    (32, (None, None), [3, 3], [1, 1], 0, False)])  # symbolic: no size to weigh
def test_a_channels_first_input_smaller_than_the_weight_runs_channel_blocks_outside(
        out_blocks, size, kernel, strides, in_block, outer):
    from convrnn.schedules.cpu.conv_blocked import conv_blocked_knobs

    attrs = dict(group=1, block=ACTIVATION_BLOCK, in_block=in_block, kernel_shape=kernel, strides=strides)
    assert conv_blocked_knobs(out_blocks, *size, attrs, 16, in_blocks=16 if in_block else 1)["channels_outer"] is outer


@pytest.mark.parametrize("reduce_rows", [True, False], ids=["row_by_row", "tile_by_tile"])
def test_a_blocked_input_channel_block_is_reduced_in_straight_line_code(monkeypatch, reduce_rows):
    """The innermost reduction over one input block's 16 lanes is unrolled in either order."""
    from convrnn.compiler import tvm_adapter
    from convrnn.compiler.lower import lower_node
    from convrnn.compiler.target import parse_target
    from convrnn.schedules.cpu import conv_blocked as conv_blocked_cpu

    defaults = conv_blocked_cpu.conv_blocked_knobs
    monkeypatch.setattr(conv_blocked_cpu, "conv_blocked_knobs",
                        lambda *args, **kwargs: {**defaults(*args, **kwargs), "reduce_rows": reduce_rows})
    b = Builder(8, (6, 13), seed=5, width=None)
    a = b.conv("x", 32, act="Relu")
    graph = run_pipeline(import_onnx(b.model(b.conv(a, 64, act="Relu"))))
    node = [n for n in graph.nodes if n.op == "ConvBlocked"][-1]
    assert node.attrs["in_block"] == ACTIVATION_BLOCK
    script = tvm_adapter.script(lower_node(node, parse_target("cpu")))
    assert f"in T.unroll({ACTIVATION_BLOCK}):" in script  # the tile loops unroll 5 and 4 times


@pytest.mark.parametrize("reduce_rows", [True, False], ids=["row_by_row", "tile_by_tile"])
@pytest.mark.parametrize("width", [13, 15], ids=["padded", "whole_tiles"])
def test_both_reduction_orders_give_the_same_numbers(monkeypatch, reduce_rows, width):
    from convrnn.schedules.cpu import conv_blocked as conv_blocked_cpu

    defaults = conv_blocked_cpu.conv_blocked_knobs
    monkeypatch.setattr(conv_blocked_cpu, "conv_blocked_knobs",
                        lambda *args, **kwargs: {**defaults(*args, **kwargs), "reduce_rows": reduce_rows})
    b = Builder(8, (3, width), seed=2, width=None)
    a = b.conv("x", 32, act="Relu")
    model = b.model(b.conv(a, 64, act="Relu"))
    model.graph.name = f"rows_{reduce_rows}_{width}"
    support.assert_matches_onnxruntime(model, {"x": support.random_input((2, 8, 3, width), seed=width)},
                                       rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("task_rows", [2, 3, 4], ids=["two", "three", "not_a_divisor"])
@pytest.mark.parametrize("channels_outer", [False, True], ids=["rows_outer", "channels_outer"])
def test_tasks_of_several_rows_give_the_same_numbers(monkeypatch, task_rows, channels_outer):
    from convrnn.schedules.cpu import conv_blocked as conv_blocked_cpu

    defaults = conv_blocked_cpu.conv_blocked_knobs
    monkeypatch.setattr(conv_blocked_cpu, "conv_blocked_knobs", lambda *args, **kwargs: {
        **defaults(*args, **kwargs), "reduce_rows": True, "task_rows": task_rows, "channels_outer": channels_outer})
    b = Builder(8, (6, 13), seed=3, width=None)
    a = b.conv("x", 32, act="Relu")
    model = b.model(b.conv(a, 64, act="Relu"))
    model.graph.name = f"task_rows_{task_rows}_{channels_outer}"
    support.assert_matches_onnxruntime(model, {"x": support.random_input((1, 8, 6, 13), seed=task_rows)},
                                       rtol=1e-4, atol=1e-4)


def test_task_rows_are_tuned_among_the_divisors_of_a_static_height():
    from convrnn.schedules.cpu.conv_blocked import conv_blocked_knob_space

    attrs = dict(group=1, block=ACTIVATION_BLOCK, in_block=ACTIVATION_BLOCK, kernel_shape=[3, 3])
    assert conv_blocked_knob_space([1, 16, 6, 19, 16], attrs, 16)["task_rows"] == [1, 2, 3, 6]
    assert conv_blocked_knob_space([1, 16, 24, 19, 16], attrs, 16)["task_rows"] == [1, 2, 3, 4, 6, 8]
    assert "task_rows" not in conv_blocked_knob_space([1, 16, "h", 19, 16], attrs, 16)


def test_a_conv_over_symbolic_height_and_width_runs_a_task_per_row():
    b = Builder(8, (5, 7), seed=4)
    b.inputs = [support.tensor_info("x", "float32", ["n", 8, "h", "w"])]
    a = b.conv("x", 48, act="Relu")
    c = b.conv(a, 64, kernel=1, pad=0)
    model = b.model(b.conv(c, 64, group=64, bias=False))
    for shape in ((1, 8, 5, 7), (2, 8, 3, 17), (1, 8, 1, 1)):
        support.assert_matches_onnxruntime(model, {"x": support.random_input(shape, seed=shape[3])},
                                           rtol=1e-4, atol=1e-4)


def test_a_constant_read_in_the_layout_is_laid_out_at_compile_time():
    """A batch norm after a pool (not foldable into the conv) reads its scale and shift as
    blocked constants: no ToBlocked runs for them."""
    b = Builder(3, (8, 10), seed=9, width=None)
    a = b.op("MaxPool", b.conv("x", 20, act="Relu"), kernel_shape=[2, 2], strides=[2, 2])
    stats = [b.name(k) for k in ("scale", "shift", "mean", "var")]
    rng = np.random.default_rng(3)
    b.inits += [(stats[0], rng.uniform(0.5, 2, 20).astype(np.float32)), (stats[1], rng.standard_normal(20).astype(np.float32)),
                (stats[2], rng.standard_normal(20).astype(np.float32)), (stats[3], rng.uniform(0.5, 2, 20).astype(np.float32))]
    norm = b.op("BatchNormalization", a, *stats)
    model = b.model(b.conv(norm, 16, act="Relu"))
    got = ops(model)
    assert "ToBlocked" not in got and got.count("ConvBlocked") == 2
    support.assert_matches_onnxruntime(model, {"x": support.random_input((2, 3, 8, 10), seed=4)}, rtol=1e-4, atol=1e-5)


def test_winograd_convs_read_and_write_the_layout(monkeypatch):
    import sys

    monkeypatch.setattr(sys.modules["convrnn.compiler.passes.select_winograd"], "MIN_MULTIPLY_ADDS", 0)
    monkeypatch.setattr(sys.modules["convrnn.compiler.passes.select_winograd"], "MIN_CHANNEL_MEAN", 0)
    b = Builder(3, (18, 18), seed=5, width=None)
    a = b.conv("x", 16, stride=2, act="Relu")          # direct (stride 2), NCHW in
    c = b.conv(a, 32, act="Relu")                       # Winograd, blocked in and out
    d = b.op("Add", b.conv(c, 32), c)                   # Winograd with a blocked residual
    model = b.model(b.op("GlobalMaxPool", b.op("Relu", d)))
    graph = run_pipeline(import_onnx(model), verify=True)
    winograd = [n for n in graph.nodes if n.op == "WinogradConv"]
    assert len(winograd) == 2 and all(n.attrs["block"] == ACTIVATION_BLOCK == n.attrs["in_block"] for n in winograd)
    assert [n.op for n in graph.nodes].count("FromBlocked") == 1
    support.assert_matches_onnxruntime(model, {"x": support.random_input((2, 3, 18, 18), seed=6)},
                                       rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("channels, perm", [(20, [3, 0, 1, 2]), (32, [3, 0, 1, 2]), (32, [0, 3, 1, 2]),
                                            (32, [0, 2, 3, 1])],
                         ids=["padded_block", "crnn_features", "channels_then_rows", "channels_innermost"])
def test_a_transpose_alone_reading_the_layout_becomes_the_conversion(channels, perm):
    """A CRNN's features turning into a sequence: one FromBlocked writes the transposed value
    (whole blocks of channels read as vectors unless the channels stay innermost)."""
    b = Builder(1, (8, 12), seed=3)
    a = b.conv("x", 16, act="Relu")
    c = b.op("MaxPool", b.conv(a, channels, act="Relu"), kernel_shape=[2, 1], strides=[2, 1])
    model = b.model(b.op("Transpose", c, perm=perm))
    graph = run_pipeline(import_onnx(model), verify=True)
    assert [n.op for n in graph.nodes] == ["ConvBlocked", "ConvBlocked", "MaxPool", "FromBlocked"]
    assert graph.nodes[-1].attrs["perm"] == perm
    for shape in ((1, 1, 8, 12), (2, 1, 8, 5)):
        support.assert_matches_onnxruntime(model, {"x": support.random_input(shape, seed=shape[3])},
                                           rtol=1e-4, atol=1e-5)


CONV_ATTRS = dict(kernel_shape=[3, 3], strides=[1, 1], dilations=[1, 1], pads=[1, 1, 1, 1], group=1, block=16,
                  in_block=16, channels=20)


@pytest.mark.parametrize("op, shapes, attrs, message", [
    ("ConvBlocked", [(1, 2, 8, 8, 16), (2, 2, 3, 3, 16, 8), (32,)], CONV_ATTRS, "expected shape"),
    ("ConvBlocked", [(1, 2, 8, 8, 16), (2, 2, 3, 3, 16, 16), (20,)], CONV_ATTRS, "padded"),
    ("ConvBlocked", [(1, 32, 8, 8), (2, 16, 3, 3, 16), (32,)], dict(CONV_ATTRS, group=2, in_block=0), "depthwise"),
    ("ConvBlocked", [(1, 32, 8, 8), (2, 32, 3, 3, 16)], dict(CONV_ATTRS, in_block=16), "in_block"),
    ("FromBlocked", [(1, 2, 8, 8, 16)], dict(block=16, channels=40), "not a blocked layout of 40 channels"),
    ("FromBlocked", [(1, 2, 8, 8, 16)], dict(block=16, channels=20, perm=[0, 1, 1, 2]), "not a permutation"),
    ("ToBlocked", [(1, "c", 8)], dict(block=16), "C static"),
    ("MaxPool", [(1, 20, 8, 8)], dict(kernel_shape=[2, 2], strides=[2, 2], dilations=[1, 1], pads=[0] * 4,
                                      ceil_mode=0, block=16), "not blocked by 16"),
    ("WinogradConv", [(1, 2, 8, 8, 16), (4, 4, 2, 32, 16)], dict(tile=2, pads=[1] * 4, block=8, in_block=8),
     "only 16"),
], ids=["weight", "bias", "grouped", "unblocked_input", "channels", "perm", "symbolic_channels", "pool", "winograd"])
def test_bad_blocked_nodes_are_refused_with_a_reason(op, shapes, attrs, message):
    from convrnn.compiler.ir import TensorType
    from convrnn.schedules.registry import get_op

    with pytest.raises(ValueError, match=message):
        get_op(op).infer([TensorType(shape, "float32") for shape in shapes], attrs)


def test_a_lone_conv_with_a_long_reduction_goes_blocked():
    # 32 channels x 3 x 3 = 288 products per output: worth converting its output back
    b = Builder(32, (10, 10))
    model = b.model(b.op("Sigmoid", b.conv("x", 24, act="Relu")))
    got = ops(model)
    assert got.count("ConvBlocked") == 1 and got.count("FromBlocked") == 1
    support.assert_matches_onnxruntime(model, {"x": support.random_input((1, 32, 10, 7))}, rtol=1e-4, atol=1e-5)


def test_padded_blocked_convs_over_a_derived_height_build():
    # plcmos's front end: an unpadded conv shortens the symbolic height (frames - 2), then padded
    # convs read it: a padding pass over that height did not lower in TVM
    b = Builder(1, (8, 8), width=None)
    b.inputs = [support.tensor_info("x", "float32", ["n", 1, "frames", 20])]
    x = b.conv("x", 16, pad=0, act="Relu")
    x = b.conv(x, 32, pad=1, act="Relu")
    model = b.model(b.conv(x, 32, pad=1))
    assert ops(model).count("ConvBlocked") == 3
    for frames in (9, 14):
        support.assert_matches_onnxruntime(model, {"x": support.random_input((1, 1, frames, 20), seed=frames)},
                                           rtol=1e-4, atol=1e-5)


def test_a_squeeze_and_excitation_scale_stays_in_the_layout():
    # MobileNetV3's SE block: x * HardSigmoid(conv(relu(conv(gap(x))))) read by the next conv:
    # the Mul of the blocked x by the blocked [N, C, 1, 1] scale is done in the layout
    b = Builder(16, (8, 8))
    x = b.conv("x", 32, act="Relu")
    pooled = b.op("GlobalAveragePool", x)
    squeezed = b.conv(pooled, 16, kernel=1, pad=0, act="Relu")
    scale = b.op("HardSigmoid", b.conv(squeezed, 32, kernel=1, pad=0))
    scaled = b.name("scaled")
    b.nodes.append(helper.make_node("Mul", [x, scale], [scaled]))
    b.channels[scaled] = 32
    model = b.model(b.conv(scaled, 16))
    got = ops(model)
    assert "Mul" in got and got.count("FromBlocked") == 1 and got[-1] == "FromBlocked"
    support.assert_matches_onnxruntime(model, {"x": support.random_input((1, 16, 8, 6))}, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("channels", [(32, 16), (24, 24), (24, 40), (24, 240)], ids=str)
def test_an_fpn_upsample_and_concatenate_stays_in_the_layout(channels):
    # a PAN/FPN neck: the coarse level upsampled (nearest, 2x) and concatenated along the
    # channels with the fine level, read by a 1 x 1 conv: no conversion between the convs, and
    # levels whose channels are not whole blocks shift into place (unrolled per position up to
    # MAX_UNROLLED_CHANNELS output channels, (24, 240) past it)
    coarse_channels, fine_channels = channels
    b = Builder(16, (8, 8))
    fine = b.conv("x", fine_channels, act="Relu")
    coarse = b.conv(fine, coarse_channels, stride=2, act="Relu")
    scales = b.name("scales")
    b.inits.append((scales, np.array([1, 1, 2, 2], np.float32)))
    up = b.name("up")
    b.nodes.append(helper.make_node("Resize", [coarse, "", scales], [up], mode="nearest",
                                    coordinate_transformation_mode="asymmetric", nearest_mode="floor"))
    b.channels[up] = coarse_channels
    joined = b.name("joined")
    b.nodes.append(helper.make_node("Concat", [up, fine], [joined], axis=1))
    b.channels[joined] = coarse_channels + fine_channels
    model = b.model(b.conv(joined, 16, kernel=1, pad=0))
    got = ops(model)
    assert "ConcatBlocked" in got and got.count("FromBlocked") == 1 and got[-1] == "FromBlocked", got
    support.assert_matches_onnxruntime(model, {"x": support.random_input((2, 16, 8, 10))}, rtol=1e-4, atol=1e-5)


def test_a_concat_along_the_height_stays_in_the_layout():
    b = Builder(16, (8, 8))
    top = b.conv("x", 24, act="Relu")
    bottom = b.conv("x", 24, act="Relu")
    joined = b.name("joined")
    b.nodes.append(helper.make_node("Concat", [top, bottom], [joined], axis=2))
    b.channels[joined] = 24
    model = b.model(b.conv(joined, 16))
    got = ops(model)
    assert "Concat" in got and got.count("FromBlocked") == 1, got
    support.assert_matches_onnxruntime(model, {"x": support.random_input((1, 16, 8, 6))}, rtol=1e-4, atol=1e-5)
