"""The text classification example: its trained model matches onnxruntime at two sequence
lengths, and run.py reaches exactly the accuracy PyTorch recorded."""
import json
import re
from pathlib import Path

import onnx

import support

EXAMPLE = Path(__file__).resolve().parent.parent.parent / "examples" / "text_classification"


def test_model_matches_onnxruntime_at_two_lengths():
    model = onnx.load(str(EXAMPLE / "fortune_language_gru.onnx"))
    vocab = len(json.loads((EXAMPLE / "vocab.json").read_text(encoding="utf-8"))["chars"]) + 2
    shapes = {"tokens": ["batch", "seq"]}  # one artifact for both lengths (compile_cached keys on it)
    for seed, shape in enumerate([(3, 17), (2, 128)]):
        tokens = support.random_input(shape, "int64", seed=seed, low=0, high=vocab - 1)
        support.assert_matches_onnxruntime(model, {"tokens": tokens}, input_shapes=shapes)


def test_run_script_reaches_pytorch_accuracy():
    stdout = support.run_script(EXAMPLE / "run.py", "--runs", "3", timeout=300)
    expected = json.loads((EXAMPLE / "expected.json").read_text())
    printed = re.search(r"^  convrnn\s+([\d.]+)%$", stdout, re.MULTILINE)
    assert printed, stdout
    assert printed.group(1) == f"{expected['torch_accuracy']:.2%}".rstrip("%")
    assert "onnxruntime  " in stdout  # the latency line: onnxruntime is a test dependency
