"""CUDA targets: the architecture is checked and the per-block limits the GPU schedules read are
filled in; a wrong architecture is one line from the CLI."""
from pathlib import Path

import pytest

from convrnn.compiler.cli import main
from convrnn.compiler.errors import TargetError
from convrnn.compiler.target import CUDA_LIMITS, DEFAULT_CUDA_ARCH, parse_target

MODEL = Path(__file__).resolve().parent.parent / "data" / "audio_cnn.onnx"


def test_plain_cuda_is_the_default_architecture_with_its_limits():
    target = parse_target("cuda")
    assert target.kind == "cuda" and target.json["arch"] == DEFAULT_CUDA_ARCH
    assert {key: target.json[key] for key in CUDA_LIMITS} == CUDA_LIMITS


def test_a_named_architecture_and_limit_are_kept():
    target = parse_target({"kind": "cuda", "arch": "sm_80", "max_threads_per_block": 512})
    assert target.json["arch"] == "sm_80" and target.json["max_threads_per_block"] == 512


@pytest.mark.parametrize("arch", ["sm_5", "sm_50", "compute_90", "90", ""])
def test_an_unknown_architecture_is_refused(arch):
    with pytest.raises(TargetError, match="unknown CUDA architecture"):
        parse_target({"kind": "cuda", "arch": arch})


def test_the_cli_says_what_is_wrong_with_the_architecture_in_one_line(tmp_path, capsys):
    code = main(["compile", str(MODEL), "-o", str(tmp_path / "artifact"), "--target", '{"kind": "cuda", "arch": "sm_5"}'])
    err = capsys.readouterr().err
    assert code != 0 and err.count("\n") == 1 and "sm_5" in err and "Traceback" not in err
    assert not (tmp_path / "artifact").exists()
