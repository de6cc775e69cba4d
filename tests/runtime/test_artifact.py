import json
import os

import pytest

import support
from convrnn.runtime import ArtifactError, DeviceError, load
from convrnn.runtime.artifact import sign_plan


def _rewrite_plan(path, change, sign=True):
    """Change plan.json; signed, as if a (different) compiler had written it."""
    plan = json.loads((path / "plan.json").read_text())
    change(plan)
    (path / "plan.json").write_text(json.dumps(sign_plan(plan) if sign else plan))


def test_artifact_holds_library_plan_and_weights(compiled_small):
    assert sorted(os.listdir(compiled_small)) == ["model.so", "plan.json", "weights.npz"]
    plan = json.loads((compiled_small / "plan.json").read_text())
    assert plan["format"] == "convrnn-artifact" and plan["version"] == 1 and plan["device"] == "cpu"


def test_corrupted_library_is_detected(artifact_copy):
    data = bytearray((artifact_copy / "model.so").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (artifact_copy / "model.so").write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="model.so is corrupt"):
        load(artifact_copy)


def test_truncated_weights_are_detected(artifact_copy):
    data = (artifact_copy / "weights.npz").read_bytes()
    (artifact_copy / "weights.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError, match="weights.npz is truncated"):
        load(artifact_copy)


@pytest.mark.parametrize("damage, message", [
    (lambda p: (p / "plan.json").write_text("{not json"), "plan.json is corrupt"),
    (lambda p: (p / "plan.json").unlink(), "no plan.json"),
    (lambda p: (p / "model.so").unlink(), "model.so is missing"),
    (lambda p: _rewrite_plan(p, lambda plan: plan.update(version=99)), "format version 99"),
    (lambda p: _rewrite_plan(p, lambda plan: plan.update(format="other")), "not a convrnn plan"),
    (lambda p: _rewrite_plan(p, lambda plan: plan["calls"].pop(), sign=False), "plan.json is corrupt"),
])
def test_damaged_artifacts_are_refused(artifact_copy, damage, message):
    damage(artifact_copy)
    with pytest.raises(ArtifactError, match=message):
        load(artifact_copy)


def test_not_an_artifact(tmp_path):
    with pytest.raises(ArtifactError, match="not a convrnn artifact"):
        load(tmp_path / "missing")


def test_artifact_for_another_device_is_refused(artifact_copy):
    with pytest.raises(ArtifactError, match="compiled for cpu .* not for cuda"):
        load(artifact_copy, device="cuda")
    _rewrite_plan(artifact_copy, lambda plan: plan.update(device="cuda"))
    import tvm

    if not tvm.cuda().exist:
        with pytest.raises(DeviceError, match="no cuda device"):
            load(artifact_copy)


def test_interrupted_compile_leaves_nothing_and_keeps_the_old_artifact(small_onnx, tmp_path, monkeypatch):
    from convrnn.compiler import build

    destination = tmp_path / "out"

    def interrupted(executable, path):
        raise KeyboardInterrupt

    monkeypatch.setattr(build.tvm_, "export_library", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build.compile_model(small_onnx, destination)
    assert not destination.exists() and os.listdir(tmp_path) == []

    monkeypatch.undo()
    build.compile_model(small_onnx, destination)
    before = (destination / "plan.json").read_bytes()
    monkeypatch.setattr(build.tvm_, "export_library", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build.compile_model(small_onnx, destination)
    assert (destination / "plan.json").read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["out"]
    x = support.random_input((2, 16))
    assert load(destination).run(x, x)[0].shape == (2, 16)


def test_refuses_to_overwrite_a_directory_that_is_not_an_artifact(small_onnx, tmp_path):
    from convrnn.compiler import compile_model

    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(ArtifactError, match="not a convrnn artifact"):
        compile_model(small_onnx, tmp_path)
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_an_artifact_rebuilt_at_a_loaded_path_runs_its_own_kernels(tmp_path):
    """The dynamic loader returns a library it holds under the same file name: each load must
    still run the kernels of the artifact now at the path, and the first model its own."""
    import numpy as np
    from onnx import helper

    from convrnn.compiler import compile_model

    def one_op_model(op):
        return support.make_model([helper.make_node(op, ["x"], ["y"])], [support.tensor_info("x", "float32", [8])],
                                  [support.tensor_info("y", "float32", None)], [], opset=17)

    x = np.arange(-4, 4, dtype="float32")
    relu = load(compile_model(one_op_model("Relu"), tmp_path / "same.convrnn"))
    negate = load(compile_model(one_op_model("Neg"), tmp_path / "same.convrnn"))
    np.testing.assert_array_equal(negate.run(x)[0], -x)
    np.testing.assert_array_equal(relu.run(x)[0], np.maximum(x, 0))


def test_an_artifact_for_cpu_features_the_host_lacks_is_refused(compiled_small, monkeypatch):
    """Compiled where AVX-512 exists, loaded where it does not: a clear error, not an illegal
    instruction in the first kernel."""
    import convrnn.runtime.model as model_module

    required = json.loads((compiled_small / "plan.json").read_text())["cpu_flags"]
    assert "avx2" in required  # every x86-64 machine that runs the suite has it
    avx2_only = frozenset("fpu sse sse2 ssse3 sse4_1 sse4_2 avx avx2 fma f16c".split())
    monkeypatch.setattr(model_module, "host_cpu_flags", lambda: avx2_only)
    if set(required) <= avx2_only:  # compiled on an AVX2 host: these kernels run on it
        load(compiled_small)
        return
    with pytest.raises(ArtifactError, match="compiled for a CPU with .*avx512f.*which this CPU lacks"):
        load(compiled_small)
