"""Latency of single recurrent layers, convrnn against onnxruntime, and compile time against T.

Each layer is a one-node ONNX model with symbolic sequence length and batch, compiled once by
convrnn and run by onnxruntime with the same thread count, timed in alternating blocks (the
timing helper of conv_layers.py). Compile times are for the LSTM layer with T fixed to 10 and
to 1000 at import: the time loop is a loop, so they should match.

    TVM_NUM_THREADS=2 python benchmarks/recurrent_layers.py [--threads 2] [--blocks 4] [--runs 10] [--only NAME]
"""
from __future__ import annotations

import os
import tempfile
import time

import numpy as np
import onnx
from onnx import helper, numpy_helper

from timing import against_onnxruntime, require_tvm_threads, timing_parser

GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
# name: (op, hidden, inputs, seq, batch, direction)
LAYERS = {
    "lstm256_T100_b1": ("LSTM", 256, 80, 100, 1, "forward"),
    "lstm256_T100_b16": ("LSTM", 256, 80, 100, 16, "forward"),
    "bilstm256_T100_b1": ("LSTM", 256, 80, 100, 1, "bidirectional"),
    "bilstm256_T100_b16": ("LSTM", 256, 80, 100, 16, "bidirectional"),
    "gru512_T50_b1": ("GRU", 512, 128, 50, 1, "forward"),
}


def layer_model(op, hidden, inputs, direction):
    rng = np.random.default_rng(0)
    d, g = (2 if direction == "bidirectional" else 1), GATES[op]
    scale = 1 / np.sqrt(hidden)
    inits = [numpy_helper.from_array(rng.uniform(-scale, scale, (d, g * hidden, inputs)).astype("float32"), "W"),
             numpy_helper.from_array(rng.uniform(-scale, scale, (d, g * hidden, hidden)).astype("float32"), "R"),
             numpy_helper.from_array(rng.uniform(-scale, scale, (d, 2 * g * hidden)).astype("float32"), "B")]
    node = helper.make_node(op, ["X", "W", "R", "B"], ["Y", "Y_h"], hidden_size=hidden, direction=direction)
    x = helper.make_tensor_value_info("X", onnx.TensorProto.FLOAT, ["seq", "batch", inputs])
    outputs = [helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None) for n in ("Y", "Y_h")]
    graph = helper.make_graph([node], "layer", [x], outputs, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)], ir_version=10)


def measure(name, op, hidden, inputs, seq, batch, direction, threads, blocks, runs, workdir):
    model = layer_model(op, hidden, inputs, direction)
    feeds = {"X": np.random.default_rng(1).uniform(-1, 1, (seq, batch, inputs)).astype("float32")}
    medians = against_onnxruntime(model, feeds, threads, blocks, runs, os.path.join(workdir, name))
    print(f"{name:20s} convrnn {medians['convrnn']:8.3f} ms | onnxruntime {medians['onnxruntime']:8.3f} ms"
          f" | onnxruntime / convrnn {medians['onnxruntime'] / medians['convrnn']:5.2f}x", flush=True)


def compile_times(workdir):
    from convrnn.compiler import compile_model

    model = layer_model("LSTM", 256, 80, "bidirectional")
    for seq in (10, 1000):
        start = time.perf_counter()
        compile_model(model, os.path.join(workdir, f"compile_T{seq}"), input_shapes={"X": [seq, 1, 80]})
        print(f"compile bi-LSTM 256 with T={seq}: {time.perf_counter() - start:.2f} s", flush=True)


def main(argv=None):
    parser = timing_parser(__doc__)
    parser.add_argument("--only", default="", help="substring of the layer names to run")
    args = parser.parse_args(argv)
    require_tvm_threads(args.threads)
    with tempfile.TemporaryDirectory() as workdir:
        compile_times(workdir)
        for name, layer in LAYERS.items():
            if args.only in name:
                measure(name, *layer, args.threads, args.blocks, args.runs, workdir)


if __name__ == "__main__":
    main()
