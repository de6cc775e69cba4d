"""compute_bit_patterns_in_float32: ops on bfloat16/float8/... compute in float32 between casts,
rounded once at the end (the float32 model's result cast to the narrow type); the ops that
convert these types, views and copies are left alone."""
import ml_dtypes
import numpy as np
import pytest
from onnx import helper

import support
from convrnn.compiler.passes import run_pipeline
from convrnn.frontend import import_onnx


def _info(name, dtype, shape):
    return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), shape)


def _model(nodes, inputs, outputs, opset=21):
    return support.make_model(nodes, [_info(*i) for i in inputs], [_info(*o) for o in outputs], opset=opset)


def _steps(model, stop_after="compute_bit_patterns_in_float32"):
    graph = run_pipeline(import_onnx(model), stop_after=stop_after, verify=True)
    return [(n.op, [v.type.dtype for v in n.inputs if v is not None], [v.type.dtype for v in n.outputs])
            for n in graph.nodes]


def test_an_activation_on_bfloat16_runs_between_casts():
    model = _model([helper.make_node("Celu", ["x"], ["y"], alpha=2.0)], [("x", "bfloat16", [5])], [("y", "bfloat16", [5])])
    assert _steps(model) == [("Cast", ["bfloat16"], ["float32"]), ("Celu", ["float32"], ["float32"]),
                             ("Cast", ["float32"], ["bfloat16"])]


def test_converting_ops_views_and_copies_are_left_alone():
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["r"]), helper.make_node("Cast", ["r"], ["y"], to=1),
             helper.make_node("Identity", ["x"], ["z"])]
    model = support.make_model(nodes, [_info("x", "float8_e4m3fn", [2, 3])],
                               [_info("y", "float32", None), _info("z", "float8_e4m3fn", None)],
                               [("shape", np.array([3, 2], np.int64))], opset=21)
    assert [op for op, _, _ in _steps(model)] == ["Reshape", "Cast", "Identity"]


def _bfloat16_matches_float32_rounded_once(model, float_model, feeds):
    """convrnn on the bfloat16 model against onnx.reference on the float32 model, rounded to
    bfloat16 once: equal within one bfloat16 step (the float32 results may differ in their last
    bits, and a rounding tie may then fall either way)."""
    float_feeds = {k: v.astype(np.float32) if v.dtype == ml_dtypes.bfloat16 else v for k, v in feeds.items()}
    want = [np.asarray(w).astype(ml_dtypes.bfloat16) for w in support.run_reference(float_model, float_feeds)]
    for got, expected in zip(support.run_convrnn(model, feeds), want):
        assert got.dtype == ml_dtypes.bfloat16
        np.testing.assert_allclose(got.astype(np.float32), expected.astype(np.float32), rtol=2 ** -7, atol=1e-30)


@pytest.mark.parametrize("op, attrs, inputs", [
    ("Celu", {"alpha": 2.0}, [("x", [4, 6])]),
    ("Softmax", {"axis": -1}, [("x", [4, 6])]),
    ("Add", {}, [("x", [4, 6]), ("b", [6])]),
    ("MatMul", {}, [("x", [4, 6]), ("b", [6, 3])]),
    ("Einsum", {"equation": "ij,kj->ik"}, [("x", [4, 6]), ("b", [3, 6])]),
    ("ReduceSum", {"keepdims": 0}, [("x", [4, 6])]),
])
def test_bfloat16_ops_compute_in_float32(op, attrs, inputs):
    node = helper.make_node(op, [name for name, _ in inputs], ["y"], **attrs)
    rng = np.random.default_rng(3)
    feeds = {name: rng.normal(0, 3, shape).astype(ml_dtypes.bfloat16) for name, shape in inputs}
    models = [_model([node], [(name, dtype, shape) for name, shape in inputs], [("y", dtype, None)])
              for dtype in ("bfloat16", "float32")]
    _bfloat16_matches_float32_rounded_once(*models, feeds)


def test_one_hot_with_bfloat16_values_and_gather_of_float8():
    nodes = [helper.make_node("OneHot", ["i", "depth", "values"], ["y"], axis=1),
             helper.make_node("Gather", ["q", "i"], ["g"], axis=0)]
    model = support.make_model(nodes, [_info("i", "int64", [3]), _info("values", "bfloat16", [2]),
                                       _info("q", "float8_e5m2", [5, 2])],
                               [_info("y", "bfloat16", None), _info("g", "float8_e5m2", None)],
                               [("depth", np.array(5, np.int64))], opset=21)
    q = np.arange(10, dtype=np.uint8).reshape(5, 2).view(ml_dtypes.float8_e5m2)
    q.view(np.uint8)[0] = [0x7C, 0x80]  # Inf and -0 keep their bits through float32
    feeds = {"i": np.array([0, 4, 2], np.int64), "values": np.array([0.5, 3.5], ml_dtypes.bfloat16), "q": q}
    y, g = support.run_convrnn(model, feeds)
    want_y, want_g = support.run_reference(model, feeds)
    support.assert_same_elements(y, want_y)
    support.assert_same_elements(g, want_g)


@pytest.mark.parametrize("condition", [True, False])
def test_if_branches_on_bfloat16_compute_in_float32(condition):
    # the If is left alone; its branches pass through the pass as graphs of their own
    then_branch = helper.make_graph([helper.make_node("Add", ["x", "x"], ["t"])], "then", [], [_info("t", "bfloat16", [4])])
    else_branch = helper.make_graph([helper.make_node("Neg", ["x"], ["e"])], "else", [], [_info("e", "bfloat16", [4])])
    node = helper.make_node("If", ["c"], ["y"], then_branch=then_branch, else_branch=else_branch)
    model = _model([node], [("c", "bool", []), ("x", "bfloat16", [4])], [("y", "bfloat16", [4])])
    feeds = {"c": np.array(condition), "x": np.array([1.5, -2, np.inf, 3.0078125], ml_dtypes.bfloat16)}  # 6.015625: a tie
    (got,) = support.run_convrnn(model, feeds)
    (want,) = support.run_reference(model, feeds)
    support.assert_same_elements(got, want)
