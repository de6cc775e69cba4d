"""Classify the held-out handwritten digits with convrnn and check it against PyTorch and onnxruntime.

    python examples/image_classification/run.py [--threads 2] [--runs 200]

digits_cnn.onnx is a small CNN trained by train.py on scikit-learn's digits; held_out.npz
holds the quarter of the data it never saw, and expected.json the accuracy PyTorch measured
on it. convrnn compiles the model once with a symbolic batch, classifies all held-out images
in one call, and must reach exactly PyTorch's accuracy (and onnxruntime's predictions, when
onnxruntime is installed); the script exits non-zero otherwise. Then it times batch-1 calls.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # for example_support, one folder up
import example_support as support  # noqa: E402

MODEL = HERE / "digits_cnn.onnx"


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    # The same division train.py records, so equal predictions give an identical float.
    return int((logits.argmax(axis=1) == labels).sum()) / len(labels)


def main() -> None:
    args = support.parse_arguments(__doc__, runs=200, runs_help="timed batch-1 calls per runtime")

    held_out = np.load(HERE / "held_out.npz")
    images, labels = held_out["images"], held_out["labels"]
    expected = json.loads((HERE / "expected.json").read_text())

    model = support.compile_and_load(MODEL, input_shapes={"image": ["batch", 1, 8, 8]})
    (logits,) = model.run(images)  # all held-out images in one call
    ours = accuracy(logits, labels)
    session = support.onnxruntime_session(MODEL, args.threads)
    reference = session.run(None, {"image": images})[0] if session else None

    support.print_scores(f"held-out accuracy on {len(labels)} digits:", expected["torch_accuracy"], ours,
                         None if reference is None else accuracy(reference, labels))

    failures = []
    if len(labels) != expected["held_out_samples"]:
        failures.append(f"held_out.npz has {len(labels)} images, expected.json says {expected['held_out_samples']}")
    if ours != expected["torch_accuracy"]:
        failures.append(f"convrnn's accuracy {ours:.4%} differs from PyTorch's {expected['torch_accuracy']:.4%}")
    if reference is not None:
        differing = int((logits.argmax(axis=1) != reference.argmax(axis=1)).sum())
        if differing:
            failures.append(f"convrnn and onnxruntime predict different digits for {differing} images")
        else:
            print(f"convrnn and onnxruntime predict the same digit for every image "
                  f"(max |logit difference| {float(np.abs(logits - reference).max()):.1e})")
    if failures:
        raise SystemExit("MISMATCH: " + "; ".join(failures))

    one = images[:1]
    support.print_latency(f"batch-1 latency ({support.threads_label(args.threads)})", lambda: model.run(one),
                          session and (lambda: session.run(None, {"image": one})), args.runs)


if __name__ == "__main__":
    main()
