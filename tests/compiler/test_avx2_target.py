"""The templates' AVX2 form: 8-lane vectors, chosen for a CPU without AVX-512.

This machine has AVX-512, which runs AVX2 code too, so compiling for an AVX2-only CPU
(LLVM's "haswell") and running the result here checks the 8-lane schedules' numbers; the
assembly check shows that nothing wider than a 256-bit ymm register is used.
"""
import json
from pathlib import Path

import onnx
import pytest

import support
from convrnn.compiler import tvm_adapter as tvm_
from convrnn.compiler.build import compile_graph
from convrnn.compiler.target import parse_target
from convrnn.frontend import import_onnx

AVX2 = json.dumps({"kind": "llvm", "mcpu": "haswell"})
DATA = Path(__file__).resolve().parent.parent / "data"


def has_avx2() -> bool:
    try:
        return " avx2" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


needs_avx2 = pytest.mark.skipif(not has_avx2(), reason="this CPU cannot run AVX2 code")

# model file -> (input name, input shape); each exercises other templates:
#   conv1d oc_vector + pools + dense; blocked convs (depthwise, 1x1) + global pool; a ResNet:
#   blocked convs, a blocked pool, residuals; conv1d + GRU; bidirectional LSTM
MODELS = {
    "audio_cnn.onnx": ("input", (2, 40, 100)),
    "mobilenet_v2_small.onnx": ("input", (1, 3, 64, 64)),
    "resnet18_w16.onnx": ("input", (1, 3, 64, 64)),
    "recurrent/gru_classifier.onnx": ("tokens", (2, 30)),
    "recurrent/lstm_bidirectional.onnx": ("x", (9, 2, 16)),
}


def test_an_avx2_cpu_gets_eight_lanes():
    assert parse_target(AVX2).vector_lanes == 8


@needs_avx2
@pytest.mark.parametrize("name", MODELS)
def test_avx2_kernels_match_onnxruntime(name):
    input_name, shape = MODELS[name]
    if "tokens" == input_name:
        feeds = {input_name: support.random_input(shape, "int64", seed=1, low=0, high=99)}
    else:
        feeds = {input_name: support.random_input(shape, seed=1)}
    support.assert_matches_onnxruntime(onnx.load(str(DATA / name)), feeds, target=AVX2, atol=1e-4)


@pytest.mark.parametrize("name", ["mobilenet_v2_small.onnx", "recurrent/gru_classifier.onnx"])
def test_avx2_code_uses_no_avx512_registers(name):
    _, executable = compile_graph(import_onnx(str(DATA / name)), parse_target(AVX2))
    code = tvm_.assembly(executable)
    assert "ymm" in code
    assert "zmm" not in code


# /proc/cpuinfo flags of an AVX2 CPU, as a KVM guest on an AVX-512 part (family and model say
# AVX-512, the flags do not) reports them
AVX2_FLAGS = frozenset("fpu sse sse2 ssse3 sse4_1 sse4_2 avx avx2 fma f16c bmi1 bmi2".split())


def test_the_host_target_drops_what_the_cpu_name_implies_but_the_host_lacks(monkeypatch):
    import convrnn.compiler.target as target

    monkeypatch.setattr(target, "host_cpu_name", lambda: "znver4")
    monkeypatch.setattr(target, "host_cpu_flags", lambda: AVX2_FLAGS)
    host = parse_target("cpu")
    assert host.json["mcpu"] == "znver4" and "-avx512f" in host.json["mattr"]
    assert not host.has_feature("avx512f") and not host.has_feature("avx512vnni") and host.has_feature("fma")
    assert host.vector_lanes == 8
    assert parse_target(dict(host.json)) == host  # the same target whether spelled as JSON or as "cpu"

    monkeypatch.setattr(target, "host_cpu_flags", lambda: AVX2_FLAGS | {"avx512f", "avx512bw", "avx512dq",
                                                                        "avx512vl", "avx512cd", "avx512_vnni"})
    assert parse_target("cpu").has_feature("avx512vnni") and parse_target("cpu").vector_lanes == 16


def test_a_target_without_the_os_flags_keeps_its_cpu_name(monkeypatch):
    import convrnn.compiler.target as target

    monkeypatch.setattr(target, "host_cpu_name", lambda: "cascadelake")
    monkeypatch.setattr(target, "host_cpu_flags", lambda: None)
    host = parse_target("cpu")
    assert host.json == {"kind": "llvm", "mcpu": "cascadelake"} and host.has_feature("avx512vnni")


@pytest.mark.parametrize("name", ["recurrent/gru_classifier.onnx"])
def test_a_masked_host_gets_no_avx512_code(monkeypatch, name):
    import convrnn.compiler.target as target

    monkeypatch.setattr(target, "host_cpu_name", lambda: "znver4")
    monkeypatch.setattr(target, "host_cpu_flags", lambda: AVX2_FLAGS)
    _, executable = compile_graph(import_onnx(str(DATA / name)), parse_target("cpu"))
    assert "zmm" not in tvm_.assembly(executable)
