"""Weights leave the frontend in ONNX's layout; packing them for a target's kernels is that
target's passes' work: on the CPU, pack_conv_weights and pack_recurrent_weights (with
pack_quantized_lstm, tested beside the op in tests/ops/test_quantization.py)."""
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper

import support
from convrnn.compiler import compile_model
from convrnn.compiler.errors import UnsupportedError
from convrnn.compiler.passes import run_pipeline
from convrnn.frontend import import_onnx
from convrnn.schedules.conv_layout import pack_weight

DATA = Path(__file__).resolve().parent.parent / "data"
CUDA = {"kind": "cuda", "arch": "sm_90"}
LAYERS = {"LSTMLayer": "LSTM", "GRULayer": "GRU", "RNNLayer": "RNN"}


def two_convs_sharing_a_weight(out_channels=32):
    """conv(conv(x, W), W) over 32 channels, then a 3-channel conv (no block divides 3)."""
    rng = np.random.default_rng(0)
    inits = [("W", rng.standard_normal((out_channels, 32, 3, 3)).astype(np.float32) / 30),
             ("W3", rng.standard_normal((3, 32, 1, 1)).astype(np.float32) / 6)]
    nodes = [helper.make_node("Conv", ["x", "W"], ["a"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["a"], ["b"]),
             helper.make_node("Conv", ["b", "W"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["c", "W3"], ["y"])]
    return support.make_model(nodes, [support.tensor_info("x", "float32", [1, 32, 5, 6])],
                              [support.tensor_info("y", "float32", None)], inits)


def conv_weights(graph):
    return [(node.attrs["weight_block"], graph.constants[node.inputs[1].name]) for node in graph.nodes
            if node.op == "Conv"]


def test_conv_weights_leave_the_frontend_in_onnx_layout():
    model = two_convs_sharing_a_weight()
    w = onnx.numpy_helper.to_array(model.graph.initializer[0])
    imported = conv_weights(import_onnx(model))
    assert [block for block, _ in imported] == [0, 0, 0]
    np.testing.assert_array_equal(imported[0][1], w)
    assert all(block == 0 for block, _ in conv_weights(run_pipeline(import_onnx(model), CUDA)))


def test_the_cpu_pipeline_packs_each_conv_weight_once():
    model = two_convs_sharing_a_weight()
    w = onnx.numpy_helper.to_array(model.graph.initializer[0])
    # blocked_layout would take this chain: stop before it, where plain Convs remain, then pack
    from convrnn.compiler.passes.pack_conv_weights import pack_conv_weights

    graph = pack_conv_weights(run_pipeline(import_onnx(model), "cpu", stop_after="fuse_elementwise"))
    convs = [node for node in graph.nodes if node.op == "Conv"]
    (block, packed), _, (last_block, last) = conv_weights(graph)
    assert block == 16 and packed.shape == (2, 32, 3, 3, 16)
    np.testing.assert_array_equal(packed, pack_weight(w, 16))
    assert convs[0].inputs[1] is convs[1].inputs[1]  # one packed copy for both readers
    assert last_block == 0 and last.shape == (3, 32, 1, 1)  # no block divides 3 channels: as it was
    assert len([name for name in graph.constants if graph.constants[name].ndim == 5]) == 1


def test_the_packed_convs_compute_what_onnxruntime_does():
    model = two_convs_sharing_a_weight()
    support.assert_matches_onnxruntime(model, {"x": support.random_input((1, 32, 5, 6), seed=3)})


@pytest.mark.parametrize("name", ["lstm_stacked", "gru_stacked_bidirectional", "rnn_tanh", "lstm_batch_first"])
def test_recurrences_leave_the_frontend_as_layers_with_onnx_weights(name):
    model = onnx.load(DATA / "recurrent" / f"{name}.onnx")
    graph = import_onnx(model)
    layers = [node for node in graph.nodes if node.op in LAYERS]
    assert layers and not [node for node in graph.nodes if node.op in LAYERS.values()]
    for layer in layers:
        w, r = (graph.constants[layer.inputs[i].name] for i in (1, 2))
        hidden, directions = layer.attrs["hidden_size"], layer.attrs["num_directions"]
        assert r.shape == (directions, w.shape[1], hidden) and "tile" not in layer.attrs
    on_cuda = run_pipeline(import_onnx(model), CUDA)
    assert [node.op for node in on_cuda.nodes if node.op in LAYERS] == [layer.op for layer in layers]
    on_cpu = run_pipeline(import_onnx(model), "cpu", verify=True)
    cells = [node for node in on_cpu.nodes if node.op in LAYERS.values()]
    assert [cell.op for cell in cells] == [LAYERS[layer.op] for layer in layers]
    assert all("tile" in cell.attrs for cell in cells)
    assert [node.op for node in on_cpu.nodes].count("RecurrentProjection") == len(layers)


def test_a_model_compiled_for_a_target_without_its_kernels_is_refused_naming_op_and_node(tmp_path):
    model = onnx.load(DATA / "recurrent" / "rnn_tanh.onnx")
    with pytest.raises(UnsupportedError, match=r"(\w+) node '.+' cannot be lowered for cuda: no \1 kernel for target kind cuda"):
        compile_model(model, tmp_path / "artifact", target=CUDA)
    assert not (tmp_path / "artifact").exists()
