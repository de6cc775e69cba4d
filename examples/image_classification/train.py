"""Train the small digits CNN that run.py compiles, and write what run.py checks against.

    pip install -e '.[train]' && python examples/image_classification/train.py

Data: scikit-learn's digits (1,797 8x8 grey images, 10 classes; it ships inside the package,
so nothing is downloaded). A fixed-seed, stratified 75/25 split; the held-out quarter is
never trained on. Writes, beside this file:
  digits_cnn.onnx  the model (opset 17; input "image" [batch, 1, 8, 8], output "logits" [batch, 10])
  held_out.npz     the held-out images, normalized as the model expects, and their labels
  expected.json    PyTorch's held-out accuracy, the number of held-out images, the seed
Deterministic on one thread: the same seed gives the same weights on the same PyTorch build.
"""
from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

HERE = Path(__file__).resolve().parent
BATCH = 64


def normalize(pixels: np.ndarray) -> np.ndarray:
    """Digits pixels are integers 0..16: scale to [0, 1], shaped N x 1 x 8 x 8, float32."""
    return (pixels.reshape(-1, 1, 8, 8) / 16.0).astype(np.float32)


def block(in_channels: int, out_channels: int) -> list[nn.Module]:
    return [nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels), nn.ReLU()]


def build_model() -> nn.Sequential:
    # 8x8 -> 8x8 -> pool 4x4 -> pool 2x2 -> 10 logits; about 26k parameters.
    return nn.Sequential(*block(1, 16), *block(16, 32), nn.MaxPool2d(2),
                         *block(32, 64), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(64 * 2 * 2, 10))


def train(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, epochs: int, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), weight_decay=1e-4)
    # One-cycle: warm up, then anneal to ~0, so the last epochs settle instead of bouncing.
    steps = epochs * ((len(images) + BATCH - 1) // BATCH)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=steps)
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(len(images), generator=generator)
        total = 0.0
        for start in range(0, len(images), BATCH):
            batch = order[start:start + BATCH]
            loss = nn.functional.cross_entropy(model(images[batch]), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(batch)
        print(f"epoch {epoch + 1:2d}/{epochs}: training loss {total / len(images):.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)  # deterministic, and polite on a shared machine
    torch.manual_seed(args.seed)

    digits = load_digits()
    train_x, test_x, train_y, test_y = train_test_split(
        normalize(digits.data), digits.target.astype(np.int64),
        test_size=0.25, stratify=digits.target, random_state=args.seed)

    model = build_model()
    train(model, torch.from_numpy(train_x), torch.from_numpy(train_y), args.epochs, args.seed)
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(test_x)).numpy()
    predictions = logits.argmax(axis=1)
    correct = int((predictions == test_y).sum())
    accuracy = correct / len(test_y)
    # run.py expects the exact same accuracy from convrnn: a near-tie between the two top
    # logits could flip under different float rounding, so show the smallest margin.
    top2 = np.sort(logits, axis=1)[:, -2:]
    print(f"held-out accuracy {accuracy:.2%} ({correct}/{len(test_y)}); "
          f"smallest top-1/top-2 logit margin {float((top2[:, 1] - top2[:, 0]).min()):.2e}")

    # The legacy (TorchScript) exporter: the dynamo one would also need onnxscript. Its
    # deprecation warning is known, and says nothing about this model.
    warnings.filterwarnings("ignore", "You are using the legacy TorchScript", DeprecationWarning)
    torch.onnx.export(model, (torch.zeros(1, 1, 8, 8),), str(HERE / "digits_cnn.onnx"),
                      input_names=["image"], output_names=["logits"], opset_version=17,
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False)
    np.savez_compressed(HERE / "held_out.npz", images=test_x, labels=test_y)
    expected = {"torch_accuracy": accuracy, "held_out_samples": len(test_y), "seed": args.seed}
    (HERE / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")
    print(f"wrote digits_cnn.onnx, held_out.npz, expected.json in {HERE}")


if __name__ == "__main__":
    main()
