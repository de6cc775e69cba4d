"""Tell the language of held-out fortune cookies with convrnn; check it against PyTorch and onnxruntime.

    python examples/text_classification/run.py [--threads 2] [--runs 100]

fortune_language_gru.onnx is a character-level Embedding + Conv1d + GRU classifier that
train.py trained on the fortunes of Debian's fortune packages in seven languages;
held_out.json holds texts it never saw. convrnn compiles the model once with a symbolic batch
and sequence length, and classifies the texts in batches of similar lengths (tokens.py), each
batch with its own length, through that one artifact. Its accuracy must equal the one PyTorch
recorded in expected.json, its predictions PyTorch's and onnxruntime's (when installed):
the script exits non-zero otherwise. Then it times one text of the median length.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # tokens.py here, example_support one folder up
import example_support as support  # noqa: E402
import tokens  # noqa: E402

MODEL = HERE / "fortune_language_gru.onnx"


def classify(run, encoded: list[list[int]], label: str) -> np.ndarray:
    """Logits [texts, classes] from `run(tokens) -> logits`, batch by batch."""
    rows = [None] * len(encoded)
    for indices, batch in support.progress(list(tokens.length_batches(encoded)), label):
        for index, row in zip(indices, run(batch)):
            rows[index] = row
    return np.stack(rows)


def accuracy(predictions: np.ndarray, labels: np.ndarray) -> float:
    # The same division train.py records, so equal predictions give an identical float.
    return int((predictions == labels).sum()) / len(labels)


def main() -> None:
    args = support.parse_arguments(__doc__, runs=100, runs_help="timed one-text calls per runtime")

    chars = json.loads((HERE / "vocab.json").read_text(encoding="utf-8"))["chars"]
    samples = json.loads((HERE / "held_out.json").read_text(encoding="utf-8"))
    expected = json.loads((HERE / "expected.json").read_text())
    classes, names = expected["classes"], expected["class_names"]
    texts = [sample["text"] for sample in samples]
    labels = np.array([classes.index(sample["language"]) for sample in samples])
    encoded = tokens.encode(texts, chars)

    model = support.compile_and_load(MODEL, input_shapes={"tokens": ["batch", "seq"]})
    logits = classify(lambda batch: model.run(batch)[0], encoded, "convrnn")
    predictions = logits.argmax(axis=1)
    ours = accuracy(predictions, labels)
    session = support.onnxruntime_session(MODEL, args.threads)
    reference = None
    if session is not None:
        reference = classify(lambda batch: session.run(None, {"tokens": batch})[0], encoded, "onnxruntime")

    support.print_scores(f"held-out accuracy on {len(texts)} fortunes ({len(classes)} languages):",
                         expected["torch_accuracy"], ours,
                         None if reference is None else accuracy(reference.argmax(axis=1), labels))

    failures = []
    if len(texts) != expected["held_out_samples"]:
        failures.append(f"held_out.json has {len(texts)} texts, expected.json says {expected['held_out_samples']}")
    if ours != expected["torch_accuracy"]:
        failures.append(f"convrnn's accuracy {ours:.4%} differs from PyTorch's "
                        f"{expected['torch_accuracy']:.4%}")
    torch_predictions = np.array([classes.index(code) for code in expected["torch_predictions"].split()])
    if (differing := int((predictions != torch_predictions).sum())):
        failures.append(f"convrnn and PyTorch predict different languages for {differing} of {len(texts)} texts")
    if reference is not None and (differing := int((predictions != reference.argmax(axis=1)).sum())):
        failures.append(f"convrnn and onnxruntime predict different languages for {differing} of {len(texts)} texts")
    if failures:
        raise SystemExit("MISMATCH: " + "; ".join(failures))
    if reference is None:
        print("convrnn and PyTorch predict the same language for every text")
    else:
        print(f"convrnn, PyTorch and onnxruntime predict the same language for every text "
              f"(max |logit difference| from onnxruntime {float(np.abs(logits - reference).max()):.1e})")

    print("examples:")
    wrong = [int(i) for i in np.flatnonzero(predictions != labels)[:1]]
    for index in [*range(0, len(texts), len(texts) // 4), *wrong]:
        scores = np.exp(logits[index] - logits[index].max())
        verdict = "right" if predictions[index] == labels[index] else f"wrong, it is {names[labels[index]]}"
        print(f"  {names[predictions[index]]:<10} {scores.max() / scores.sum():6.1%} ({verdict}): "
              f"{tokens.normalize(texts[index])[:60]!r}")

    median = sorted(encoded, key=len)[len(encoded) // 2]
    one = tokens.left_pad([median])
    support.print_latency(f"one text of the median length, {len(median)} characters "
                          f"({support.threads_label(args.threads)})", lambda: model.run(one),
                          session and (lambda: session.run(None, {"tokens": one})), args.runs)


if __name__ == "__main__":
    main()
