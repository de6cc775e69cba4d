"""A batch row whose sequence_lens entry is 0, with initial states given: onnxruntime returns
zeros for its Y_h (and Y_c), not the initial state, and zeros for its Y rows.

One model per case, with a symbolic batch, runs several batches: mixed lengths in a batch
wide enough for the kernels' register blocks of rows, and a batch of one row of length 0
(a batch of 1 runs its own time loop).
"""
from __future__ import annotations

import numpy as np
import pytest
from onnx import helper

import support

GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
HIDDEN, INPUTS, SEQ = 20, 3, 4  # 20 units: not a multiple of the tile, so padded lanes exist
BATCHES = ([3, 0, 4, 0, 1], [0, 0], [0])


def recurrence(op: str, direction: str, layout: int = 0, **attrs):
    """op(X, W, R, B, sequence_lens, initial_h[, initial_c]) -> every output, batch symbolic."""
    rng = np.random.default_rng(7)
    d = 2 if direction == "bidirectional" else 1
    gates = GATES[op]
    weights = [("W", rng.uniform(-1, 1, (d, gates * HIDDEN, INPUTS)).astype(np.float32)),
               ("R", rng.uniform(-0.3, 0.3, (d, gates * HIDDEN, HIDDEN)).astype(np.float32)),
               ("B", rng.uniform(-0.5, 0.5, (d, 2 * gates * HIDDEN)).astype(np.float32))]
    states = ["initial_h", "initial_c"][:2 if op == "LSTM" else 1]
    outputs = ["Y", "Y_h", "Y_c"][:3 if op == "LSTM" else 2]

    def first(a, b):  # the two leading dims in this layout
        return [a, b] if layout == 0 else [b, a]

    inputs = [support.tensor_info("X", np.float32, first(SEQ, "batch") + [INPUTS]),
              support.tensor_info("sequence_lens", np.int32, ["batch"])]
    inputs += [support.tensor_info(state, np.float32, first(d, "batch") + [HIDDEN]) for state in states]
    node = helper.make_node(op, ["X", "W", "R", "B", "sequence_lens", *states], outputs, hidden_size=HIDDEN,
                            direction=direction, layout=layout, **attrs)
    model = support.make_model([node], inputs, [support.tensor_info(o, np.float32, None) for o in outputs],
                               weights, opset=14)

    def feeds(lengths):
        batch = len(lengths)
        data = np.random.default_rng(batch)
        values = {"X": data.uniform(-1, 1, first(SEQ, batch) + [INPUTS]).astype(np.float32),
                  "sequence_lens": np.array(lengths, np.int32)}
        values.update({state: data.uniform(-1, 1, first(d, batch) + [HIDDEN]).astype(np.float32)
                       for state in states})
        return values

    return model, feeds


def batch_first_oracle(op: str, direction: str, **attrs):
    """onnxruntime has no layout=1: it runs the layout=0 twin on transposed inputs."""
    twin, _ = recurrence(op, direction, 0, **attrs)

    def oracle(model, feeds):
        feeds = {name: (a if name == "sequence_lens" else np.swapaxes(a, 0, 1)) for name, a in feeds.items()}
        results = support.run_onnxruntime(twin, feeds)
        return [r.transpose(2, 0, 1, 3) if r.ndim == 4 else np.swapaxes(r, 0, 1) for r in results]

    return oracle


def check(op: str, direction: str, layout: int = 0, **attrs) -> None:
    model, feeds = recurrence(op, direction, layout, **attrs)
    oracle = batch_first_oracle(op, direction, **attrs) if layout else support.run_onnxruntime
    for lengths in BATCHES:
        values = feeds(lengths)
        outputs = support.assert_matches_onnxruntime(model, values, oracle=oracle)
        states = [np.swapaxes(s, 0, 1) if layout else s for s in outputs[1:]]  # [directions, batch, hidden]
        for b in np.flatnonzero(np.array(lengths) == 0):
            for state in states:  # what was wrong before: the initial state came back
                assert not state[:, b].any(), f"{op} {direction}: row {b} of length 0 has a nonzero final state"


@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("op", sorted(GATES))
def test_length_zero_ends_with_zero_states(op, direction):
    check(op, direction)


@pytest.mark.parametrize("op", sorted(GATES))
def test_length_zero_batch_first(op):
    check(op, "bidirectional", layout=1)


def test_length_zero_gru_linear_before_reset():
    check("GRU", "bidirectional", linear_before_reset=1)
