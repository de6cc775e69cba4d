"""Recognize spoken digit sequences with a CRNN compiled by convrnn, one artifact for every length.

    python examples/speech_recognition/run.py [--threads 2] [--runs 20]

Reads the committed 16 kHz WAV files (utterances/), computes log-mel features in numpy,
compiles digits_crnn.onnx once with a symbolic time axis ("frames") and runs each utterance,
whatever its length, through that one artifact; greedy CTC decoding turns the per-frame
log-probabilities into words. Prints the word error rate beside PyTorch's (recorded in
expected.json when the model was trained) and onnxruntime's (when installed), exits non-zero
if convrnn disagrees with either, and times one utterance of about two seconds.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # features.py and text.py here, example_support one up
import example_support as support  # noqa: E402
from features import HOP, MELS, SAMPLE_RATE, log_mel, read_wav  # noqa: E402
from text import greedy_decode, word_error_rate  # noqa: E402

MODEL = HERE / "digits_crnn.onnx"
SHOWN = 6  # transcripts printed (and every misrecognized one)


def main() -> None:
    args = support.parse_arguments(__doc__, runs=20, runs_help="timed calls per engine for the latency")

    listing = json.loads((HERE / "utterances.json").read_text())
    expected = json.loads((HERE / "expected.json").read_text())
    # [1, 1, MELS, frames]: a batch of one, so every utterance keeps its own length.
    features = [log_mel(read_wav(HERE / "utterances" / u["file"]))[None, None] for u in listing]
    model = support.compile_and_load(MODEL, {"features": ["batch", 1, MELS, "frames"]})
    session = support.onnxruntime_session(MODEL, args.threads)

    ours, theirs, difference = [], [], 0.0
    for x in support.progress(features, "recognizing"):
        (log_probs,) = model.run(x)  # [frames, 1, classes]
        ours.append(greedy_decode(log_probs[:, 0]))
        if session is not None:
            (reference,) = session.run(None, {"features": x})
            theirs.append(greedy_decode(reference[:, 0]))
            difference = max(difference, float(np.abs(log_probs - reference).max()))

    references = [u["transcript"] for u in listing]
    show_transcripts(listing, ours)
    wer = word_error_rate(references, ours)
    words = sum(len(r.split()) for r in references)
    print(f"\n{len(listing)} utterances, {words} words, frames {min(x.shape[3] for x in features)}"
          f"-{max(x.shape[3] for x in features)}, one compiled artifact")
    print(f"convrnn WER:     {wer:.2f}%")
    print(f"PyTorch WER:     {expected['pytorch_wer']:.2f}% (recorded by train.py)")
    if session is not None:
        print(f"onnxruntime WER: {word_error_rate(references, theirs):.2f}% "
              f"(max |log-prob difference| from convrnn {difference:.1e})")
    check_agreement(listing, ours, theirs, expected, difference)
    time_one_utterance(model, session, features, args)


def show_transcripts(listing: list[dict], hypotheses: list[str]) -> None:
    """The first SHOWN utterances of different lengths, then every misrecognized one."""
    shown = {len(u["transcript"].split()): i for i, u in reversed(list(enumerate(listing)))}
    picks = sorted(shown.values())[:SHOWN]
    picks += [i for i, u in enumerate(listing) if hypotheses[i] != u["transcript"] and i not in picks]
    print(f"{'reference':<42}recognized by convrnn")
    for i in picks:
        mark = "" if hypotheses[i] == listing[i]["transcript"] else "   <- error"
        print(f"{listing[i]['transcript']:<42}{hypotheses[i]}{mark}")


def check_agreement(listing, ours, theirs, expected, difference: float) -> None:
    """convrnn must give PyTorch's transcripts and onnxruntime's numbers."""
    recorded = [expected["transcripts"][u["file"]] for u in listing]
    differing = [u["file"] for u, a, b in zip(listing, ours, recorded) if a != b]
    if differing:
        raise SystemExit(f"MISMATCH: convrnn's transcripts differ from PyTorch's (expected.json) on {differing}")
    if theirs and (theirs != ours or difference > 1e-3):
        raise SystemExit(f"MISMATCH: convrnn differs from onnxruntime: max |log-prob difference| {difference:.1e}")
    print("convrnn agrees with PyTorch's transcripts" + (" and onnxruntime's outputs" if theirs else ""))


def time_one_utterance(model, session, features: list[np.ndarray], args) -> None:
    seconds = [x.shape[3] * HOP / SAMPLE_RATE for x in features]
    x = features[int(np.argmin(np.abs(np.array(seconds) - 2.0)))]  # the one closest to 2 s
    label = f"one {x.shape[3] * HOP / SAMPLE_RATE:.2f} s utterance ({x.shape[3]} frames)"
    print()
    support.print_latency(f"latency, {label} ({support.threads_label(args.threads)})", lambda: model.run(x),
                          session and (lambda: session.run(None, {"features": x})), args.runs)


if __name__ == "__main__":
    main()
