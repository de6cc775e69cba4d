"""Tile against onnxruntime: constant repeats over a symbolic batch (output dims that multiply
it), and repeats built from Shape arithmetic (a symbolic repeat count)."""
import numpy as np
import pytest
from onnx import helper

from support import assert_matches_onnxruntime, compile_cached, make_model, random_input, tensor_info


def _tile_model(x_shape, repeats, dtype="float32"):
    node = helper.make_node("Tile", ["x", "repeats"], ["y"])
    return make_model([node], [tensor_info("x", dtype, x_shape)], [tensor_info("y", dtype, None)],
                      [("repeats", np.array(repeats, np.int64))])


@pytest.mark.parametrize("x_shape,repeats", [
    (["n", 3], [2, 2]), (["n", 3, 2], [1, 3, 1]), ([4], [3]), (["n", 2, 1, 3], [3, 1, 2, 2]), (["n"], [1]),
], ids=str)
def test_constant_repeats(x_shape, repeats):
    model = _tile_model(x_shape, repeats)
    for seed, batch in enumerate((1, 3)):
        x = random_input([batch if d == "n" else d for d in x_shape], seed=seed)
        got = assert_matches_onnxruntime(model, {"x": x})[0]
        np.testing.assert_array_equal(got, np.tile(x, repeats))


def test_output_dim_is_the_multiplied_batch():
    (output,) = compile_cached(_tile_model(["n", 3], [2, 1])).outputs
    assert output.shape == ("2 * n", 3)


@pytest.mark.parametrize("dtype", ["int64", "bool", "float16"])
def test_other_dtypes(dtype):
    model = _tile_model(["n", 2], [2, 3], dtype)
    assert_matches_onnxruntime(model, {"x": random_input((2, 2), dtype, low=-5, high=5)})


def test_repeats_from_a_symbolic_shape():
    # Tile(row, [batch, 1]) with batch read from another input's shape (what exporters emit).
    nodes = [
        helper.make_node("Shape", ["x"], ["shape"]),
        helper.make_node("Gather", ["shape", "zero"], ["batch"], axis=0),
        helper.make_node("Concat", ["batch", "one"], ["repeats"], axis=0),
        helper.make_node("Tile", ["row", "repeats"], ["y"]),
    ]
    model = make_model(nodes, [tensor_info("x", "float32", ["n", 5]), tensor_info("row", "float32", [1, 4])],
                       [tensor_info("y", "float32", None)],
                       [("zero", np.array([0], np.int64)), ("one", np.array([1], np.int64))])
    for batch in (1, 4):
        feeds = {"x": random_input((batch, 5)), "row": random_input((1, 4), seed=2)}
        got = assert_matches_onnxruntime(model, feeds)[0]
        assert got.shape == (batch, 4)


def test_zero_repeat_is_refused():
    from convrnn.compiler.errors import UnsupportedError

    with pytest.raises(UnsupportedError, match="Tile"):
        compile_cached(_tile_model([2, 3], [0, 1]))
