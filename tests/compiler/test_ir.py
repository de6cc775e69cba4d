import numpy as np
import pytest

from convrnn.compiler.ir import Graph, Node, TensorType, Value
from convrnn.compiler.passes import PIPELINE, run_pipeline
from convrnn.compiler.passes.eliminate_dead_code import eliminate_dead_code
from convrnn.compiler.printer import format_graph
from convrnn.compiler.verifier import VerificationError, verify


def _chain():
    t = TensorType(("batch", 8), "float32")
    x = Value("x", t)
    w = Value("w", TensorType((8,), "float32"))
    a = Value("a", t)
    b = Value("b", t)
    dead = Value("dead", t)
    nodes = [Node("Add", (x, w), (a,), name="add"), Node("Relu", (a,), (b,), name="relu"),
             Node("Sigmoid", (a,), (dead,), name="unused")]
    return Graph([x], [b], nodes, {"w": np.ones(8, np.float32)}, {"w": w})


def test_tensor_type_normalizes_and_prints():
    t = TensorType(["batch", np.int64(3)], np.float32)
    assert t.shape == ("batch", 3) and t.dtype == "float32" and t.symbols == ("batch",)
    assert not t.is_static and str(t) == "float32[batch,3]"
    assert t.nbytes({"batch": 2}) == 24


def test_verifier_accepts_a_well_formed_graph_and_printer_shows_it():
    graph = _chain()
    verify(graph)
    text = format_graph(graph)
    assert "%a: float32[batch,8] = Add(%x, %w)" in text and "return %b" in text


def test_printer_shows_a_slice_whose_steps_are_strides():
    x, y = Value("x", TensorType((8,), "float32")), Value("y", TensorType((4,), "float32"))
    node = Node("Slice", (x,), (y,), {"starts": [0], "ends": [8], "axes": [0], "steps": [2]}, name="s")
    assert "steps=[2]" in format_graph(Graph([x], [y], [node]))


def test_verifier_rejects_use_before_definition():
    graph = _chain()
    graph.nodes.reverse()
    with pytest.raises(VerificationError, match="before it is defined"):
        verify(graph)


def test_verifier_rejects_wrong_output_type():
    graph = _chain()
    graph.nodes[1].outputs[0].type = TensorType(("batch", 9), "float32")
    with pytest.raises(VerificationError, match="infers"):
        verify(graph)


def test_verifier_rejects_duplicate_definition_and_bad_constant():
    graph = _chain()
    graph.nodes[2].outputs = graph.nodes[1].outputs
    with pytest.raises(VerificationError, match="defined twice"):
        verify(graph)
    graph = _chain()
    graph.constants["w"] = np.ones(9, np.float32)
    with pytest.raises(VerificationError, match="constant w"):
        verify(graph)


def test_dead_code_elimination_removes_unused_nodes_and_constants():
    graph = _chain()
    graph.outputs = [graph.nodes[0].outputs[0]]
    result = eliminate_dead_code(graph)
    assert [n.name for n in result.nodes] == ["add"]
    assert set(result.constants) == {"w"}
    graph.outputs = [graph.inputs[0]]
    assert eliminate_dead_code(graph).constants == {}


def test_pipeline_is_a_named_list_verified_after_each_pass():
    assert all(isinstance(step.name, str) and callable(step.transform) for step in PIPELINE)
    assert [n.name for n in run_pipeline(_chain(), stop_after="fuse_epilogue", verify=True).nodes] == \
        ["add", "relu"]
    result = run_pipeline(_chain(), verify=True)  # fuse_elementwise makes the chain one node
    assert [(n.op, n.name) for n in result.nodes] == [("ElementwiseChain", "relu")]
    with pytest.raises(KeyError):
        run_pipeline(_chain(), stop_after="no_such_pass")
