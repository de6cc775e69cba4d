"""Property tests: random LSTM / GRU / RNN configurations against an oracle.

Oracles: onnxruntime implements every feature here but layout=1, so a layout=1 model is
compared with onnxruntime running its layout=0 twin on transposed inputs (outputs transposed
back); onnx.reference implements layout=1 itself (but ignores direction, activations, clip
and sequence_lens), so the last test checks layout=1 directly against it where it applies.
Each example compiles a kernel (about a second): the example counts keep a test near a minute.
Tolerances are the project's fp32 defaults: the fast sigmoid/tanh are a few ulps from libm.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import helper

import support

GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
ACTIVATION_SLOTS = {"LSTM": 3, "GRU": 2, "RNN": 1}
# name -> (takes alpha, takes beta)
ACTIVATIONS = {"Sigmoid": (0, 0), "Tanh": (0, 0), "Relu": (0, 0), "HardSigmoid": (1, 1), "Affine": (1, 1),
               "LeakyRelu": (1, 0), "ThresholdedRelu": (1, 0), "ScaledTanh": (1, 1), "Elu": (1, 0),
               "Softsign": (0, 0), "Softplus": (0, 0)}
SETTINGS = settings(max_examples=12, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

hidden_sizes = st.one_of(st.integers(1, 20), st.integers(1, 20), st.integers(1, 20), st.sampled_from([64, 200, 512]))


@st.composite
def configs(draw, op: str):
    direction = draw(st.sampled_from(["forward", "reverse", "bidirectional"]))
    directions = 2 if direction == "bidirectional" else 1
    config = {
        "op": op, "direction": direction, "directions": directions, "layout": draw(st.integers(0, 1)),
        "hidden": draw(hidden_sizes), "inputs": draw(st.integers(1, 6)), "seq": draw(st.integers(1, 5)),
        "batch": draw(st.integers(1, 3)), "bias": draw(st.booleans()), "initial_h": draw(st.booleans()),
        "clip": draw(st.one_of(st.none(), st.floats(0.5, 4.0))), "seed": draw(st.integers(0, 2**16)),
    }
    config["sequence_lens"] = draw(st.one_of(st.none(), st.lists(
        st.integers(0, config["seq"]), min_size=config["batch"], max_size=config["batch"])))
    if draw(st.booleans()):
        config["activations"] = draw(st.lists(st.sampled_from(sorted(ACTIVATIONS)),
                                              min_size=ACTIVATION_SLOTS[op] * directions,
                                              max_size=ACTIVATION_SLOTS[op] * directions))
    if op == "LSTM":
        config.update(initial_c=draw(st.booleans()), peepholes=draw(st.booleans()),
                      input_forget=draw(st.integers(0, 1)))
    if op == "GRU":
        config["linear_before_reset"] = draw(st.integers(0, 1))
    outputs = ["Y", "Y_h", "Y_c"][:3 if op == "LSTM" else 2]
    present = draw(st.lists(st.booleans(), min_size=len(outputs), max_size=len(outputs)).filter(any))
    config["outputs"] = [name if keep else "" for name, keep in zip(outputs, present)]
    return config


def build(config: dict, layout: int):
    """The model for `config` in the given layout, and its feeds (inputs in that layout)."""
    op, d, h, i = config["op"], config["directions"], config["hidden"], config["inputs"]
    gates = GATES[op]
    rng = np.random.default_rng(config["seed"])
    scale = 1.0 / np.sqrt(h)
    initializers = [("W", rng.uniform(-1, 1, (d, gates * h, i)).astype(np.float32)),
                    ("R", rng.uniform(-scale, scale, (d, gates * h, h)).astype(np.float32))]
    names = ["X", "W", "R", "", "", "", "", ""]
    if config["bias"]:
        initializers.append(("B", rng.uniform(-0.5, 0.5, (d, 2 * gates * h)).astype(np.float32)))
        names[3] = "B"
    if config.get("peepholes"):
        initializers.append(("P", rng.uniform(-0.5, 0.5, (d, 3 * h)).astype(np.float32)))
        names[7] = "P"
    seq, batch = config["seq"], config["batch"]

    def first(a, b):  # the two leading dims in this layout
        return [a, b] if layout == 0 else [b, a]

    feeds = {"X": rng.uniform(-1, 1, first(seq, batch) + [i]).astype(np.float32)}
    inputs = [support.tensor_info("X", np.float32, first("seq", "batch") + [i])]
    if config["sequence_lens"] is not None:
        names[4] = "sequence_lens"
        feeds["sequence_lens"] = np.array(config["sequence_lens"], np.int32)
        inputs.append(support.tensor_info("sequence_lens", np.int32, ["batch"]))
    for index, state in [(5, "initial_h"), (6, "initial_c")][:2 if op == "LSTM" else 1]:
        if config.get(state):
            names[index] = state
            feeds[state] = rng.uniform(-1, 1, first(d, batch) + [h]).astype(np.float32)
            inputs.append(support.tensor_info(state, np.float32, first(d, "batch") + [h]))
    attrs = {"hidden_size": h, "direction": config["direction"], "layout": layout}
    for key in ("clip", "input_forget", "linear_before_reset"):
        if config.get(key) is not None:
            attrs[key] = config[key]
    if "activations" in config:
        attrs["activations"] = config["activations"]
        alphas = [float(rng.uniform(0.2, 1.5)) for a in config["activations"] if ACTIVATIONS[a][0]]
        betas = [float(rng.uniform(-0.5, 0.5)) for a in config["activations"] if ACTIVATIONS[a][1]]
        if alphas:
            attrs["activation_alpha"] = alphas
        if betas:
            attrs["activation_beta"] = betas
    while names[-1] == "":
        names.pop()
    outputs = list(config["outputs"])
    while outputs[-1] == "":
        outputs.pop()
    node = helper.make_node(config["op"], names, outputs, **attrs)
    model = support.make_model([node], inputs, [support.tensor_info(o, np.float32, None) for o in outputs if o],
                               initializers, opset=14)
    return model, feeds


def onnxruntime_twin(config: dict):
    """An oracle for a layout=1 model: onnxruntime on the layout=0 twin, transposing in and out."""
    twin, _ = build(config, 0)

    def oracle(model, feeds):
        feeds = {name: (np.swapaxes(a, 0, 1) if name != "sequence_lens" else a) for name, a in feeds.items()}
        results = support.run_onnxruntime(twin, feeds)
        return [r.transpose(2, 0, 1, 3) if r.ndim == 4 else np.swapaxes(r, 0, 1) for r in results]

    return oracle


def check(config: dict) -> None:
    model, feeds = build(config, config["layout"])
    oracle = support.run_onnxruntime if config["layout"] == 0 else onnxruntime_twin(config)
    support.assert_matches_onnxruntime(model, feeds, oracle=oracle)


@pytest.mark.parametrize("op", sorted(GATES))
def test_matches_onnxruntime(op):
    @SETTINGS
    @given(configs(op))
    def run(config):
        check(config)

    run()


@SETTINGS
@given(op=st.sampled_from(sorted(GATES)), hidden=hidden_sizes, seq=st.integers(1, 5), batch=st.integers(1, 3),
       seed=st.integers(0, 2**16), initial=st.booleans(), linear_before_reset=st.integers(0, 1))
def test_layout1_matches_onnx_reference(op, hidden, seq, batch, seed, initial, linear_before_reset):
    # onnx.reference runs the forward direction with the default activations, ignoring
    # sequence_lens and clip: the configurations drawn here stay inside that.
    config = {"op": op, "direction": "forward", "directions": 1, "hidden": hidden, "inputs": 3, "seq": seq,
              "batch": batch, "bias": True, "initial_h": initial, "initial_c": initial, "peepholes": op == "LSTM",
              "clip": None, "sequence_lens": None, "seed": seed,
              "linear_before_reset": linear_before_reset if op == "GRU" else None,
              "outputs": ["Y", "Y_h", "Y_c"][:3 if op == "LSTM" else 2]}
    model, feeds = build(config, 1)
    support.assert_matches_onnxruntime(model, feeds, oracle=support.run_reference)
