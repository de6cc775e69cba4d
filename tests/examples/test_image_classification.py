"""The digits example: its trained model matches onnxruntime, and run.py reproduces PyTorch's accuracy."""
import json
import re
from pathlib import Path

import onnx

import support

EXAMPLE = Path(__file__).resolve().parent.parent.parent / "examples" / "image_classification"


def test_digits_model_matches_onnxruntime():
    model = onnx.load(str(EXAMPLE / "digits_cnn.onnx"))
    # Pixels are normalized to [0, 1]; a batch of 3 exercises the symbolic batch dim.
    image = support.random_input((3, 1, 8, 8), seed=7, low=0.0, high=1.0)
    support.assert_matches_onnxruntime(model, {"image": image})


def test_run_script_reproduces_recorded_accuracy():
    stdout = support.run_script(EXAMPLE / "run.py", "--runs", "3", timeout=120)
    expected = json.loads((EXAMPLE / "expected.json").read_text())["torch_accuracy"]
    printed = re.search(r"^\s*convrnn\s+([\d.]+)%$", stdout, re.MULTILINE)
    assert printed, stdout
    assert printed.group(1) == f"{100 * expected:.2f}"
