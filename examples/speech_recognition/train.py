"""Trains the digit recognizer (a CRNN with CTC) on synthesize.py's features and exports it.

    nice -n 10 python examples/speech_recognition/train.py [--epochs 12]

Needs PyTorch. Writes digits_crnn.onnx (input "features" [batch, 1, 40, frames], output
"log_probs" [frames, batch, 12]; batch and frames symbolic) and expected.json: PyTorch's
transcripts and WER on the committed utterances, computed from the WAV files through
features.py exactly as run.py does, and its WER on all held-out utterances.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from features import MELS, log_mel, read_wav
from text import CLASSES, encode, greedy_decode, word_error_rate

HERE = Path(__file__).resolve().parent
BUILD = HERE / "build"
MODEL = HERE / "digits_crnn.onnx"
BATCH = 32


class CRNN(nn.Module):
    """Two conv blocks that pool only over frequency (40 -> 10 mel bands), so every 10 ms frame
    keeps its own output step and the time axis can stay symbolic in convrnn; then a 2-layer
    bidirectional GRU over the frames and a per-frame linear layer + log-softmax."""

    def __init__(self, channels=(8, 16), hidden: int = 96):
        super().__init__()
        c1, c2 = channels
        self.convs = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1), nn.BatchNorm2d(c1), nn.ReLU(), nn.MaxPool2d((2, 1)),
            nn.Conv2d(c1, c2, 3, padding=1), nn.BatchNorm2d(c2), nn.ReLU(), nn.MaxPool2d((2, 1)))
        self.gru = nn.GRU(c2 * MELS // 4, hidden, num_layers=2, bidirectional=True, dropout=0.1)
        self.out = nn.Linear(2 * hidden, CLASSES)

    def forward(self, features):
        x = self.convs(features)  # [batch, c2, MELS/4, T]
        y, _ = self.gru(x.permute(3, 0, 1, 2).flatten(2))  # [T, batch, c2 * MELS/4] in
        return torch.log_softmax(self.out(y), dim=-1)  # [T, batch, CLASSES]


def load_split(path: Path):
    """[(features [MELS, frames], transcript)] from a synthesize.py .npz."""
    data = np.load(path)
    pieces = np.split(data["features"], np.cumsum(data["frames"])[:-1], axis=1)
    return list(zip(pieces, (str(t) for t in data["transcripts"])))


def batches(split, size: int, rng: np.random.Generator):
    """Batches of similar lengths (little padding), in random order."""
    order = sorted(range(len(split)), key=lambda i: split[i][0].shape[1] + rng.random())
    groups = [order[start:start + size] for start in range(0, len(order), size)]
    for index in rng.permutation(len(groups)):
        yield [split[i] for i in groups[index]]


def collate(batch):
    """Features padded to the longest in the batch by repeating each utterance's last frame:
    more of the silence every utterance ends with, so the backward GRU starts on what it would
    see anyway (packed sequences would avoid padding but train 3x slower on a CPU)."""
    frames = torch.tensor([f.shape[1] for f, _ in batch])
    longest = int(frames.max())
    features = np.stack([np.pad(f, ((0, 0), (0, longest - f.shape[1])), mode="edge") for f, _ in batch])
    labels = [torch.tensor(encode(t)) for _, t in batch]
    return torch.from_numpy(features)[:, None], frames, torch.cat(labels), torch.tensor([len(l) for l in labels])


def transcribe(model: CRNN, features: np.ndarray) -> str:
    """One utterance, alone (batch 1, no padding): what run.py does with the ONNX model."""
    with torch.no_grad():
        return greedy_decode(model(torch.from_numpy(features)[None, None])[:, 0].numpy())


def evaluate(model: CRNN, split) -> float:
    model.eval()
    hypotheses = [transcribe(model, f) for f, _ in split]
    model.train()
    return word_error_rate([t for _, t in split], hypotheses)


def train(model: CRNN, epochs: int, rng: np.random.Generator) -> None:
    train_split, heldout = load_split(BUILD / "train.npz"), load_split(BUILD / "heldout.npz")
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    steps = epochs * -(-len(train_split) // BATCH)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=steps, pct_start=0.15)
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        losses = []
        for batch in batches(train_split, BATCH, rng):
            features, frames, labels, label_lengths = collate(batch)
            loss = ctc(model(features), labels, frames, label_lengths)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
        report = f"epoch {epoch:2d}: CTC loss {np.mean(losses):.3f}"
        if epoch % 5 == 0 or epoch == epochs:
            report += f", held-out WER {evaluate(model, heldout):.2f}% ({len(heldout)} utterances)"
        print(f"{report}  [{(time.perf_counter() - start) / 60:.1f} min]", flush=True)


def export(model: CRNN) -> None:
    model.eval()
    example = torch.randn(1, 1, MELS, 100)
    torch.onnx.export(model, (example,), str(MODEL), input_names=["features"], output_names=["log_probs"],
                      opset_version=17, dynamo=False,
                      dynamic_axes={"features": {0: "batch", 3: "frames"}, "log_probs": {0: "frames", 1: "batch"}})
    proto = onnx.load(str(MODEL))
    proto.ir_version = 10  # older onnxruntime builds refuse newer IR versions
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, str(MODEL))
    print(f"exported {MODEL.name} ({MODEL.stat().st_size / 1e6:.2f} MB)")


def record_expected(model: CRNN) -> None:
    """PyTorch's transcripts of the committed WAV files, through the same numpy features, and
    its WER on them and on all of synthesize.py's held-out utterances."""
    model.eval()
    listing = json.loads((HERE / "utterances.json").read_text())
    hypotheses = {u["file"]: transcribe(model, log_mel(read_wav(HERE / "utterances" / u["file"]))) for u in listing}
    wer = word_error_rate([u["transcript"] for u in listing], [hypotheses[u["file"]] for u in listing])
    heldout = load_split(BUILD / "heldout.npz")
    expected = dict(pytorch_wer=round(wer, 2), utterances=len(listing),
                    pytorch_wer_all_heldout=round(evaluate(model, heldout), 2), all_heldout=len(heldout),
                    transcripts=hypotheses)
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    print(f"PyTorch WER on the {len(listing)} committed utterances: {wer:.2f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    args = parser.parse_args()
    torch.set_num_threads(1)  # a light footprint: the machine may be busy with benchmarks
    torch.manual_seed(0)
    model = CRNN()
    train(model, args.epochs, np.random.default_rng(0))
    torch.save(model.state_dict(), BUILD / "digits_crnn.pt")
    export(model)
    record_expected(model)


if __name__ == "__main__":
    main()
