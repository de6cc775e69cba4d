"""The words the model spells (the eleven TIDIGITS words: zero to nine and "oh"), greedy CTC
decoding and word error rate; numpy only, shared by train.py and run.py."""
from __future__ import annotations

import numpy as np

WORDS = ["zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
BLANK = 0  # CTC's blank is class 0; word i is class i + 1
CLASSES = len(WORDS) + 1


def encode(transcript: str) -> list[int]:
    return [WORDS.index(word) + 1 for word in transcript.split()]


def greedy_decode(log_probs: np.ndarray) -> str:
    """[frames, CLASSES] -> transcript: the best class per frame, repeats merged, blanks dropped."""
    best = np.asarray(log_probs).argmax(axis=-1)
    keep = (best != BLANK) & np.append(True, best[1:] != best[:-1])
    return " ".join(WORDS[index - 1] for index in best[keep])


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    """Substitutions + deletions + insertions (Levenshtein over words)."""
    row = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        previous, row[0] = row[0], i
        for j, hyp in enumerate(hypothesis, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ref != hyp))
    return row[-1]


def word_error_rate(references: list[str], hypotheses: list[str]) -> float:
    """Total word edits over total reference words, in percent."""
    errors = sum(edit_distance(r.split(), h.split()) for r, h in zip(references, hypotheses))
    return 100.0 * errors / sum(len(r.split()) for r in references)
