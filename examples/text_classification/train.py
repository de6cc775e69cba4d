r"""Train the fortune language classifier and write everything run.py needs.

    apt-get install fortunes fortunes-min fortunes-de fortunes-es fortunes-it fortunes-br \
        fortunes-pl fortunes-cs
    pip install -e '.[train]'
    nice -n 10 python examples/text_classification/train.py

The data: the fortune cookies that Debian 12's fortune packages install under
/usr/share/games/fortunes (entries separated by lines holding only "%"), labelled by the
language of the package that ships them (LANGUAGES below; the files are the ones `dpkg -L`
lists for each package, less offensive ones (off/ folders), strfile indexes (.dat), links
(.u8 and the like), ascii-art, and fortunes-cs's one Slovak file, sk/klasik-sk). Entries
shorter than MIN_CHARS characters once normalized, and texts found under two languages, are
dropped. Labels are the package's language, so a few entries are noisy (an English quote in a
Polish IRC log, say).

With seed SEED, each language's entries are shuffled, PER_LANGUAGE of them kept (the smallest
package, fortunes-br, has about 2,500), and the last HELD_OUT of those held out: training never
sees them. The first COMMITTED of each language's held-out texts are written to held_out.json
(raw text, language), in a fixed order; expected.json records PyTorch's accuracy and predictions
on exactly those, batched and padded as tokens.py says (run.py does the same).

The model, character-level: Embedding -> Conv1d(k=5) + ReLU -> GRU -> Linear on the last
step, exported by PyTorch's TorchScript exporter (opset 17) with a symbolic batch and sequence
length as fortune_language_gru.onnx, input "tokens" int64 [batch, seq], output "logits"
[batch, languages]. One thread, as this also runs beside benchmarks on small machines.
"""
from __future__ import annotations

import collections
import json
import os
import random
import re
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import tokens  # noqa: E402  (beside this file)

# language code -> (name, Debian packages whose fortunes are in it)
LANGUAGES = {
    "cs": ("Czech", ["fortunes-cs"]),
    "de": ("German", ["fortunes-de"]),
    "en": ("English", ["fortunes", "fortunes-min"]),
    "es": ("Spanish", ["fortunes-es"]),
    "it": ("Italian", ["fortunes-it"]),
    "pl": ("Polish", ["fortunes-pl"]),
    "pt": ("Portuguese", ["fortunes-br"]),
}
EXCLUDED = {"ascii-art", "klasik-sk"}  # pictures, not language; the Slovak file of fortunes-cs
FORTUNES = "/usr/share/games/fortunes/"
SEED = 0
MIN_CHARS = 20
PER_LANGUAGE = 2400
HELD_OUT = 300
COMMITTED = 60
EPOCHS = 8
MODEL = HERE / "fortune_language_gru.onnx"


def fortune_files(package: str) -> list[str]:
    listed = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, check=True).stdout.split("\n")
    return sorted(path for path in listed
                  if path.startswith(FORTUNES) and os.path.isfile(path) and not os.path.islink(path)
                  and "/off/" not in path and not path.endswith(".dat")
                  and os.path.basename(path) not in EXCLUDED)


def read_fortunes(path: str) -> list[str]:
    text = Path(path).read_text(encoding="utf-8")
    return [entry.strip() for entry in re.split(r"^%$", text, flags=re.MULTILINE) if entry.strip()]


def load_data() -> dict[str, list[str]]:
    """language -> its entries (raw text), duplicates and texts of several languages dropped."""
    by_text: dict[str, set[str]] = collections.defaultdict(set)
    raw: dict[str, str] = {}
    for language, (_, packages) in LANGUAGES.items():
        for package in packages:
            for path in fortune_files(package):
                for entry in read_fortunes(path):
                    key = tokens.normalize(entry)
                    if len(key) >= MIN_CHARS:
                        by_text[key].add(language)
                        raw.setdefault(key, entry)
    data: dict[str, list[str]] = {language: [] for language in LANGUAGES}
    for key, languages in by_text.items():
        if len(languages) == 1:
            data[languages.pop()].append(raw[key])
    return data


class Classifier(nn.Module):
    def __init__(self, vocab: int, classes: int, embed: int = 32, channels: int = 64, hidden: int = 64):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed, padding_idx=tokens.PAD)
        self.conv = nn.Conv1d(embed, channels, 5, padding=2)  # length-preserving: seq stays symbolic
        self.gru = nn.GRU(channels, hidden, batch_first=True)
        self.out = nn.Linear(hidden, classes)

    def forward(self, ids):  # [batch, seq] int64
        x = torch.relu(self.conv(self.embed(ids).transpose(1, 2)))  # [batch, channels, seq]
        y, _ = self.gru(x.transpose(1, 2))  # [batch, seq, hidden]
        return self.out(y[:, -1])  # left padding: the last step follows the text's last character


def predict(model: nn.Module, encoded: list[list[int]]) -> np.ndarray:
    """Predicted class per text, batched exactly as run.py batches them."""
    predictions = np.zeros(len(encoded), dtype=np.int64)
    with torch.no_grad():
        for indices, batch in tokens.length_batches(encoded):
            predictions[indices] = model(torch.from_numpy(batch)).argmax(1).numpy()
    return predictions


def train(model: nn.Module, encoded: list[list[int]], labels: np.ndarray) -> None:
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    steps = EPOCHS * ((len(encoded) + 63) // 64)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=steps)
    generator = random.Random(SEED)
    for epoch in range(EPOCHS):
        model.train()
        order = list(range(len(encoded)))
        generator.shuffle(order)  # random batches: the model sees every amount of left padding
        start, total = time.perf_counter(), 0.0
        for first in range(0, len(order), 64):
            batch = order[first:first + 64]
            ids = torch.from_numpy(tokens.left_pad([encoded[i] for i in batch]))
            loss = nn.functional.cross_entropy(model(ids), torch.from_numpy(labels[batch]))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            total += loss.item() * len(batch)
        print(f"epoch {epoch + 1}: loss {total / len(order):.3f} ({time.perf_counter() - start:.0f} s)", flush=True)


def export(model: nn.Module, path: Path) -> None:
    example = torch.from_numpy(tokens.left_pad([[5, 6, 7], [8, 9, 10, 11, 12]]))
    with torch.no_grad(), warnings.catch_warnings():
        # The legacy exporter is the one that keeps seq symbolic (see tests/data/make_recurrent_models.py);
        # its GRU batch-size warning does not apply: h0 is built from the input's dynamic batch size.
        warnings.filterwarnings("ignore", "You are using the legacy TorchScript", DeprecationWarning)
        warnings.filterwarnings("ignore", "Exporting a model to ONNX with a batch_size other than 1", UserWarning)
        torch.onnx.export(model, (example,), str(path), input_names=["tokens"], output_names=["logits"],
                          opset_version=17, dynamo=False,
                          dynamic_axes={"tokens": {0: "batch", 1: "seq"}, "logits": {0: "batch"}})
    proto = onnx.load(str(path))
    proto.ir_version = 10  # older onnxruntime builds refuse newer IR versions
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, str(path))


def package_versions() -> dict[str, str]:
    packages = [package for _, names in LANGUAGES.values() for package in names]
    listed = subprocess.run(["dpkg-query", "-W", *packages], capture_output=True, text=True, check=True).stdout
    return dict(line.split("\t") for line in listed.strip().split("\n"))


def split(data: dict[str, list[str]]) -> tuple[list[str], list[int], list[list[str]]]:
    """(training texts, their labels, each language's held-out texts), PER_LANGUAGE per language."""
    train_texts, train_labels, held_out = [], [], []
    for label, code in enumerate(LANGUAGES):
        entries = sorted(data[code])
        random.Random(f"{SEED}-{code}").shuffle(entries)
        if len(entries) < PER_LANGUAGE:
            raise SystemExit(f"{code}: only {len(entries)} entries (is {LANGUAGES[code][1]} installed?)")
        train_texts += entries[:PER_LANGUAGE - HELD_OUT]
        train_labels += [label] * (PER_LANGUAGE - HELD_OUT)
        held_out.append(entries[PER_LANGUAGE - HELD_OUT:PER_LANGUAGE])
    return train_texts, train_labels, held_out


def vocabulary(texts: list[str]) -> str:
    """Every character seen at least 3 times, most frequent first (rarer ones become UNKNOWN)."""
    counts = collections.Counter(char for text in texts for char in tokens.normalize(text))
    return "".join(sorted((c for c, n in counts.items() if n >= 3), key=lambda c: (-counts[c], c)))


def main() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    data = load_data()
    codes = list(LANGUAGES)
    train_texts, train_labels, held_out = split(data)
    print(f"{len(train_texts)} training texts, {HELD_OUT} held out per language; "
          f"entries per language: {', '.join(f'{c} {len(data[c])}' for c in codes)}")

    chars = vocabulary(train_texts)
    model = Classifier(len(chars) + 2, len(codes))
    train(model, tokens.encode(train_texts, chars), np.array(train_labels))
    model.eval()

    all_held, all_labels = sum(held_out, []), np.repeat(range(len(codes)), HELD_OUT)
    all_accuracy = float((predict(model, tokens.encode(all_held, chars)) == all_labels).mean())
    print(f"held-out accuracy ({len(all_held)} texts): {all_accuracy:.2%}")

    committed = [(text, label) for label, texts in enumerate(held_out) for text in texts[:COMMITTED]]
    predictions = predict(model, tokens.encode([text for text, _ in committed], chars))
    # The same division run.py makes, so equal predictions give an identical float.
    accuracy = int((predictions == [label for _, label in committed]).sum()) / len(committed)
    print(f"accuracy on the {len(committed)} committed texts: {accuracy:.2%}")

    export(model, MODEL)
    (HERE / "vocab.json").write_text(json.dumps({"pad": tokens.PAD, "unknown": tokens.UNKNOWN, "chars": chars},
                                                ensure_ascii=False, indent=1) + "\n")
    (HERE / "held_out.json").write_text(json.dumps(
        [{"text": text, "language": codes[label]} for text, label in committed], ensure_ascii=False, indent=1) + "\n")
    (HERE / "expected.json").write_text(json.dumps({
        "classes": codes,
        "class_names": [LANGUAGES[code][0] for code in codes],
        "held_out_samples": len(committed),
        "torch_accuracy": accuracy,
        "torch_predictions": " ".join(codes[p] for p in predictions),  # one per committed text, in order
        "torch_accuracy_all_held_out": {"samples": len(all_held), "accuracy": all_accuracy},
        "packages": package_versions(),
        "torch_version": torch.__version__,
    }, indent=1) + "\n")
    print(f"wrote {MODEL.name} ({MODEL.stat().st_size // 1024} KiB), vocab.json ({len(chars)} characters), "
          f"held_out.json, expected.json")


if __name__ == "__main__":
    main()
