"""Compile the bundled image classifier with convrnn, classify an image, time it beside onnxruntime.

    python examples/run_example.py [--threads 2] [--runs 50]

The bundled model has the CIFAR-10 shape (3x32x32 in, 10 classes out) but random, untrained
weights: its "top classes" show what convrnn computed and that it agrees with onnxruntime,
not a meaningful prediction.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

MODEL = Path(__file__).resolve().parent / "image_classification" / "cifar10_cnn_random_weights.onnx"
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def synthetic_image() -> np.ndarray:
    """A deterministic 32x32 RGB test card (colour gradients and a disc), normalized like CIFAR-10."""
    y, x = np.mgrid[0:32, 0:32] / 31.0
    disc = ((x - 0.5) ** 2 + (y - 0.5) ** 2 < 0.1).astype(np.float64)
    rgb = np.stack([x, y, 0.5 * disc + 0.5 * (1 - x)])
    return ((rgb - 0.5) / 0.25).astype(np.float32)[None]


def median_ms(fn, runs: int) -> float:
    fn()  # warm-up: first-run allocations and thread-pool start
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    os.environ["TVM_NUM_THREADS"] = str(args.threads)  # read when TVM is first imported, below

    from convrnn.compiler import compile_model
    from convrnn.runtime import load

    image = synthetic_image()
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        compile_model(MODEL, Path(out) / "artifact")
        print(f"compiled {MODEL.name} in {time.perf_counter() - start:.1f} s")
        model = load(Path(out) / "artifact")
        (logits,) = model.run(image)

        probabilities = np.exp(logits[0] - logits[0].max())
        probabilities /= probabilities.sum()
        print("top classes (untrained weights: the numbers, not the labels, are the point):")
        for index in np.argsort(-probabilities)[:3]:
            print(f"  {CLASSES[index]:<12}{probabilities[index]:7.2%}")
        ours = median_ms(lambda: model.run(image), args.runs)
        print(f"convrnn:     {ours:.3f} ms per inference ({args.threads} threads, median of {args.runs} runs)")
        compare_with_onnxruntime(image, logits, args)


def compare_with_onnxruntime(image: np.ndarray, logits: np.ndarray, args) -> None:
    try:
        import onnxruntime as ort
    except ImportError:
        print("onnxruntime is not installed: no comparison (pip install onnxruntime)")
        return
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    session = ort.InferenceSession(str(MODEL), options, providers=["CPUExecutionProvider"])
    feeds = {session.get_inputs()[0].name: image}
    (reference,) = session.run(None, feeds)
    theirs = median_ms(lambda: session.run(None, feeds), args.runs)
    print(f"onnxruntime: {theirs:.3f} ms per inference")
    difference = float(np.abs(logits - reference).max())
    print(f"convrnn and onnxruntime agree: max |difference| {difference:.2e}")
    if not np.allclose(logits, reference, rtol=1e-4, atol=1e-4):
        raise SystemExit("convrnn's output differs from onnxruntime's")


if __name__ == "__main__":
    main()
