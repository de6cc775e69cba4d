"""Data movement and shape ops against onnxruntime: the Reshape family (views), Transpose,
Concat, Split, Slice, Gather, Pad, Expand, Shape / ConstantOfShape over symbolic dims,
Identity and Dropout."""
import numpy as np
import pytest
from onnx import TensorProto, helper

from convrnn.compiler.errors import ModelError, UnsupportedError
import support
from support import assert_matches_onnxruntime, make_model, random_input, run_convrnn, tensor_info

INT64_MAX = np.iinfo(np.int64).max


def _model(nodes, inputs, outputs=("out",), initializers=(), opset=17, dtype="float32"):
    """Nodes over graph inputs given as (name, shape) pairs of `dtype`; ints are initializers."""
    inits = [(name, np.asarray(value, np.int64) if not isinstance(value, np.ndarray) else value)
             for name, value in initializers]
    return make_model(nodes, [tensor_info(name, dtype, shape) for name, shape in inputs],
                      [tensor_info(name, dtype, None) for name in outputs], inits, opset=opset)


def _concrete(shape, batch):
    """The shape with every symbolic dim set to batch."""
    return tuple(d if isinstance(d, int) else batch for d in shape)


def _check(model, shapes, dtype="float32"):
    """Run on inputs of each given concrete shape set (one dict name -> shape per run)."""
    for seed, run in enumerate(shapes):
        assert_matches_onnxruntime(model, {n: random_input(s, dtype, seed=seed) for n, s in run.items()})


# --- the Reshape family: views ---------------------------------------------------------------

RESHAPES = [([2, 3, 4], [4, 6], 0), ([2, 3, 4], [-1, 4], 0), ([2, 3, 4], [0, -1], 0), ([2, 3, 4], [0, 0, 2, 2], 0),
            ([2, 3, 4], [24], 0), (["batch", 512, 1, 1], [-1, 512], 0), (["batch", 512, 1, 1], [0, -1], 0),
            (["batch", 6, 4], [0, 3, -1], 0), ([2, 3, 4], [3, 8], 1)]


@pytest.mark.parametrize("shape,target,allowzero", RESHAPES, ids=str)
def test_reshape(shape, target, allowzero):
    node = helper.make_node("Reshape", ["x", "shape"], ["r"], **({"allowzero": 1} if allowzero else {}))
    relu = helper.make_node("Relu", ["r"], ["out"])  # a kernel reading the view
    model = _model([node, relu], [("x", shape)], initializers=[("shape", target)], opset=14)
    _check(model, [{"x": _concrete(shape, b)} for b in (1, 3)])


def test_reshape_output_is_graph_output():
    node = helper.make_node("Reshape", ["x", "shape"], ["out"])
    _check(_model([node], [("x", [2, 6])], initializers=[("shape", [3, 4])]), [{"x": (2, 6)}])


def test_reshape_from_symbolic_shape_arithmetic():
    # Shape -> Slice -> Concat -> Reshape, the way exporters flatten a dynamic batch.
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Slice", ["s", "zero", "one"], ["b1"]),
             helper.make_node("Concat", ["b1", "minus_one"], ["target"], axis=0),
             helper.make_node("Reshape", ["x", "target"], ["r"]),
             helper.make_node("Sigmoid", ["r"], ["out"])]
    model = _model(nodes, [("x", ["batch", 4, 3])], opset=13,
                   initializers=[("zero", [0]), ("one", [1]), ("minus_one", [-1])])
    _check(model, [{"x": (1, 4, 3)}, {"x": (5, 4, 3)}])


def test_reshape_inexpressible_symbolic_target_is_an_error():
    node = helper.make_node("Reshape", ["x", "shape"], ["out"])
    model = _model([node], [("x", ["batch", 6])], initializers=[("shape", [4, -1])])
    with pytest.raises(ModelError, match="cannot infer -1"):
        run_convrnn(model, {"x": random_input((2, 6))})


@pytest.mark.parametrize("shape,axis", [([2, 3, 4, 5], 1), ([2, 3, 4, 5], 0), ([2, 3, 4, 5], -1),
                                        ([2, 3, 4, 5], 4), (["batch", 3, 4], 1)], ids=str)
def test_flatten(shape, axis):
    nodes = [helper.make_node("Flatten", ["x"], ["f"], axis=axis), helper.make_node("Neg", ["f"], ["out"])]
    _check(_model(nodes, [("x", shape)], opset=13), [{"x": _concrete(shape, 2)}])


@pytest.mark.parametrize("opset", [11, 13, 21])
@pytest.mark.parametrize("axes", [[1], [-1, 1], None], ids=str)
def test_squeeze(opset, axes):
    shape = ["batch", 1, 5, 1]
    if opset < 13 or axes is None:
        node = helper.make_node("Squeeze", ["x"], ["s"], **({"axes": axes} if axes else {}))
        inits = []
    else:
        node, inits = helper.make_node("Squeeze", ["x", "axes"], ["s"]), [("axes", axes)]
    nodes = [node, helper.make_node("Abs", ["s"], ["out"])]
    _check(_model(nodes, [("x", shape)], initializers=inits, opset=opset), [{"x": (2, 1, 5, 1)}])


@pytest.mark.parametrize("opset", [11, 13])
@pytest.mark.parametrize("axes", [[0], [1, -1], [0, 3]], ids=str)
def test_unsqueeze(opset, axes):
    if opset < 13:
        node, inits = helper.make_node("Unsqueeze", ["x"], ["u"], axes=axes), []
    else:
        node, inits = helper.make_node("Unsqueeze", ["x", "axes"], ["u"]), [("axes", axes)]
    nodes = [node, helper.make_node("Abs", ["u"], ["out"])]
    _check(_model(nodes, [("x", ["batch", 5])], initializers=inits, opset=opset), [{"x": (3, 5)}])


# --- Transpose, Concat, Split --------------------------------------------------------------

@pytest.mark.parametrize("shape,perm", [([2, 3, 4], None), ([2, 3, 4], [0, 2, 1]), ([1, 64, 56, 56], [0, 2, 3, 1]),
                                        (["batch", 3, 4], [1, 0, 2])], ids=str)
def test_transpose(shape, perm):
    node = helper.make_node("Transpose", ["x"], ["out"], **({"perm": perm} if perm else {}))
    _check(_model([node], [("x", shape)]), [{"x": _concrete(shape, b)} for b in (1, 2)])


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concat(axis):
    shapes = {0: ([2, 3, 4], [1, 3, 4], [3, 3, 4]), 1: ([2, 3, 4], [2, 1, 4], [2, 2, 4]),
              -1: ([2, 3, 4], [2, 3, 1], [2, 3, 5])}[axis]
    node = helper.make_node("Concat", ["a", "b", "c"], ["out"], axis=axis)
    model = _model([node], [("a", shapes[0]), ("b", shapes[1])], initializers=[("c", random_input(shapes[2], seed=9))])
    _check(model, [{"a": tuple(shapes[0]), "b": tuple(shapes[1])}])


def test_concat_symbolic_batch():
    node = helper.make_node("Concat", ["a", "b"], ["out"], axis=1)
    model = _model([node], [("a", ["batch", 3]), ("b", ["batch", 5])])
    _check(model, [{"a": (b, 3), "b": (b, 5)} for b in (1, 4)])


SPLITS = [(11, [2, 4], None), (11, None, None), (13, [1, 5], None), (13, None, None), (18, None, 4), (18, None, 3),
          (18, [3, 3], None)]


@pytest.mark.parametrize("opset,split,num_outputs", SPLITS, ids=str)
def test_split(opset, split, num_outputs):
    count = len(split) if split else num_outputs or 2
    outputs = [f"o{k}" for k in range(count)]
    inits = []
    if split and opset < 13:
        node = helper.make_node("Split", ["x"], outputs, axis=1, split=split)
    elif split:
        node, inits = helper.make_node("Split", ["x", "split"], outputs, axis=1), [("split", split)]
    else:
        node = helper.make_node("Split", ["x"], outputs, axis=-1 if num_outputs else 1,
                                **({"num_outputs": num_outputs} if num_outputs else {}))
    model = _model([node], [("x", ["batch", 6, 7])], outputs=outputs, initializers=inits, opset=opset)
    _check(model, [{"x": (2, 6, 7)}])


# --- Slice, Gather ---------------------------------------------------------------------------

SLICES = [([1], [3], [1], None), ([0, 1], [INT64_MAX, -1], [0, 2], None), ([-1], [-INT64_MAX], [2], [-1]),
          ([5, 0], [-100, 7], [1, 2], [-2, 3]), ([-3], [INT64_MAX], [-1], [1]), ([0], [INT64_MAX], [0], None)]


@pytest.mark.parametrize("starts,ends,axes,steps", SLICES, ids=str)
def test_slice(starts, ends, axes, steps):
    inits = [("starts", starts), ("ends", ends), ("axes", axes)] + ([("steps", steps)] if steps else [])
    node = helper.make_node("Slice", ["x"] + [n for n, _ in inits], ["s"])
    nodes = [node, helper.make_node("Identity", ["s"], ["out"])]
    _check(_model(nodes, [("x", [6, 7, 3])], initializers=inits, opset=13), [{"x": (6, 7, 3)}])


def test_empty_slice_of_a_symbolic_dim_is_unsupported():
    # (An empty slice of a static dim is an empty output: tests/ops/test_zero_size.py.)
    node = helper.make_node("Slice", ["x", "starts", "ends"], ["out"])
    model = _model([node], [("x", ["n"])], initializers=[("starts", [2]), ("ends", [2])])
    with pytest.raises(UnsupportedError, match="empty slice"):
        run_convrnn(model, {"x": random_input((6,))})


def test_slice_attributes_before_opset_10():
    node = helper.make_node("Slice", ["x"], ["out"], starts=[1, -3], ends=[1000, -1], axes=[0, 1])
    _check(_model([node], [("x", [4, 5])], opset=9), [{"x": (4, 5)}])


def test_slice_symbolic_batch_kept_whole():
    node = helper.make_node("Slice", ["x", "starts", "ends", "axes"], ["out"])
    model = _model([node], [("x", ["batch", 8])], initializers=[("starts", [2]), ("ends", [-2]), ("axes", [1])])
    _check(model, [{"x": (b, 8)} for b in (1, 3)])


# Slices of the symbolic axis "seq" (axis 1) whose output length is expressible: (starts, ends,
# axes, steps); each runs at two sequence lengths through one compiled artifact.
SYMBOLIC_SLICES = [
    ([-INT64_MAX, 1], [INT64_MAX, 3], [1, 2], None),  # (a) the whole axis (kernel from the axis-2 slice)
    ([0, 0], [2**31 - 1, 2], [1, 2], [1, 1]),  # (a) with an INT32_MAX end
    ([-1], [INT64_MAX], [1], None),  # (b) the last step (tf2onnx's Keras LSTM)
    ([-3], [2**31 - 1], [1], None),  # (b) the last 3 steps
    ([-4], [-1], [1], None),  # (b) a window counted from the end
    ([-5], [INT64_MAX], [1], [2]),  # (b) strided from the end
    ([1], [4], [1], None),  # (c) a window from the start
    ([0], [5], [-2], [2]),  # (c) strided, negative axis
    ([-1], [-INT64_MAX], [1], [-1]),  # (d) the whole axis reversed
    ([INT64_MAX, 2], [-INT64_MAX, 0], [1, 2], [-1, -1]),  # (d) with an INT64_MAX start, and a fixed axis
    ([-2], [-5], [1], [-1]),  # a reversed window counted from the end
]


@pytest.mark.parametrize("starts,ends,axes,steps", SYMBOLIC_SLICES, ids=str)
def test_slice_symbolic_axis(starts, ends, axes, steps):
    inits = [("starts", starts), ("ends", ends), ("axes", axes)] + ([("steps", steps)] if steps else [])
    node = helper.make_node("Slice", ["x"] + [n for n, _ in inits], ["s"])
    nodes = [node, helper.make_node("Identity", ["s"], ["out"])]
    model = _model(nodes, [("x", ["batch", "seq", 4])], initializers=inits, opset=13)
    _check(model, [{"x": (2, 5, 4)}, {"x": (1, 9, 4)}])


@pytest.mark.parametrize("starts,ends,steps", [([1], [INT64_MAX], None), ([-1], [-INT64_MAX], [-2]),
                                               ([0], [-1], None), ([2], [-3], [2]), ([-2], [0], [-3])], ids=str)
def test_slice_symbolic_axis_to_a_length_formula(starts, ends, steps):
    # the output length is a formula of seq (seq - 1, (seq + 1) // 2, ...), one artifact for every seq
    inits = [("starts", starts), ("ends", ends), ("axes", [1])] + ([("steps", steps)] if steps else [])
    node = helper.make_node("Slice", ["x"] + [n for n, _ in inits], ["out"])
    model = _model([node], [("x", ["batch", "seq", 4])], initializers=inits, opset=13)
    _check(model, [{"x": (2, 9, 4)}, {"x": (1, 12, 4)}, {"x": (3, 7, 4)}])
    assert isinstance(support.compile_cached(model).outputs[0].shape[1], str)


def test_slice_symbolic_axis_of_symbolic_length_is_unsupported():
    # from 3 before the end to index 2: the length depends on seq other than as a formula
    inits = [("starts", [-3]), ("ends", [2]), ("axes", [1])]
    node = helper.make_node("Slice", ["x"] + [n for n, _ in inits], ["out"])
    model = _model([node], [("x", ["batch", "seq", 4])], initializers=inits, opset=13)
    with pytest.raises(UnsupportedError, match=r"symbolic dim 'seq' \(axis 1\)"):
        run_convrnn(model, {"x": random_input((2, 5, 4))})


def test_empty_slice_of_symbolic_axis_is_unsupported():
    node = helper.make_node("Slice", ["x", "starts", "ends", "axes"], ["out"])
    model = _model([node], [("x", ["batch", "seq"])], initializers=[("starts", [-2]), ("ends", [-3]), ("axes", [1])])
    with pytest.raises(UnsupportedError, match=r"empty slice of symbolic dim 'seq' \(axis 1\)"):
        run_convrnn(model, {"x": random_input((2, 5))})


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("indices", [np.array([0, -1, 2, 1]), np.array([[1, -2], [0, 0]])], ids=["vector", "matrix"])
def test_gather(axis, indices):
    node = helper.make_node("Gather", ["x", "idx"], ["out"], axis=axis)
    _check(_model([node], [("x", [3, 4, 5])], initializers=[("idx", indices.astype(np.int64))], opset=13),
           [{"x": (3, 4, 5)}])


@pytest.mark.parametrize("index_dtype", ["int64", "int32"])
def test_gather_embedding_lookup(index_dtype):
    table = random_input((50, 16), seed=4)
    node = helper.make_node("Gather", ["table", "tokens"], ["out"], axis=0)
    model = make_model([node], [tensor_info("tokens", index_dtype, ["batch", "seq"])],
                       [tensor_info("out", "float32", None)], [("table", table)], opset=13)
    for batch, seq in ((1, 7), (3, 2)):
        tokens = np.random.default_rng(batch).integers(-50, 50, size=(batch, seq)).astype(index_dtype)
        assert_matches_onnxruntime(model, {"tokens": tokens})


# --- Pad, Expand ------------------------------------------------------------------------------

PADS = [("constant", [0, 1, 2, 0, 2, 1], None, 0.0), ("constant", [0, 0, -1, 0, 1, 2], 1.5, None),
        ("reflect", [0, 2, 1, 0, 1, 3], None, None), ("edge", [0, 3, 0, 0, 1, 4], None, None)]


@pytest.mark.parametrize("opset", [11, 18])
@pytest.mark.parametrize("mode,pads,value,_", PADS, ids=str)
def test_pad(opset, mode, pads, value, _):
    inits = [("pads", pads)] + ([("value", np.array(value, np.float32))] if value is not None else [])
    names = ["x", "pads"] + (["value"] if value is not None else [])
    node = helper.make_node("Pad", names, ["out"], mode=mode)
    _check(_model([node], [("x", [2, 5, 6])], initializers=inits, opset=opset), [{"x": (2, 5, 6)}])


def test_pad_wrap_opset_19():
    node = helper.make_node("Pad", ["x", "pads"], ["out"], mode="wrap")
    model = _model([node], [("x", [2, 5, 6])], initializers=[("pads", [0, 2, 1, 0, 3, 4])], opset=19)
    _check(model, [{"x": (2, 5, 6)}])


def test_pad_attributes_before_opset_11():
    node = helper.make_node("Pad", ["x"], ["out"], mode="constant", pads=[0, 1, 2, 1], value=-1.5)
    _check(_model([node], [("x", [3, 4])], opset=10), [{"x": (3, 4)}])


def test_pad_axes_input_opset_18():
    node = helper.make_node("Pad", ["x", "pads", "", "axes"], ["out"], mode="constant")
    model = _model([node], [("x", ["batch", 4, 6])], initializers=[("pads", [1, 2, 0, 3]), ("axes", [-1, 1])], opset=18)
    _check(model, [{"x": (b, 4, 6)} for b in (1, 2)])


def test_pad_large_tensor_runs_parallel_kernel():
    node = helper.make_node("Pad", ["x", "pads"], ["out"], mode="edge")
    model = _model([node], [("x", [1, 64, 56, 56])], initializers=[("pads", [0, 0, 1, 1, 0, 0, 1, 1])], opset=13)
    _check(model, [{"x": (1, 64, 56, 56)}])


@pytest.mark.parametrize("shape,target", [([3, 1], [3, 4]), ([4], [2, 3, 4]), ([2, 1, 5], [1, 3, 1]),
                                          (["batch", 1], [1, 6])], ids=str)
def test_expand(shape, target):
    node = helper.make_node("Expand", ["x", "shape"], ["out"])
    model = _model([node], [("x", shape)], initializers=[("shape", target)], opset=13)
    _check(model, [{"x": _concrete(shape, b)} for b in (1, 3)])


def test_constant_of_shape_over_symbolic_batch():
    # An RNN's zero initial state: ConstantOfShape(Concat(Shape(x)[0:1], [8])).
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Slice", ["s", "zero", "one"], ["b"]),
             helper.make_node("Concat", ["b", "eight"], ["target"], axis=0),
             helper.make_node("ConstantOfShape", ["target"], ["h0"],
                              value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.5])),
             helper.make_node("Add", ["h0", "x"], ["out"])]
    model = _model(nodes, [("x", ["batch", 8])], opset=13,
                   initializers=[("zero", [0]), ("one", [1]), ("eight", [8])])
    _check(model, [{"x": (b, 8)} for b in (1, 4)])


def test_shape_of_unknown_shape_is_unsupported():
    from convrnn.frontend.context import NodeContext
    from convrnn.frontend.registry import find_converter

    context = NodeContext(None, helper.make_node("Shape", ["x"], ["s"]), [None], 13)
    with pytest.raises(UnsupportedError, match="Shape"):
        find_converter("Shape", 13)(context)


# --- Identity, Dropout --------------------------------------------------------------------

@pytest.mark.parametrize("op,opset", [("Identity", 13), ("Dropout", 7), ("Dropout", 13)])
def test_identity_and_dropout(op, opset):
    nodes = [helper.make_node(op, ["x"], ["i"]), helper.make_node("Relu", ["i"], ["r"]),
             helper.make_node(op, ["r"], ["out"])]
    _check(_model(nodes, [("x", ["batch", 3])], opset=opset), [{"x": (b, 3)} for b in (1, 2)])


def test_dropout_in_training_mode_is_unsupported():
    node = helper.make_node("Dropout", ["x", "ratio", "training"], ["out"])
    model = _model([node], [("x", [4])], opset=13,
                   initializers=[("ratio", np.array(0.5, np.float32)), ("training", np.array(True))])
    with pytest.raises(UnsupportedError, match="training_mode"):
        run_convrnn(model, {"x": random_input((4,))})
