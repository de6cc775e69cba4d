"""The pass pipeline: one ordered, named list, each pass `Graph -> Graph`, pure.

`convrnn inspect --after NAME` prints the graph after any of them.
"""
from __future__ import annotations

from typing import Callable, Optional

from convrnn.compiler.ir import Graph
from convrnn.compiler.passes.batch_norm_as_affine import batch_norm_as_affine
from convrnn.compiler.passes.blocked_layout import blocked_layout
from convrnn.compiler.passes.cancel_transposes import cancel_transposes
from convrnn.compiler.passes.compute_bit_patterns_in_float32 import compute_bit_patterns_in_float32
from convrnn.compiler.passes.eliminate_dead_code import eliminate_dead_code
from convrnn.compiler.passes.fold_batch_norm import fold_batch_norm
from convrnn.compiler.passes.fold_pad_into_conv import fold_pad_into_conv
from convrnn.compiler.passes.fold_sequence_transpose import fold_sequence_transpose
from convrnn.compiler.passes.fuse_epilogue import fuse_epilogue
from convrnn.compiler.passes.fuse_elementwise import fuse_elementwise
from convrnn.compiler.passes.hoist_loop_invariants import hoist_loop_invariants
from convrnn.compiler.passes.pack_integer_matmul import pack_integer_matmul
from convrnn.compiler.passes.pad_dense_columns import pad_dense_columns
from convrnn.compiler.passes.pointwise_conv_as_matmul import pointwise_conv_as_matmul
from convrnn.compiler.passes.recognize_hard_swish import recognize_hard_swish
from convrnn.compiler.passes.select_winograd import select_winograd
from convrnn.compiler.passes.skip_unused_sequence_output import skip_unused_sequence_output
from convrnn.compiler.passes.unit_width_conv_as_1d import unit_width_conv_as_1d
from convrnn.compiler.passes.zero_initial_states import zero_initial_states

Pass = Callable[[Graph], Graph]

PIPELINE: list[tuple[str, Pass]] = [
    ("compute_bit_patterns_in_float32", compute_bit_patterns_in_float32),
    ("fold_pad_into_conv", fold_pad_into_conv),
    ("zero_initial_states", zero_initial_states),
    ("pack_integer_matmul", pack_integer_matmul),
    ("eliminate_dead_code", eliminate_dead_code),
    ("hoist_loop_invariants", hoist_loop_invariants),
    ("unit_width_conv_as_1d", unit_width_conv_as_1d),
    ("pointwise_conv_as_matmul", pointwise_conv_as_matmul),
    ("cancel_transposes", cancel_transposes),
    ("fold_batch_norm", fold_batch_norm),
    ("batch_norm_as_affine", batch_norm_as_affine),
    ("recognize_hard_swish", recognize_hard_swish),
    ("fuse_epilogue", fuse_epilogue),
    ("pad_dense_columns", pad_dense_columns),
    ("select_winograd", select_winograd),
    ("fuse_elementwise", fuse_elementwise),
    ("blocked_layout", blocked_layout),
    ("skip_unused_sequence_output", skip_unused_sequence_output),
    ("fold_sequence_transpose", fold_sequence_transpose),
]


def pass_names() -> list[str]:
    return [name for name, _ in PIPELINE]


def run_pipeline(graph: Graph, stop_after: Optional[str] = None, verify: bool = False) -> Graph:
    if stop_after is not None and stop_after not in pass_names():
        raise KeyError(stop_after)
    if verify:
        from convrnn.compiler.verifier import verify as verify_graph
        verify_graph(graph)
    for name, transform in PIPELINE:
        graph = transform(graph)
        if verify:
            verify_graph(graph)
        if name == stop_after:
            break
    return graph
