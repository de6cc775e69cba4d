"""The benchmark scripts answer bad options with one line and a non-zero exit, before measuring."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.mark.parametrize("script, arguments, message", [
    ("run.py", ["--markdown", "/nonexistent/results.md"], "--markdown /nonexistent/results.md: cannot write there"),
    ("run.py", ["--json", "{tmp}"], "cannot write there"),
    ("recurrent.py", ["--json", "/nonexistent/results.json"], "--json /nonexistent/results.json: cannot write"),
    ("recurrent.py", ["--tune", "4"], "--tune needs --db"),
    ("roofline.py", ["--peers", "/nonexistent/peers.json"], "not a results file of benchmarks/recurrent.py"),
], ids=["run_markdown", "run_json_is_a_folder", "recurrent_json", "recurrent_tune_without_db", "roofline_peers"])
def test_bad_options_are_one_line(tmp_path, script, arguments, message):
    arguments = [a.replace("{tmp}", str(tmp_path)) for a in arguments]
    env = dict(os.environ, TVM_NUM_THREADS="2")  # roofline.py wants it set
    result = subprocess.run([sys.executable, str(BENCHMARKS / script), *arguments], capture_output=True, text=True,
                            timeout=120, env=env)
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_roofline_targets_come_from_peers_only(tmp_path):
    """convrnn's own rows, tuned or not, are never the 'fastest peer' a target is set from."""
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location("roofline", BENCHMARKS / "roofline.py")
    roofline = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(roofline)
    rows = [{"model": "crnn", "system": system, "ms": ms} for system, ms in
            (("convrnn", 1.9), ("convrnn-tuned", 1.8), ("onnxruntime", 2.6), ("openvino", 3.9), ("tvm-relax", None))]
    (tmp_path / "results.json").write_text(json.dumps({"rows": rows}))
    assert roofline.fastest_peers(str(tmp_path / "results.json")) == {"crnn": 2.6}


def test_the_standard_mobilenet_v2_has_its_layers():
    """benchmarks/mobilenet_v2.py: torchvision's MobileNetV2 1.0 structure, a valid model."""
    import importlib.util

    import numpy as np
    import onnx
    import onnxruntime as ort

    spec = importlib.util.spec_from_file_location("mobilenet_v2", BENCHMARKS / "mobilenet_v2.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.mobilenet_v2()
    onnx.checker.check_model(model)
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    depthwise = [n for n in convs if next(a.i for a in n.attribute if a.name == "group") > 1]
    assert (len(convs), len(depthwise)) == (52, 17)
    assert sum(onnx.numpy_helper.to_array(i).size for i in model.graph.initializer) > 3_400_000  # 3.5M parameters
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {"input": np.random.default_rng(0).standard_normal((1, 3, 224, 224), np.float32)})
    assert logits.shape == (1, 1000) and np.isfinite(logits).all()


def test_the_winograd_choice_benchmark_times_both_forms_of_a_layer():
    """Both builds of a layer, direct and Winograd, are checked against onnxruntime and timed."""
    import json

    env = dict(os.environ, TVM_NUM_THREADS="2")
    result = subprocess.run([sys.executable, str(BENCHMARKS / "winograd_choice.py"), "--only", "32-64_9x9",
                             "--blocks", "1", "--runs", "1"], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.strip().splitlines()
    row = json.loads(line)
    assert row["layer"] == "32-64_9x9" and row["direct_ms"] > 0 and row["winograd_ms"] > 0
