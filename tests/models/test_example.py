"""The bundled example: its model matches onnxruntime, and the script runs end to end."""
import subprocess
import sys
from pathlib import Path

import onnx

import support

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"


def test_example_model_matches_onnxruntime():
    model = onnx.load(str(EXAMPLES / "image_classification" / "cifar10_cnn_random_weights.onnx"))
    support.assert_matches_onnxruntime(model, {"input": support.random_input((2, 3, 32, 32), seed=4)})


def test_run_example_script():
    result = subprocess.run([sys.executable, str(EXAMPLES / "run_example.py"), "--runs", "3"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "top classes" in result.stdout and "onnxruntime:" in result.stdout
