"""Whole models exported from PyTorch (tests/data/make_models.py) against onnxruntime on random inputs."""
from pathlib import Path

import onnx
import pytest

import support

DATA = Path(__file__).resolve().parent.parent / "data"

# name -> input shape at batch 1 (the batch axis is symbolic in every model)
MODELS = {
    "resnet18_w16": (1, 3, 64, 64),
    "mobilenet_v2_small": (1, 3, 64, 64),
    "audio_cnn": (1, 40, 100),
}

def load(name: str) -> onnx.ModelProto:
    return onnx.load(str(DATA / f"{name}.onnx"))


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_matches_onnxruntime(name):
    feeds = {"input": support.random_input(MODELS[name], seed=1)}
    support.assert_matches_onnxruntime(load(name), feeds)


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_other_batch_size_through_symbolic_axis(name):
    model = load(name)
    assert support.compile_cached(model).inputs[0].shape[0] == "batch"
    feeds = {"input": support.random_input((3,) + MODELS[name][1:], seed=2)}
    support.assert_matches_onnxruntime(model, feeds)


def at_resolution(model: onnx.ModelProto, height: int, width: int) -> onnx.ModelProto:
    """The same network with its input fixed at another spatial size (global pooling makes that valid)."""
    resized = onnx.ModelProto()
    resized.CopyFrom(model)
    dims = resized.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_value, dims[3].dim_value = height, width
    del resized.graph.value_info[:]  # the exporter's intermediate shapes are for the old size
    return resized


@pytest.mark.slow
def test_resnet18_at_full_resolution():
    model = at_resolution(load("resnet18_w16"), 224, 224)
    feeds = {"input": support.random_input((1, 3, 224, 224), seed=3)}
    support.assert_matches_onnxruntime(model, feeds)
