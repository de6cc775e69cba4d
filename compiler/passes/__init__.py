"""The pass pipeline: one ordered, named list, each pass `Graph -> Graph`, pure.

A pass that serves one target kind says so (`kinds`) and runs only for a target of that kind:
the NCHW{16c} blocked layout, Winograd with thresholds measured on CPUs and the packing of
weights for CPU vector lanes mean nothing to a GPU's kernels. `convrnn inspect --after NAME`
prints the graph after any of them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Union

from convrnn.compiler.ir import Graph
from convrnn.compiler.target import Target, parse_target
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
from convrnn.compiler.passes.pack_conv_weights import pack_conv_weights
from convrnn.compiler.passes.pack_integer_matmul import pack_integer_matmul
from convrnn.compiler.passes.pack_quantized_lstm import pack_quantized_lstm
from convrnn.compiler.passes.pack_recurrent_weights import pack_recurrent_weights
from convrnn.compiler.passes.pad_dense_columns import pad_dense_columns
from convrnn.compiler.passes.pointwise_conv_as_matmul import pointwise_conv_as_matmul
from convrnn.compiler.passes.recognize_hard_swish import recognize_hard_swish
from convrnn.compiler.passes.select_winograd import select_winograd
from convrnn.compiler.passes.skip_unused_sequence_output import skip_unused_sequence_output
from convrnn.compiler.passes.unit_width_conv_as_1d import unit_width_conv_as_1d
from convrnn.compiler.passes.zero_initial_states import zero_initial_states

Pass = Callable[[Graph], Graph]

CPU = frozenset({"llvm"})


@dataclass(frozen=True)
class Step:
    name: str
    transform: Pass
    kinds: Optional[frozenset] = None  # the target kinds it serves; None: every kind

    def serves(self, target: Target) -> bool:
        return self.kinds is None or target.kind in self.kinds


PIPELINE: list[Step] = [
    Step("compute_bit_patterns_in_float32", compute_bit_patterns_in_float32),
    Step("fold_pad_into_conv", fold_pad_into_conv),
    Step("zero_initial_states", zero_initial_states),
    Step("pack_integer_matmul", pack_integer_matmul, CPU),
    Step("eliminate_dead_code", eliminate_dead_code),
    Step("hoist_loop_invariants", hoist_loop_invariants),
    Step("unit_width_conv_as_1d", unit_width_conv_as_1d),
    Step("pointwise_conv_as_matmul", pointwise_conv_as_matmul),
    Step("cancel_transposes", cancel_transposes),
    Step("fold_batch_norm", fold_batch_norm),
    Step("batch_norm_as_affine", batch_norm_as_affine),
    Step("recognize_hard_swish", recognize_hard_swish),
    Step("fuse_epilogue", fuse_epilogue),
    Step("pad_dense_columns", pad_dense_columns, CPU),
    Step("select_winograd", select_winograd, CPU),
    Step("fuse_elementwise", fuse_elementwise),
    Step("blocked_layout", blocked_layout, CPU),
    Step("skip_unused_sequence_output", skip_unused_sequence_output),
    Step("fold_sequence_transpose", fold_sequence_transpose),
    Step("pack_conv_weights", pack_conv_weights, CPU),
    Step("pack_recurrent_weights", pack_recurrent_weights, CPU),
    Step("pack_quantized_lstm", pack_quantized_lstm, CPU),
]


def pass_names() -> list[str]:
    return [step.name for step in PIPELINE]


def passes_for(target: Target) -> list[Step]:
    return [step for step in PIPELINE if step.serves(target)]


def run_pipeline(graph: Graph, target: Union[str, dict, Target, None] = "cpu", stop_after: Optional[str] = None,
                 verify: bool = False) -> Graph:
    """The graph after the passes that serve `target` (a pass it skips can still be
    `stop_after`: the graph at that point of the list)."""
    if stop_after is not None and stop_after not in pass_names():
        raise KeyError(stop_after)
    target = parse_target(target)
    if verify:
        from convrnn.compiler.verifier import verify as verify_graph
        verify_graph(graph)
    for step in PIPELINE:
        if step.serves(target):
            graph = step.transform(graph)
            if verify:
                verify_graph(graph)
        if step.name == stop_after:
            break
    return graph
