import shutil

import numpy as np
import pytest

import support


def small_model():
    """y = relu(x + b) * z, with a symbolic batch on x and z."""
    nodes = [support.onnx.helper.make_node("Add", ["x", "b"], ["t"]),
             support.onnx.helper.make_node("Relu", ["t"], ["u"]),
             support.onnx.helper.make_node("Mul", ["u", "z"], ["y"])]
    return support.make_model(
        nodes, [support.tensor_info("x", "float32", ["batch", 16]), support.tensor_info("z", "float32", ["batch", 16])],
        [support.tensor_info("y", "float32", ["batch", 16])],
        [("b", np.linspace(-1, 1, 16, dtype=np.float32))])


@pytest.fixture(scope="session")
def small_onnx():
    return small_model()


@pytest.fixture(scope="session")
def compiled_small(tmp_path_factory):
    """The artifact directory of small_model(), compiled once."""
    from convrnn.compiler import compile_model

    return compile_model(small_model(), tmp_path_factory.mktemp("art") / "small")


@pytest.fixture
def artifact_copy(compiled_small, tmp_path):
    """A private copy of the artifact that a test may damage."""
    return shutil.copytree(compiled_small, tmp_path / "copy")
