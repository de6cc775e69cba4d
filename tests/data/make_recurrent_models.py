r"""Regenerates the committed recurrent test models in tests/data/recurrent/ (needs PyTorch; the
tests themselves never import it).

    python tests/data/make_recurrent_models.py [--keras]

Every model is exported by PyTorch's TorchScript exporter (`dynamo=False`, opset 17) with
symbolic batch and sequence axes, so the files hold what that exporter emits around a
recurrence: LSTM/GRU/RNN nodes (one per layer; a bidirectional layer is one node with
direction="bidirectional"), the Shape/Gather/Unsqueeze/Concat/ConstantOfShape chains that build
the zero initial states from the input's dynamic batch size, the Squeeze of the direction axis
and the Transpose/Reshape that join a bidirectional layer's two directions for the next layer.
The dynamo exporter (`dynamo=True`, needs onnxscript; torch 2.13) was tried too: it emits the
standard LSTM/GRU nodes and builds the zero states with Shape/Concat/Expand, but it fixes the
sequence length at the example's in the outputs' shapes (a Reshape to a constant T), unrolls
nn.RNN into per-step MatMuls (SplitToSequence/SequenceAt) and fails on the CRNN. So the
TorchScript exporter makes every model, and, when onnxscript is importable, the dynamo exporter
adds `<name>_dynamo.onnx` for the LSTM/GRU models in DYNAMO_MODELS with a symbolic batch and
the sequence length fixed (T=5, or 7 tokens for the tagger): they cover the Expand chains.

Weights are random but fixed (seeded). Hidden sizes are small so each file stays far below
1 MB; benchmarks/recurrent.py builds the full-size models from the same definitions.

`--keras` also writes keras_lstm.onnx, a Keras `Sequential([LSTM, Dense])` converted by tf2onnx
1.17 (tensorflow-cpu 2.21, Keras 3); it needs tensorflow-cpu and tf2onnx, which neither the
package nor the tests depend on. The committed file was made that way, in a separate venv
(`pip install tf2onnx tensorflow-cpu`) running only `keras_lstm_tf2onnx`, as torch was not in it:

    python -c "import sys; sys.path.insert(0, 'tests/data'); import make_recurrent_models as m; \
               m.keras_lstm_tf2onnx(m.OUT / 'keras_lstm.onnx')"
"""
from __future__ import annotations

import argparse
from pathlib import Path

import onnx

HERE = Path(__file__).resolve().parent
OUT = HERE / "recurrent"
IR_VERSION = 10  # older onnxruntime builds refuse newer IR versions
OPSET = 17


def _torch():
    import torch
    from torch import nn

    return torch, nn


# --- the models -------------------------------------------------------------------------------
# Each builder returns (module, example inputs, input names, output names, dynamic axes).
# Sequence-major recurrent inputs are [seq, batch, features]; batch_first ones [batch, seq, features].

def _recurrent(kind: str, inputs: int, hidden: int, layers: int = 1, bidirectional: bool = False,
               batch_first: bool = False, nonlinearity: str = "tanh"):
    torch, nn = _torch()
    options = dict(num_layers=layers, bidirectional=bidirectional, batch_first=batch_first)
    if kind == "RNN":
        options["nonlinearity"] = nonlinearity
    layer = getattr(nn, kind)(inputs, hidden, **options)

    class Wrapped(nn.Module):
        """Returns every output of the layer (for an LSTM the state is a pair)."""

        def __init__(self):
            super().__init__()
            self.layer = layer

        def forward(self, x):
            y, state = self.layer(x)
            return (y, *state) if isinstance(state, tuple) else (y, state)

    batch_axis, seq_axis = (0, 1) if batch_first else (1, 0)
    shape = [0, 0, inputs]
    shape[batch_axis], shape[seq_axis] = 2, 5
    outputs = ["y", "h_n", "c_n"] if kind == "LSTM" else ["y", "h_n"]
    axes = {"x": {batch_axis: "batch", seq_axis: "seq"}, "y": {batch_axis: "batch", seq_axis: "seq"}}
    axes.update({name: {1: "batch"} for name in outputs[1:]})
    return Wrapped(), (torch.randn(*shape),), ["x"], outputs, axes


def lstm_tagger(vocab: int = 50, embed: int = 16, hidden: int = 24, tags: int = 9):
    """Sequence tagger: Embedding -> 2-layer bidirectional LSTM (batch_first) -> Linear per token."""
    torch, nn = _torch()

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, embed)
            self.lstm = nn.LSTM(embed, hidden, num_layers=2, bidirectional=True, batch_first=True)
            self.out = nn.Linear(2 * hidden, tags)

        def forward(self, tokens):  # [batch, seq] int64
            y, _ = self.lstm(self.embed(tokens))
            return self.out(y)  # [batch, seq, tags]

    example = torch.randint(0, vocab, (2, 7), dtype=torch.int64)
    return Tagger(), (example,), ["tokens"], ["logits"], {"tokens": {0: "batch", 1: "seq"},
                                                          "logits": {0: "batch", 1: "seq"}}


def gru_classifier(vocab: int = 100, embed: int = 16, channels: int = 24, hidden: int = 32, classes: int = 4):
    """Text classifier: Embedding -> Conv1d + ReLU -> GRU (batch_first) -> Linear on the last step."""
    torch, nn = _torch()

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, embed)
            self.conv = nn.Conv1d(embed, channels, 3, padding=1)
            self.gru = nn.GRU(channels, hidden, batch_first=True)
            self.out = nn.Linear(hidden, classes)

        def forward(self, tokens):  # [batch, seq] int64
            x = torch.relu(self.conv(self.embed(tokens).transpose(1, 2)))  # [batch, channels, seq]
            y, _ = self.gru(x.transpose(1, 2))  # [batch, seq, hidden]
            return self.out(y[:, -1])  # [batch, classes]

    example = torch.randint(0, vocab, (2, 9), dtype=torch.int64)
    return Classifier(), (example,), ["tokens"], ["logits"], {"tokens": {0: "batch", 1: "seq"},
                                                              "logits": {0: "batch"}}


def crnn(mels: int = 80, widths=(4, 8), hidden: int = 32, classes: int = 10, frames: int = 16):
    """CRNN (speech/OCR shape): Conv2d stack over a [batch, 1, mels, frames] spectrogram, frames
    become the sequence (permute + reshape), a 2-layer bidirectional LSTM, Linear + LogSoftmax
    per frame: [frames / 2, batch, classes]."""
    torch, nn = _torch()

    class CRNN(nn.Module):
        def __init__(self):
            super().__init__()
            c1, c2 = widths
            self.convs = nn.Sequential(
                nn.Conv2d(1, c1, 3, padding=1), nn.BatchNorm2d(c1), nn.ReLU(), nn.MaxPool2d(2),  # mels/2, T/2
                nn.Conv2d(c1, c2, 3, padding=1), nn.BatchNorm2d(c2), nn.ReLU(), nn.MaxPool2d((2, 1)))  # mels/4
            self.lstm = nn.LSTM(c2 * (mels // 4), hidden, num_layers=2, bidirectional=True)
            self.out = nn.Linear(2 * hidden, classes)

        def forward(self, spectrogram):
            x = self.convs(spectrogram)  # [batch, c2, mels/4, T/2]
            x = x.permute(3, 0, 1, 2).flatten(2)  # [T/2, batch, c2 * mels/4]
            y, _ = self.lstm(x)
            return torch.log_softmax(self.out(y), dim=-1)

    example = torch.randn(1, 1, mels, frames)
    return CRNN(), (example,), ["spectrogram"], ["log_probs"], {"spectrogram": {0: "batch", 3: "frames"},
                                                               "log_probs": {0: "steps", 1: "batch"}}


# name -> (builder, seed); the builders' defaults are the small test sizes.
MODELS = {
    "lstm_stacked": (lambda: _recurrent("LSTM", 16, 32, layers=2), 10),
    "lstm_bidirectional": (lambda: _recurrent("LSTM", 16, 24, bidirectional=True), 11),
    "lstm_batch_first": (lambda: _recurrent("LSTM", 12, 20, batch_first=True), 12),
    "gru_stacked_bidirectional": (lambda: _recurrent("GRU", 16, 24, layers=2, bidirectional=True), 13),
    "rnn_tanh": (lambda: _recurrent("RNN", 16, 24, layers=2, nonlinearity="tanh"), 14),
    "rnn_relu": (lambda: _recurrent("RNN", 16, 24, nonlinearity="relu"), 15),
    "lstm_tagger": (lstm_tagger, 16),
    "gru_classifier": (gru_classifier, 17),
    "crnn": (crnn, 18),
}

# Exported a second time by the dynamo exporter (sequence length fixed, batch symbolic).
DYNAMO_MODELS = ["gru_stacked_bidirectional", "lstm_tagger"]


def instantiate(builder, seed: int):
    """(module in eval mode with fixed random weights and BatchNorm statistics, example, names...)."""
    from make_models import randomize_batch_norm  # tests/data/make_models.py, beside this file

    torch, _ = _torch()
    torch.manual_seed(seed)
    module, example, inputs, outputs, axes = builder()
    randomize_batch_norm(module)
    return module.eval(), example, inputs, outputs, axes


def export(module, example, inputs, outputs, axes, path: Path, dynamo: bool = False) -> Path:
    """ONNX opset 17, IR version 10, symbolic axes as named in `axes`.

    The TorchScript exporter (`dynamo=False`) is the one used for the committed files: it emits
    the standard ONNX LSTM/GRU/RNN nodes. The dynamo exporter (`dynamo=True`, needs onnxscript)
    emits them for LSTM and GRU, but not with a symbolic sequence length (see the module's doc).
    """
    torch, _ = _torch()
    with torch.no_grad():
        if dynamo:
            dims = {}  # one Dim per axis name, shared across inputs
            shapes = tuple({axis: dims.setdefault(dim, torch.export.Dim(dim, min=2, max=100000))
                            for axis, dim in axes[name].items()} for name in inputs)
            program = torch.onnx.export(module, example, input_names=inputs, output_names=outputs,
                                        opset_version=OPSET, dynamo=True, dynamic_shapes=shapes)
            program.save(str(path))
        else:
            torch.onnx.export(module, example, str(path), input_names=inputs, output_names=outputs,
                              opset_version=OPSET, dynamic_axes=axes, dynamo=False,
                              training=torch.onnx.TrainingMode.PRESERVE)  # BatchNorm stays a node
    proto = onnx.load(str(path))
    proto.ir_version = IR_VERSION
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, str(path))
    return path


# --- a Keras LSTM ------------------------------------------------------------------------------

def keras_lstm_tf2onnx(path: Path, features: int = 10, hidden: int = 16, classes: int = 5, seed: int = 19) -> Path:
    """The real thing: a Keras LSTM converted by tf2onnx (needs tensorflow and tf2onnx)."""
    import tensorflow as tf
    import tf2onnx

    tf.keras.utils.set_random_seed(seed)
    biases = tf.keras.initializers.RandomUniform(-0.3, 0.3)  # non-zero, so that they are not folded away
    model = tf.keras.Sequential([tf.keras.Input((None, features), name="input"),
                                 tf.keras.layers.LSTM(hidden, bias_initializer=biases),
                                 tf.keras.layers.Dense(classes, bias_initializer=biases)])
    spec = (tf.TensorSpec((None, None, features), tf.float32, name="input"),)
    # from_keras does not follow Keras 3's output names (tf2onnx 1.17): convert the traced call.
    function = tf.function(lambda x: model(x, training=False), input_signature=spec)
    proto, _ = tf2onnx.convert.from_function(function, input_signature=spec, opset=OPSET)
    proto.ir_version = IR_VERSION
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, str(path))
    return path


def op_summary(path: Path) -> str:
    model = onnx.load(str(path))
    ops: dict[str, int] = {}

    def walk(graph):
        for node in graph.node:
            ops[node.op_type] = ops.get(node.op_type, 0) + 1
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    walk(attr.g)

    walk(model.graph)
    return ", ".join(f"{op}x{count}" for op, count in sorted(ops.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keras", action="store_true", help="convert a real Keras LSTM with tf2onnx")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, (builder, seed) in MODELS.items():
        paths.append(export(*instantiate(builder, seed), args.out / f"{name}.onnx"))
    try:
        import onnxscript  # noqa: F401  (the dynamo exporter needs it)
    except ImportError:
        print("onnxscript is not installed: no *_dynamo.onnx exports")
    else:
        for name in DYNAMO_MODELS:
            builder, seed = MODELS[name]
            module, example, inputs, outputs, axes = instantiate(builder, seed)
            batch_only = {n: {a: d for a, d in dims.items() if d == "batch"} for n, dims in axes.items()}
            paths.append(export(module, example, inputs, outputs, batch_only, args.out / f"{name}_dynamo.onnx",
                                dynamo=True))
    if args.keras:
        paths.append(keras_lstm_tf2onnx(args.out / "keras_lstm.onnx"))
    for path in paths:
        print(f"{path.name} ({path.stat().st_size // 1024} KiB): {op_summary(path)}")


if __name__ == "__main__":
    main()
