"""The recurrent kernels with two TVM threads, both ways of sharing a step's tasks
(schedules/cpu/recurrent.py): every thread walks the time loop, takes its share of each
step's tasks and waits at a barrier ("tiles"), or each thread runs a direction alone
("directions"); or not sharing them ("serial": the calling thread runs every task); or the
defaults (a small layer's batch of 1 alone, other batches shared, in one kernel). The rest of
the suite runs one thread per process, so these cases run in a subprocess with two."""
import importlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from onnx import helper

import support

GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
# (op, hidden, direction, extra attrs, with sequence_lens and initial state)
CASES = [("LSTM", 40, "bidirectional", {}, True), ("LSTM", 33, "forward", {"input_forget": 1}, False),
         ("GRU", 40, "bidirectional", {"linear_before_reset": 0}, True),
         ("GRU", 24, "reverse", {"linear_before_reset": 1}, False), ("RNN", 50, "bidirectional", {}, True),
         ("GRU", 25, "forward", {"linear_before_reset": 0}, True)]


def recurrent_model(op, hidden, direction, attrs, with_state, inputs=6):
    rng = np.random.default_rng(hidden)
    d, g = (2 if direction == "bidirectional" else 1), GATES[op]
    inits = [("W", rng.uniform(-0.5, 0.5, (d, g * hidden, inputs)).astype(np.float32)),
             ("R", rng.uniform(-0.3, 0.3, (d, g * hidden, hidden)).astype(np.float32)),
             ("B", rng.uniform(-0.3, 0.3, (d, 2 * g * hidden)).astype(np.float32))]
    names = ["X", "W", "R", "B"]
    graph_inputs = [support.tensor_info("X", np.float32, ["seq", "batch", inputs])]
    if with_state:
        names += ["lens", "h0"]
        graph_inputs += [support.tensor_info("lens", np.int32, ["batch"]),
                         support.tensor_info("h0", np.float32, [d, "batch", hidden])]
    outputs = ["Y", "Y_h"] + (["Y_c"] if op == "LSTM" else [])
    node = helper.make_node(op, names, outputs, hidden_size=hidden, direction=direction, **attrs)
    return support.make_model([node], graph_inputs, [support.tensor_info(n, np.float32, None) for n in outputs],
                              inits, opset=14)


def check_all_cases(split: str):
    """Run in the subprocess: every case at a few sequence lengths and batch sizes."""
    converter = importlib.import_module("convrnn.compiler.passes.pack_recurrent_weights")  # (the package exports the pass under that name)
    from convrnn.schedules.cpu import recurrent_knobs

    overrides = {"defaults": {}, "serial": {"serial": 1}}.get(split, {"split": split})
    converter.knobs = lambda *args: recurrent_knobs.knobs(*args, overrides)
    for op, hidden, direction, attrs, with_state in CASES:
        model = recurrent_model(op, hidden, direction, attrs, with_state)
        d = 2 if direction == "bidirectional" else 1
        for seq, batch in ((1, 1), (12, 1), (9, 5), (17, 2)):
            feeds = {"X": support.random_input((seq, batch, 6), seed=seq + batch, low=-1, high=1)}
            if with_state:
                feeds["lens"] = np.random.default_rng(seq).integers(1, seq + 1, batch).astype(np.int32)
                feeds["h0"] = support.random_input((d, batch, hidden), seed=batch, low=-1, high=1)
            support.assert_matches_onnxruntime(model, feeds)


@pytest.mark.parametrize("split", ["tiles", "directions", "serial", "defaults"])
def test_recurrent_kernels_with_two_threads(split):
    tests = Path(__file__).resolve().parent.parent
    env = {**os.environ, "TVM_NUM_THREADS": "2",
           "PYTHONPATH": os.pathsep.join([str(tests), str(tests / "ops"), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-c", f"import test_recurrent_threads as t; t.check_all_cases({split!r})"],
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
