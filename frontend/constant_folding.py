"""Import-time constant folding: an ONNX node whose inputs are all constants is evaluated
with the ONNX reference evaluator and replaced by its results; one it cannot evaluate stays
in the graph."""
from __future__ import annotations

from typing import Optional

import numpy as np
import onnx
from onnx import helper
from onnx.reference import ReferenceEvaluator

from convrnn.compiler.ir import Value
from convrnn.frontend.context import GraphBuilder

# Ops never folded: their results are not a function of their inputs, they hold subgraphs
# that the importer inlines itself, or onnx.reference implements them only in part (its
# recurrences ignore direction, activations, clip and sequence_lens).
_NOT_FOLDABLE = {"If", "Loop", "Scan", "RandomNormal", "RandomUniform", "RandomNormalLike",
                 "RandomUniformLike", "Multinomial", "Bernoulli", "LSTM", "GRU", "RNN"}


def is_foldable(node: onnx.NodeProto) -> bool:
    return node.op_type not in _NOT_FOLDABLE and node.domain in ("", "ai.onnx") and not any(
        a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in node.attribute)


def fold_node(builder: GraphBuilder, node: onnx.NodeProto, inputs: list[Optional[Value]],
              opset: int) -> Optional[list[Optional[Value]]]:
    if not is_foldable(node):
        return None
    arrays = [None if v is None else builder.constant_of(v) for v in inputs]
    if any(v is not None and a is None for v, a in zip(inputs, arrays)):
        return None
    feeds = {name: array for name, array in zip(node.input, arrays) if name}
    try:
        results = ReferenceEvaluator(_one_node_model(node, feeds, opset)).run(None, feeds)
    except Exception:  # whatever numpy raises: the node stays, for its converter to take or refuse
        return None
    return [builder.constant(np.asarray(r), hint=name) if name else None
            for name, r in zip(node.output, results)]


def _one_node_model(node: onnx.NodeProto, feeds: dict, opset: int) -> onnx.ModelProto:
    """The node as a model of the importing opset: evaluated from a bare node, onnx.reference
    takes the newest version of the op (Unsqueeze 13's axes input for an opset-12 attribute)."""
    inputs = [helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(array.dtype), None)
              for name, array in feeds.items()]
    outputs = [helper.make_value_info(name, onnx.TypeProto()) for name in node.output if name]
    graph = helper.make_graph([node], "fold", inputs, outputs)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
