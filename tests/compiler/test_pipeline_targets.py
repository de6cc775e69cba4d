"""The pass pipeline takes the target: a pass that serves one target kind runs only there."""
from pathlib import Path

import pytest

from convrnn.compiler.cli import main
from convrnn.compiler.passes import CPU, PIPELINE, pass_names, passes_for, run_pipeline
from convrnn.compiler.target import parse_target
from convrnn.frontend import import_onnx

RESNET = Path(__file__).resolve().parent.parent / "data" / "resnet18_w16.onnx"
CUDA = {"kind": "cuda", "arch": "sm_90"}
CPU_ONLY = {"pack_integer_matmul", "pad_dense_columns", "select_winograd", "blocked_layout", "pack_conv_weights",
            "pack_recurrent_weights", "pack_quantized_lstm"}


def test_the_cpu_only_passes_are_marked_so():
    assert {step.name for step in PIPELINE if step.kinds == CPU} == CPU_ONLY
    assert [step.name for step in passes_for(parse_target("cpu"))] == pass_names()
    assert [step.name for step in passes_for(parse_target(CUDA))] == [n for n in pass_names() if n not in CPU_ONLY]


def test_a_cuda_pipeline_keeps_the_onnx_layout_and_plain_convs():
    graph = import_onnx(str(RESNET))
    on_cpu = {node.op for node in run_pipeline(graph, "cpu").nodes}
    on_cuda = {node.op for node in run_pipeline(graph, CUDA).nodes}
    assert "ConvBlocked" in on_cpu and "FromBlocked" in on_cpu
    assert "Conv" in on_cuda
    assert not on_cuda & {"ConvBlocked", "ToBlocked", "FromBlocked", "WinogradConv"}


def test_stopping_at_a_pass_the_target_skips_gives_the_graph_at_that_point():
    graph = import_onnx(str(RESNET))
    before = [node.op for node in run_pipeline(graph, CUDA, stop_after="fuse_elementwise").nodes]
    assert [node.op for node in run_pipeline(graph, CUDA, stop_after="blocked_layout").nodes] == before


def test_inspect_runs_the_pipeline_of_the_given_target(capsys):
    assert main(["inspect", str(RESNET), "--target", '{"kind": "cuda", "arch": "sm_90"}']) == 0
    printed = capsys.readouterr().out
    assert " Conv" in printed and "ConvBlocked" not in printed
    assert main(["inspect", str(RESNET)]) == 0
    assert "ConvBlocked" in capsys.readouterr().out


@pytest.mark.parametrize("target", ["no-such-target", '{"kind": "vulkan"}'])
def test_inspect_refuses_an_unknown_target_in_one_line(target, capsys):
    assert main(["inspect", str(RESNET), "--target", target]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "target" in err
