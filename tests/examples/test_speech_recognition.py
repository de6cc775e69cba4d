"""The speech recognition example: its CRNN matches onnxruntime at any length, and run.py
recognizes the committed utterances with PyTorch's word error rate."""
import json
import re
from pathlib import Path

import onnx

import support

EXAMPLE = Path(__file__).resolve().parent.parent.parent / "examples" / "speech_recognition"


def test_model_matches_onnxruntime_at_two_lengths():
    model = onnx.load(str(EXAMPLE / "digits_crnn.onnx"))
    shapes = {"features": ["batch", 1, 40, "frames"]}  # one artifact for both lengths
    for frames, seed in ((57, 1), (203, 2)):
        features = support.random_input((2, 1, 40, frames), seed=seed)
        support.assert_matches_onnxruntime(model, {"features": features}, input_shapes=shapes)


def test_run_script_reproduces_pytorch_wer():
    stdout = support.run_script(EXAMPLE / "run.py", "--runs", "2", timeout=300)
    expected = json.loads((EXAMPLE / "expected.json").read_text())
    printed = re.search(r"convrnn WER: +([\d.]+)%", stdout)
    assert printed, stdout
    assert float(printed.group(1)) == round(expected["pytorch_wer"], 2)
    assert "onnxruntime WER" in stdout and "convrnn agrees" in stdout
