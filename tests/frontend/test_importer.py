import numpy as np
import onnx
import pytest
from onnx import helper

import support
from convrnn.compiler.errors import ModelError, UnsupportedError
from convrnn.frontend import import_onnx


def _relu_model(**kwargs):
    return support.make_model([helper.make_node("Relu", ["x"], ["y"])], [support.tensor_info("x", "float32", ["n", 3])],
                              [support.tensor_info("y", "float32", ["n", 3])], **kwargs)


def test_malformed_protobuf_is_a_model_error(tmp_path):
    path = tmp_path / "bad.onnx"
    path.write_bytes(b"\x12\x34 this is not an onnx model \xff")
    with pytest.raises(ModelError, match="not a valid ONNX model"):
        import_onnx(path)
    with pytest.raises(ModelError, match="cannot read model"):
        import_onnx(tmp_path / "absent.onnx")


def test_missing_initializer_names_node_and_input():
    model = support.make_model([helper.make_node("Add", ["x", "bias"], ["y"], name="add_bias")],
                               [support.tensor_info("x", "float32", [3])], [support.tensor_info("y", "float32", [3])])
    with pytest.raises(ModelError, match="node 'add_bias' reads 'bias'.*missing initializer"):
        import_onnx(model)


def test_all_unsupported_ops_are_listed_at_once_with_node_and_opset():
    inner = helper.make_node("StringNormalizer", ["x"], ["t"], name="inner_normalizer")
    then_branch = helper.make_graph([inner], "then", [], [support.tensor_info("t", "float32", [3])])
    else_branch = helper.make_graph([helper.make_node("Relu", ["x"], ["e"])], "else", [],
                                    [support.tensor_info("e", "float32", [3])])
    nodes = [helper.make_node("Det", ["x"], ["d"], name="det1"),
             helper.make_node("Foo", ["x"], ["f"], name="custom", domain="com.example"),
             helper.make_node("If", ["cond"], ["y"], name="branch", then_branch=then_branch, else_branch=else_branch)]
    model = support.make_model(nodes, [support.tensor_info("x", "float32", [3])],
                               [support.tensor_info("y", "float32", [3])], [("cond", np.array(True))], opset=17)
    with pytest.raises(UnsupportedError) as info:
        import_onnx(model)
    message = str(info.value)
    assert "Det (node 'det1', opset 17)" in message
    assert "Foo (node 'custom', domain 'com.example')" in message
    assert "StringNormalizer (node 'inner_normalizer' in subgraph then_branch of 'branch', opset 17)" in message


def test_opset_outside_the_claimed_range_is_reported():
    with pytest.raises(UnsupportedError, match="opset 99"):
        import_onnx(_relu_model(opset=99))


def test_symbolic_dims_come_from_dim_params_and_can_be_fixed():
    graph = import_onnx(_relu_model())
    assert graph.inputs[0].type.shape == ("n", 3)
    assert import_onnx(_relu_model(), input_shapes={"x": [5, 3]}).inputs[0].type.shape == (5, 3)
    with pytest.raises(ModelError, match="input_shapes names q"):
        import_onnx(_relu_model(), input_shapes={"q": [1]})


def test_constant_subgraphs_fold_and_constant_if_inlines_its_branch():
    then_branch = helper.make_graph([helper.make_node("Relu", ["x"], ["t"])], "then", [],
                                    [support.tensor_info("t", "float32", [3])])
    else_branch = helper.make_graph([helper.make_node("Sigmoid", ["x"], ["e"])], "else", [],
                                    [support.tensor_info("e", "float32", [3])])
    nodes = [helper.make_node("Constant", [], ["two"], value=helper.make_tensor("v", onnx.TensorProto.FLOAT, [], [2.0])),
             helper.make_node("Mul", ["two", "two"], ["four"]),
             helper.make_node("Greater", ["four", "two"], ["cond"]),
             helper.make_node("If", ["cond"], ["r"], then_branch=then_branch, else_branch=else_branch),
             helper.make_node("Mul", ["r", "four"], ["y"])]
    model = support.make_model(nodes, [support.tensor_info("x", "float32", [3])], [support.tensor_info("y", "float32", [3])])
    graph = import_onnx(model)
    assert [n.op for n in graph.nodes] == ["Relu", "Mul"]
    x = support.random_input((3,))
    support.assert_matches_onnxruntime(model, {"x": x})


def test_data_dependent_if_keeps_both_branches_as_subgraphs_reading_outer_values():
    branch = helper.make_graph([helper.make_node("Relu", ["x"], ["t"])], "b", [], [support.tensor_info("t", "float32", [1])])
    model = support.make_model([helper.make_node("If", ["c"], ["y"], name="dyn_if", then_branch=branch, else_branch=branch)],
                               [support.tensor_info("x", "float32", [1]), support.tensor_info("c", "bool", [])],
                               [support.tensor_info("y", "float32", [1])])
    (node,) = [n for n in import_onnx(model).nodes if n.op == "If"]
    x = node.inputs[1]
    assert x.name == "x" and [n.op for n in node.attrs["then_branch"].nodes] == ["Relu"]
    assert node.attrs["then_branch"].inputs[0] is not x  # a branch is a closed graph: x is its input


def test_graph_outputs_keep_their_names_even_when_they_are_inputs_or_constants():
    nodes = [helper.make_node("Identity", ["x"], ["same"]), helper.make_node("Relu", ["x"], ["r"])]
    model = support.make_model(nodes, [support.tensor_info("x", "float32", [2])],
                               [support.tensor_info("same", "float32", [2]), support.tensor_info("r", "float32", [2]),
                                support.tensor_info("k", "float32", [2])], [("k", np.ones(2, np.float32))])
    graph = import_onnx(model)
    assert [v.name for v in graph.outputs] == ["same", "r", "k"]
    support.assert_matches_onnxruntime(model, {"x": support.random_input((2,))})


def test_shape_arithmetic_on_a_symbolic_batch_folds_into_reshape():
    # What torch.onnx emits for x.view(x.size(0), -1).
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Gather", ["s", "zero"], ["b"], axis=0),
             helper.make_node("Unsqueeze", ["b", "axes"], ["b1"]),
             helper.make_node("Concat", ["b1", "minus1"], ["shape"], axis=0),
             helper.make_node("Reshape", ["x", "shape"], ["y"])]
    model = support.make_model(nodes, [support.tensor_info("x", "float32", ["batch", 2, 3, 4])],
                               [support.tensor_info("y", "float32", ["batch", 24])],
                               [("zero", np.array(0, np.int64)), ("axes", np.array([0], np.int64)),
                                ("minus1", np.array([-1], np.int64))])
    graph = import_onnx(model)
    assert [n.op for n in graph.nodes] == ["Reshape"] and graph.outputs[0].type.shape == ("batch", 24)
    for batch in (1, 3):
        support.assert_matches_onnxruntime(model, {"x": support.random_input((batch, 2, 3, 4), seed=batch)})


def test_scalar_inputs_constants_and_gather_indices_stay_scalars():
    nodes = [helper.make_node("Gather", ["table", "idx"], ["row"], axis=0),
             helper.make_node("Mul", ["row", "s"], ["y"])]
    model = support.make_model(nodes, [support.tensor_info("s", "float32", []), support.tensor_info("table", "float32", [5, 3])],
                               [support.tensor_info("y", "float32", [3])], [("idx", np.array(2, np.int64))])
    graph = import_onnx(model)
    assert graph.inputs[0].type.shape == () and graph.nodes[0].outputs[0].type.shape == (3,)
    support.assert_matches_onnxruntime(model, {"s": np.array(1.5, np.float32), "table": support.random_input((5, 3))})


def test_constant_folding_evaluates_at_the_model_opset():
    # Unsqueeze's axes are an attribute before opset 13 (onnx.reference, given a bare node,
    # took Unsqueeze 13 and failed on a real PP-OCR model)
    import numpy as np
    from onnx import helper

    import support

    weight = np.arange(6, dtype=np.float32).reshape(2, 3)
    nodes = [helper.make_node("Constant", [], ["w"], value=onnx.numpy_helper.from_array(weight)),
             helper.make_node("Unsqueeze", ["w"], ["w1"], axes=[0]), helper.make_node("Add", ["x", "w1"], ["out"])]
    model = support.make_model(nodes, [support.tensor_info("x", "float32", ["n", 2, 3])],
                               [support.tensor_info("out", "float32", None)], opset=12)
    support.assert_matches_onnxruntime(model, {"x": support.random_input((4, 2, 3))})
    graph = import_onnx(model)
    assert [node.op for node in graph.nodes] == ["Add"]
