import os
import subprocess
import sys

import numpy as np
import onnx
import pytest

import support
from convrnn.compiler.cli import main


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "model.onnx"
    nodes = [onnx.helper.make_node("Mul", ["x", "x"], ["sq"]), onnx.helper.make_node("Sigmoid", ["sq"], ["y"])]
    onnx.save(support.make_model(nodes, [support.tensor_info("x", "float32", ["n", 4])],
                                 [support.tensor_info("y", "float32", ["n", 4])]), path)
    return path


@pytest.fixture(scope="module")
def artifact(model_file):
    out = model_file.parent / "artifact"
    assert main(["compile", str(model_file), "-o", str(out)]) == 0
    return out


def test_compile_run_and_save_outputs(artifact, tmp_path, capsys):
    x = support.random_input((3, 4))
    np.save(tmp_path / "x.npy", x)
    assert main(["run", str(artifact), "--input", f"x={tmp_path / 'x.npy'}", "--output", str(tmp_path / "o.npz")]) == 0
    printed = capsys.readouterr().out
    assert "y: float32[3, 4]" in printed and "ran in" in printed
    with np.load(tmp_path / "o.npz") as saved:
        np.testing.assert_allclose(saved["y"], 1 / (1 + np.exp(-x * x)), rtol=1e-5)


def test_inspect_prints_graph_and_memory(model_file, capsys):
    assert main(["inspect", str(model_file)]) == 0
    text = capsys.readouterr().out
    # Mul and Sigmoid are fused into one kernel (fuse_elementwise); $0 is its first input, %x
    assert "ElementwiseChain(%x; steps=Sigmoid(Mul($0, $0)))" in text and "peak activation memory" in text
    assert main(["inspect", str(model_file), "--after", "fuse_epilogue"]) == 0
    assert "Mul(%x, %x)" in capsys.readouterr().out
    assert main(["inspect", str(model_file), "--after", "import", "--input-shape", "x=2x4"]) == 0
    assert "float32[2,4]" in capsys.readouterr().out


def test_fixed_input_shape_at_compile(model_file, tmp_path):
    out = tmp_path / "fixed"
    assert main(["compile", str(model_file), "-o", str(out), "--input-shape", "x=2x4"]) == 0
    from convrnn.runtime import load

    assert load(out).inputs[0].shape == (2, 4)


@pytest.mark.parametrize("argv, message", [
    (["compile", "missing.onnx", "-o", "out"], "cannot read model 'missing.onnx'"),
    (["compile", "{model}", "-o", "{tmp}/o", "--target", "tpu"], "unknown target 'tpu'"),
    (["compile", "{model}", "-o", "{tmp}/o", "--input-shape", "x=2xq!"], "is not a positive size"),
    (["compile", "{model}", "-o", "{tmp}/o", "--input-shape", "nope=2x4"], "does not have"),
    (["run", "{tmp}/nothing"], "not a convrnn artifact"),
    (["run", "{artifact}", "--input", "x={tmp}/absent.npy"], "no such file"),
    (["run", "{artifact}", "--input", "x"], "expected NAME=FILE.npy"),
    (["run", "{artifact}"], "missing input 'x'"),
    (["inspect", "{model}", "--after", "nonsense"], "invalid choice"),
    (["frobnicate"], "invalid choice"),
])
def test_user_errors_print_one_line_and_exit_2(argv, message, model_file, artifact, tmp_path, capsys):
    argv = [a.format(model=model_file, tmp=tmp_path, artifact=artifact) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("convrnn: error: ") and err.count("\n") == 1 and message in err, err


def test_bad_npy_file_and_wrong_shape(artifact, tmp_path, capsys):
    (tmp_path / "bad.npy").write_bytes(b"not numpy")
    assert main(["run", str(artifact), "--input", f"x={tmp_path / 'bad.npy'}"]) == 2
    assert "not a readable .npy file" in capsys.readouterr().err
    np.save(tmp_path / "x.npy", np.zeros((3, 5), np.float32))
    assert main(["run", str(artifact), "--input", f"x={tmp_path / 'x.npy'}"]) == 2
    assert "axis 1 must be 4" in capsys.readouterr().err


def test_installed_entry_point_has_no_traceback(tmp_path):
    (tmp_path / "broken.onnx").write_bytes(b"\x08\x01garbage-not-a-protobuf\xff\xff")
    result = subprocess.run([sys.executable, "-m", "convrnn.compiler.cli", "compile", str(tmp_path / "broken.onnx"),
                             "-o", str(tmp_path / "o")], capture_output=True, text=True,
                            env=dict(os.environ, PYTHONWARNINGS="ignore"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "is not a valid ONNX model" in result.stderr
    assert not (tmp_path / "o").exists()


def test_an_artifact_for_a_cpu_feature_this_host_lacks_is_one_line(artifact, tmp_path, capsys):
    import json
    import shutil

    from convrnn.runtime.artifact import sign_plan

    copy = shutil.copytree(artifact, tmp_path / "elsewhere")
    plan = json.loads((copy / "plan.json").read_text())
    plan["cpu_flags"] = plan["cpu_flags"] + ["avx10_9"]  # a flag no CPU reports
    (copy / "plan.json").write_text(json.dumps(sign_plan(plan)))
    np.save(tmp_path / "x.npy", np.zeros((2, 4), np.float32))
    assert main(["run", str(copy), "--input", f"x={tmp_path / 'x.npy'}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("convrnn: error: ") and err.count("\n") == 1 and "avx10_9" in err and "lacks" in err, err
