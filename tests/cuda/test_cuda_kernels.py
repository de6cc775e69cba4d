"""CUDA kernels without a GPU: every kernel of these models (small ones of our own and the
committed CNN test models) is scheduled for CUDA, generated, and compiled by nvcc for sm_80
and sm_90, and ptxas's report is checked against the architectures' limits: no spills, static
shared memory and registers per thread within bounds, at most 1024 threads per block
(../shared/DESIGN.md, "CUDA without a GPU"). Running them (OpenCL on PoCL, and on a GPU when
one is lent) is not done here."""
import functools
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper

import support
from convrnn.compiler import tvm_adapter as tvm_
from convrnn.compiler.lower import lower_graph
from convrnn.compiler.passes import run_pipeline
from convrnn.compiler.target import parse_target
from convrnn.frontend import import_onnx

ARCHITECTURES = ("sm_80", "sm_90")
MAX_SHARED_BYTES = {"sm_80": 163 * 1024, "sm_90": 227 * 1024}  # per block, opted in; 48 KB static
MAX_STATIC_SHARED_BYTES = 48 * 1024
MAX_THREADS_PER_BLOCK = 1024
NVCC = shutil.which("nvcc")
CUDA_PATH = "/usr/local/cuda-13.0"


def model_of(nodes, inputs, inits=(), output="y"):
    return support.make_model(nodes, [support.tensor_info(n, "float32", s) for n, s in inputs],
                              [support.tensor_info(output, "float32", None)], inits)


def conv_relu():
    rng = np.random.default_rng(0)
    return model_of([helper.make_node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1]),
                     helper.make_node("Relu", ["c"], ["y"])], [("x", ["n", 16, 20, 24])],
                    [("W", rng.standard_normal((32, 16, 3, 3)).astype(np.float32)),
                     ("B", rng.standard_normal(32).astype(np.float32))])


def matmul_add_softmax():
    rng = np.random.default_rng(1)
    return model_of([helper.make_node("MatMul", ["x", "W"], ["m"]), helper.make_node("Add", ["m", "B"], ["a"]),
                     helper.make_node("Softmax", ["a"], ["y"], axis=-1)], [("x", ["rows", 64])],
                    [("W", rng.standard_normal((64, 96)).astype(np.float32)),
                     ("B", rng.standard_normal(96).astype(np.float32))])


def pool_reduce():
    return model_of([helper.make_node("MaxPool", ["x"], ["p"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
                     helper.make_node("GlobalAveragePool", ["p"], ["g"]), helper.make_node("Sigmoid", ["g"], ["y"])],
                    [("x", [1, 8, 33, 31])])


def conv_transpose_upsample():
    rng = np.random.default_rng(2)
    return model_of([helper.make_node("ConvTranspose", ["x", "W", "B"], ["u"], kernel_shape=[3, 3], strides=[2, 2],
                                      pads=[1, 1, 1, 1], output_padding=[1, 1]),
                     helper.make_node("Relu", ["u"], ["y"])], [("x", [1, 16, 9, 11])],
                    [("W", rng.standard_normal((16, 8, 3, 3)).astype(np.float32)),
                     ("B", rng.standard_normal(8).astype(np.float32))])


DATA = Path(__file__).resolve().parent.parent / "data"
MODELS = {"conv_relu": conv_relu, "matmul_add_softmax": matmul_add_softmax, "pool_reduce": pool_reduce,
          "conv_transpose_upsample": conv_transpose_upsample,
          **{name: functools.partial(onnx.load, DATA / f"{name}.onnx")
             for name in ("audio_cnn", "mobilenet_v2_small", "resnet18_w16")}}


def ptxas_report(source: str, arch: str, tmp_path) -> dict:
    """Registers, spilled bytes and shared memory of each kernel in `source`, from ptxas -v."""
    cu = tmp_path / f"kernels_{arch}.cu"
    cu.write_text(source)
    result = subprocess.run([NVCC, "-cubin", f"-arch={arch}", "-Xptxas", "-v", "-o", str(cu.with_suffix(".cubin")),
                             str(cu)], capture_output=True, text=True, env={**os.environ, "CUDA_PATH": CUDA_PATH})
    assert result.returncode == 0, result.stderr[-2000:]
    report, current = {}, None
    for line in result.stderr.splitlines():
        entry = re.search(r"Compiling entry function '(\w+)'", line)
        if entry:
            current = report.setdefault(entry.group(1), {})
        spills = re.search(r"(\d+) bytes spill stores, (\d+) bytes spill loads", line)
        if spills and current is not None:
            current["spills"] = int(spills.group(1)) + int(spills.group(2))
        used = re.search(r"Used (\d+) registers(?:, used \d+ barriers)?(?:, (\d+) bytes smem)?", line)
        if used and current is not None:
            current["registers"], current["shared"] = int(used.group(1)), int(used.group(2) or 0)
    return report


def launch_threads(func) -> int:
    """Threads per block of a scheduled kernel: the product of its thread-axis extents."""
    text = tvm_.script(func)
    threads = 1
    for axis in ("threadIdx.x", "threadIdx.y", "threadIdx.z"):
        extents = {int(e) for e in re.findall(rf'T\.thread_binding\((\d+), thread="{axis}"\)', text)}
        threads *= max(extents, default=1)
    return threads


@pytest.mark.skipif(NVCC is None and not os.environ.get("CI"), reason="needs the CUDA toolkit's nvcc (CI has it: there it fails)")
@pytest.mark.parametrize("name", list(MODELS))
def test_every_kernel_compiles_for_sm80_and_sm90_within_the_limits(name, tmp_path):
    target = parse_target({"kind": "cuda", "arch": "sm_90"})
    functions, calls = lower_graph(run_pipeline(import_onnx(MODELS[name]()), target), target)
    assert functions and all(call.kernel in functions for call in calls if call.kernel)
    for kernel, func in functions.items():
        assert launch_threads(func) <= MAX_THREADS_PER_BLOCK, kernel
    for arch in ARCHITECTURES:
        source = tvm_.device_source(tvm_.build(functions, parse_target({"kind": "cuda", "arch": arch})))
        report = ptxas_report(source, arch, tmp_path)
        assert len(report) >= len(functions), sorted(report)  # each kernel is at least one entry function
        for entry, usage in report.items():
            assert usage["spills"] == 0, (arch, entry, usage)
            assert usage["shared"] <= MAX_STATIC_SHARED_BYTES, (arch, entry, usage)
            assert usage["registers"] <= 255, (arch, entry, usage)
