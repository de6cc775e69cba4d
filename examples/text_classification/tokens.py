"""Text to token ids, and the padding policy: shared by train.py and run.py, so that the
committed accuracy and the one run.py measures come from exactly the same inputs.
Pure Python and numpy.

A token is one character: 0 pads, 1 stands for a character missing from the vocabulary, and
vocab.json's "chars" string gives every other id (its i-th character is id i + 2).
A text is normalized (Unicode NFC, every run of whitespace, line breaks included, becomes one
space) and cut to its first MAX_CHARS characters. Texts are batched by length and each batch is
padded on the LEFT to its longest text, so that the GRU's last step, the one the classifier
reads, comes right after the text's last character (train.py trains on left-padded batches too).
"""
from __future__ import annotations

import unicodedata
from typing import Iterator, Sequence

import numpy as np

PAD, UNKNOWN = 0, 1
MAX_CHARS = 128  # a fortune's first 128 characters tell its language; this bounds the GRU's time loop
BATCH = 32  # run.py and train.py's recorded accuracy batch the held-out texts alike


def normalize(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())[:MAX_CHARS]


def encode(texts: Sequence[str], chars: str) -> list[list[int]]:
    ids = {char: index + 2 for index, char in enumerate(chars)}
    return [[ids.get(char, UNKNOWN) for char in normalize(text)] for text in texts]


def left_pad(sequences: Sequence[Sequence[int]]) -> np.ndarray:
    """[batch, longest] int64, each sequence right-aligned after PAD ids."""
    padded = np.full((len(sequences), max(len(s) for s in sequences)), PAD, dtype=np.int64)
    for row, sequence in zip(padded, sequences):
        row[len(row) - len(sequence):] = sequence
    return padded


def length_batches(sequences: Sequence[Sequence[int]], size: int = BATCH) -> Iterator[tuple[list[int], np.ndarray]]:
    """(indices, left-padded tokens) for batches of `size` sequences of similar lengths (sorted,
    stably, by length), so that little padding is added; each batch has its own length."""
    order = sorted(range(len(sequences)), key=lambda index: len(sequences[index]))
    for start in range(0, len(order), size):
        indices = order[start:start + size]
        yield indices, left_pad([sequences[index] for index in indices])
