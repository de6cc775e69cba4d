"""Range against onnxruntime where its limit is a symbolic dim read from an input's shape (the
output's length is then a formula of that dim). Run-time bounds: tests/ops/test_run_time_bounds.py."""
import numpy as np
import pytest
from onnx import helper

from support import assert_matches_onnxruntime, compile_cached, make_model, random_input, tensor_info


def _range_of_batch(start, delta, offset=0, consumer=False):
    """Range(start, batch + offset, delta) with batch = Shape(x)[0]."""
    nodes = [
        helper.make_node("Shape", ["x"], ["shape"]),
        helper.make_node("Gather", ["shape", "zero"], ["batch"], axis=0),
        helper.make_node("Add", ["batch", "offset"], ["limit"]),
        helper.make_node("Range", ["start", "limit", "delta"], ["r"]),
    ]
    if consumer:  # the range used as data: Gather rows of x by it
        nodes.append(helper.make_node("Gather", ["x", "r"], ["y"], axis=0))
    inits = [("zero", np.array(0, np.int64)), ("offset", np.array(offset, np.int64)),
             ("start", np.array(start, np.int64)), ("delta", np.array(delta, np.int64))]
    return make_model(nodes, [tensor_info("x", "float32", ["n", 3])],
                      [tensor_info("y" if consumer else "r", "float32" if consumer else "int64", None)], inits, opset=13)


@pytest.mark.parametrize("start,delta,offset", [(0, 1, 0), (1, 2, 0), (2, 3, 4), (-3, 1, 0), (30, -2, -1)], ids=str)
def test_range_to_a_symbolic_limit(start, delta, offset):
    model = _range_of_batch(start, delta, offset)
    for batch in (11, 20):
        got = assert_matches_onnxruntime(model, {"x": random_input((batch, 3))})[0]
        np.testing.assert_array_equal(got, np.arange(start, batch + offset, delta))


def test_output_length_is_a_formula_of_the_dim():
    (output,) = compile_cached(_range_of_batch(1, 2)).outputs
    assert output.shape == ("n // 2",)  # ceil((n - 1) / 2)


def test_range_as_data():
    model = _range_of_batch(0, 2, consumer=True)
    for batch in (1, 5):
        assert_matches_onnxruntime(model, {"x": random_input((batch, 3))})
