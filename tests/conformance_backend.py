"""An onnx.backend adapter for convrnn, and the selection of ONNX conformance node cases.

convrnn compiles ahead of time with a static memory plan, so graph inputs that real models
carry as initializers (weights, Clip bounds) or that fix an output's shape (Reshape's shape,
Slice's starts, ...) are bound as constants with the values given to run(); the model is
compiled once per distinct set of such values. Cases run as they are stamped, at their own opset.
"""
from __future__ import annotations

import functools
import warnings
from typing import Any, Optional

import numpy as np
import onnx
import onnx.backend.base
from onnx import numpy_helper

import support

# The ops convrnn claims, by ONNX op type.
SUPPORTED_OPS = (
    "Conv", "ConvTranspose", "BatchNormalization", "Relu", "LeakyRelu", "PRelu", "Sigmoid", "Tanh",
    "Clip", "HardSigmoid", "HardSwish", "Elu", "Softplus", "Erf", "Add", "Sub", "Mul", "Div", "Pow",
    "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Gemm", "MatMul", "Flatten",
    "Reshape", "Transpose", "Concat", "Split", "Squeeze", "Unsqueeze", "Slice", "Gather", "Pad",
    "Softmax", "LogSoftmax", "Identity", "Dropout", "Constant", "ConstantOfShape", "ReduceMean",
    "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum",
    "ReduceLogSumExp", "ReduceSumSquare", "LpPool", "Selu", "Celu", "Softsign",
    "ThresholdedRelu", "Shrink", "Mish", "Gelu", "Hardmax", "LpNormalization", "InstanceNormalization", "Resize", "Cast", "CastLike", "Shape", "Expand", "Where", "LSTM", "GRU", "RNN",
    "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Sign", "Round", "IsNaN", "IsInf",
    "Xor", "Mod", "Tile", "ArgMax", "ArgMin", "GatherElements", "GatherND", "OneHot",
    "ScatterElements", "ScatterND", "Range", "LayerNormalization", "Einsum",
    "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "MatMulInteger", "ConvInteger",
)

# (op type) -> input positions bound as constants: weights, and inputs that fix output shapes.
CONSTANT_INPUTS = {
    "Conv": (1, 2), "ConvTranspose": (1, 2), "BatchNormalization": (1, 2, 3, 4), "PRelu": (1,),
    "Clip": (1, 2), "Reshape": (1,), "Expand": (1,), "Slice": (1, 2, 3, 4), "Pad": (1, 2, 3),
    "Resize": (1, 2, 3), "Split": (1,), "Squeeze": (1,), "Unsqueeze": (1,), "ConstantOfShape": (0,),
    "ReduceMean": (1,), "ReduceSum": (1,), "ReduceMax": (1,), "ReduceMin": (1,), "ReduceProd": (1,),
    "ReduceL1": (1,), "ReduceL2": (1,), "ReduceLogSum": (1,), "ReduceLogSumExp": (1,), "ReduceSumSquare": (1,),
    "InstanceNormalization": (1, 2),
    "Dropout": (1, 2),
    "Tile": (1,), "OneHot": (1,), "Range": (0, 1, 2), "LayerNormalization": (1, 2),
    # W, R, B (and LSTM's P); sequence_lens and the initial states stay run-time inputs.
    "LSTM": (1, 2, 3, 7), "GRU": (1, 2, 3), "RNN": (1, 2, 3),
}


@functools.lru_cache(maxsize=None)
def all_cases() -> dict[str, Any]:
    from onnx.backend.test.loader import load_node_model_tests

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the case generators overflow casts on purpose
        return {case.name: case for case in load_node_model_tests()}


def case_op(case) -> Optional[str]:
    """The op a case tests: its single op type (Constant feeders aside), 'composite' for a graph of
    several supported ops, None when it uses an op convrnn does not claim."""
    ops = {node.op_type for node in case.model.graph.node}
    if not ops <= set(SUPPORTED_OPS):
        return None
    if len(ops) > 1:
        ops.discard("Constant")
    return ops.pop() if len(ops) == 1 else "composite"


def cases_in_scope() -> dict[str, str]:
    """case name -> op, for every case built only from ops convrnn claims."""
    return {name: op for name, case in all_cases().items() if (op := case_op(case)) is not None}


def _constant_positions(model: onnx.ModelProto) -> set[str]:
    inputs = {info.name for info in model.graph.input}
    return {name for node in model.graph.node
            for index, name in enumerate(node.input)
            if index in CONSTANT_INPUTS.get(node.op_type, ()) and name in inputs}


def _bind_constants(model: onnx.ModelProto, values: dict[str, np.ndarray]) -> onnx.ModelProto:
    bound = onnx.ModelProto()
    bound.CopyFrom(model)
    kept = [info for info in bound.graph.input if info.name not in values]
    del bound.graph.input[:]
    bound.graph.input.extend(kept)
    bound.graph.initializer.extend(numpy_helper.from_array(np.asarray(v), n) for n, v in values.items())
    return bound


class ConvrnnRep(onnx.backend.base.BackendRep):
    def __init__(self, model: onnx.ModelProto):
        self.model = model
        self.constant_names = _constant_positions(self.model)

    def run(self, inputs, **kwargs) -> tuple:
        names = [info.name for info in self.model.graph.input]
        given = dict(zip(names, inputs if isinstance(inputs, (list, tuple)) else [inputs]))
        constants = {n: v for n, v in given.items() if n in self.constant_names}
        compiled = support.compile_cached(_bind_constants(self.model, constants))
        return tuple(compiled.run(**{n: v for n, v in given.items() if n not in constants}))


class ConvrnnBackend(onnx.backend.base.Backend):
    @classmethod
    def prepare(cls, model: onnx.ModelProto, device: str = "CPU", **kwargs) -> ConvrnnRep:
        return ConvrnnRep(model)

    @classmethod
    def supports_device(cls, device: str) -> bool:
        return device == "CPU"


def _arrays(values) -> list:
    # Some cases (Cast's) store their data as TensorProtos.
    return [numpy_helper.to_array(v) if isinstance(v, onnx.TensorProto) else v for v in values]


def run_case(case) -> None:
    """Run every data set of a conformance case through convrnn; raise on any mismatch."""
    rep = ConvrnnBackend.prepare(case.model)
    for inputs, expected in case.data_sets:
        inputs, expected = _arrays(inputs), _arrays(expected)
        outputs = rep.run(inputs)
        assert len(outputs) == len(expected), f"{len(outputs)} outputs, expected {len(expected)}"
        for index, (got, want) in enumerate(zip(outputs, expected)):
            want = np.asarray(want)
            assert got.dtype == want.dtype, f"output {index}: dtype {got.dtype} != {want.dtype}"
            assert got.shape == want.shape, f"output {index}: shape {got.shape} != {want.shape}"
            np.testing.assert_allclose(got, want, rtol=case.rtol, atol=case.atol, err_msg=f"output {index}")

