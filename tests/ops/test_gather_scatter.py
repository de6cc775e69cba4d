"""GatherElements, GatherND, ScatterElements, ScatterND and OneHot against onnxruntime: every
axis (negative too), negative indices, batch_dims, every reduction, a symbolic batch dim."""
import numpy as np
import pytest
from onnx import helper

from support import assert_matches_onnxruntime, make_model, random_input, tensor_info


def _model(op, inputs, out_dtype, opset=18, initializers=(), names=None, **attrs):
    names = names or [n for n, _, _ in inputs] + [n for n, _ in initializers]
    node = helper.make_node(op, names, ["y"], **attrs)
    return make_model([node], [tensor_info(n, d, s) for n, d, s in inputs], [tensor_info("y", out_dtype, None)],
                      initializers, opset=opset)


def _indices(shape, size, seed, negative=True):
    rng = np.random.default_rng(seed)
    return rng.integers(-size if negative else 0, size, size=shape).astype(np.int64)


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2])
def test_gather_elements(axis):
    model = _model("GatherElements", [("x", "float32", ["n", 4, 5]), ("i", "int64", ["n", 3, 5])], "float32",
                   opset=13, axis=axis)
    for seed, batch in enumerate((1, 3)):
        data = random_input((batch, 4, 5), seed=seed)
        size = data.shape[axis]
        indices = _indices((batch, 3, 5), size, seed)
        if axis % 3 == 0:  # indices reach across the batch axis: keep them within the smallest batch
            indices = _indices((batch, 3, 5), 1, seed)
        assert_matches_onnxruntime(model, {"x": data, "i": indices})


def test_gather_elements_int32_indices_and_int_data():
    model = _model("GatherElements", [("x", "int64", [3, 4]), ("i", "int32", [3, 6])], "int64", opset=13, axis=1)
    feeds = {"x": random_input((3, 4), "int64", low=-9, high=9), "i": _indices((3, 6), 4, 1).astype(np.int32)}
    assert_matches_onnxruntime(model, feeds)


@pytest.mark.parametrize("data_shape,indices_shape,batch_dims", [
    ((5, 4, 3), (6, 1), 0), ((5, 4, 3), (2, 3, 2), 0), ((5, 4, 3), (7, 3), 0),
    ((2, 4, 3), (2, 5, 1), 1), ((2, 4, 3), (2, 2), 1), ((2, 3, 4, 5), (2, 3, 2, 1), 2),
], ids=str)
def test_gather_nd(data_shape, indices_shape, batch_dims):
    model = _model("GatherND", [("x", "float32", list(data_shape)), ("i", "int64", list(indices_shape))],
                   "float32", opset=13, batch_dims=batch_dims)
    depth = indices_shape[-1]
    sizes = data_shape[batch_dims:batch_dims + depth]
    indices = np.stack([_indices(indices_shape[:-1], s, seed=k) for k, s in enumerate(sizes)], axis=-1)
    assert_matches_onnxruntime(model, {"x": random_input(data_shape), "i": indices})


def test_gather_nd_symbolic_batch():
    model = _model("GatherND", [("x", "float32", ["n", 4, 3]), ("i", "int64", ["n", 2, 1])], "float32",
                   opset=13, batch_dims=1)
    for batch in (1, 3):
        feeds = {"x": random_input((batch, 4, 3)), "i": _indices((batch, 2, 1), 4, batch)}
        assert_matches_onnxruntime(model, feeds)


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_one_hot(axis, dtype):
    model = _model("OneHot", [("i", "int64", ["n", 3]), ("v", dtype, [2])], dtype, opset=11,
                   initializers=[("depth", np.array(6, np.int64))], names=["i", "depth", "v"], axis=axis)
    for batch in (1, 4):
        indices = _indices((batch, 3), 8, batch)  # some beyond depth in both directions: all off
        values = np.array([2, 7], dtype)
        assert_matches_onnxruntime(model, {"i": indices, "v": values})


def test_one_hot_float_indices_and_depth():
    model = _model("OneHot", [("i", "float32", [5]), ("v", "float32", [2])], "float32", opset=11,
                   initializers=[("depth", np.array([4.0], np.float32))], names=["i", "depth", "v"])
    feeds = {"i": np.array([0.0, 3.7, -1.2, 2.0, 9.0], np.float32), "v": np.array([0.0, 1.0], np.float32)}
    assert_matches_onnxruntime(model, feeds)


def test_one_hot_opset_9_counts_negative_indices_from_the_end():
    # As onnxruntime does at every opset (opset 9's text says a negative index is out of range).
    model = _model("OneHot", [("i", "int64", [3]), ("v", "float32", [2])], "float32", opset=9,
                   initializers=[("depth", np.array(3, np.int64))], names=["i", "depth", "v"])
    feeds = {"i": np.array([-1, 0, 2], np.int64), "v": np.array([0.0, 1.0], np.float32)}
    got = assert_matches_onnxruntime(model, feeds)[0]
    np.testing.assert_array_equal(got[0], [0, 0, 1])


def _distinct_indices(shape, axis, size, seed):
    """Indices along `axis` with no duplicates there (a plain scatter's result is undefined otherwise)."""
    rng = np.random.default_rng(seed)
    moved = list(shape)
    count = moved.pop(axis)
    rows = [rng.permutation(size)[:count] for _ in range(int(np.prod(moved)))]
    picked = np.array(rows, np.int64).reshape(moved + [count])
    picked = np.moveaxis(picked, -1, axis)
    return np.where(rng.random(picked.shape) < 0.3, picked - size, picked)  # some negative


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_scatter_elements_replaces(axis):
    model = _model("ScatterElements", [("x", "float32", ["n", 4, 5]), ("i", "int64", ["n", 3, 2]),
                                       ("u", "float32", ["n", 3, 2])], "float32", axis=axis)
    for seed, batch in enumerate((1, 3)):
        data = random_input((batch, 4, 5), seed=seed)
        size = data.shape[axis]
        indices = _distinct_indices((batch, 3, 2), axis % 3, size, seed)
        assert_matches_onnxruntime(model, {"x": data, "i": indices, "u": random_input((batch, 3, 2), seed=9)})


@pytest.mark.parametrize("reduction", ["add", "mul", "max", "min"])
def test_scatter_elements_reductions_with_duplicates(reduction):
    model = _model("ScatterElements", [("x", "float32", ["n", 6]), ("i", "int64", ["n", 8]),
                                       ("u", "float32", ["n", 8])], "float32", axis=1, reduction=reduction)
    for batch in (1, 3):
        feeds = {"x": random_input((batch, 6), seed=batch), "i": _indices((batch, 8), 6, batch),
                 "u": random_input((batch, 8), seed=batch + 5)}
        assert_matches_onnxruntime(model, feeds)


def test_scatter_elements_opset_11_and_int_data():
    model = _model("ScatterElements", [("x", "int64", [3, 3]), ("i", "int32", [2, 3]), ("u", "int64", [2, 3])],
                   "int64", opset=11)
    feeds = {"x": random_input((3, 3), "int64", low=-9, high=9),
             "i": np.array([[1, 0, 2], [0, 2, -2]], np.int32), "u": random_input((2, 3), "int64", seed=2)}
    assert_matches_onnxruntime(model, feeds)


@pytest.mark.parametrize("data_shape,indices_shape", [
    ((8,), (4, 1)), ((4, 4, 4), (2, 1)), ((4, 4, 4), (2, 2)), ((4, 4, 4), (3, 2, 3)), ((5, 3), (2, 2, 1)),
], ids=str)
def test_scatter_nd_replaces(data_shape, indices_shape):
    depth = indices_shape[-1]
    rows = int(np.prod(indices_shape[:-1]))
    rng = np.random.default_rng(depth)
    # Distinct rows of indices, some negative.
    flat = rng.permutation(int(np.prod(data_shape[:depth])))[:rows]
    indices = np.stack(np.unravel_index(flat, data_shape[:depth]), axis=-1).reshape(indices_shape)
    indices = np.where(rng.random(indices.shape) < 0.3, indices - np.array(data_shape[:depth]), indices)
    updates_shape = indices_shape[:-1] + data_shape[depth:]
    model = _model("ScatterND", [("x", "float32", list(data_shape)), ("i", "int64", list(indices_shape)),
                                 ("u", "float32", list(updates_shape))], "float32")
    feeds = {"x": random_input(data_shape), "i": indices.astype(np.int64), "u": random_input(updates_shape, seed=4)}
    assert_matches_onnxruntime(model, feeds)


@pytest.mark.parametrize("reduction", ["add", "mul", "max", "min"])
def test_scatter_nd_reductions_with_duplicates(reduction):
    model = _model("ScatterND", [("x", "float32", ["n", 3]), ("i", "int64", [5, 1]), ("u", "float32", [5, 3])],
                   "float32", reduction=reduction)
    indices = np.array([[0], [1], [0], [-1], [1]], np.int64)
    for batch in (2, 4):
        feeds = {"x": random_input((batch, 3), seed=batch), "i": indices, "u": random_input((5, 3), seed=7)}
        assert_matches_onnxruntime(model, feeds)


def test_scatter_reduction_needs_its_opset():
    from convrnn.compiler.errors import ModelError
    from support import compile_cached

    model = _model("ScatterND", [("x", "float32", [4]), ("i", "int64", [1, 1]), ("u", "float32", [1])],
                   "float32", opset=16, reduction="max")
    with pytest.raises(ModelError, match="opset 18"):
        compile_cached(model)
