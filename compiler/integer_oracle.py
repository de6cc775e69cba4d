"""onnxruntime as an exact oracle of integer products on every x86 host (bench's agreement
check and the tests').

On x86 CPUs without VNNI, onnxruntime multiplies uint8 by int8 with vpmaddubsw, which saturates
each pair's sum to int16 (its quantization docs name this): 255 x 127 over K = 64 gives 1048544,
not 2072640. uint8 by uint8 takes a widening kernel that is exact. So the oracle runs the
model with every int8 operand of an integer product as uint8 (value + 128) and its zero point + 128:
(a - a_zero) and (b - b_zero) are unchanged, and onnxruntime's products exact wherever it runs.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# op type: (operand index, zero point index) of each integer operand of its products
_PRODUCT_OPERANDS = {
    "MatMulInteger": ((0, 2), (1, 3)),
    "ConvInteger": ((0, 2), (1, 3)),
    "MatMulIntegerToFloat": ((0, 4), (1, 5)),
    "DynamicQuantizeMatMul": ((1, 3),),
    "DynamicQuantizeLSTM": ((1, 9), (2, 11)),
}


def has_integer_products(model: onnx.ModelProto) -> bool:
    return any(node.op_type in _PRODUCT_OPERANDS for node in model.graph.node)


def with_uint8_operands(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of the model whose integer products take uint8 where they took int8, the same values."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    initializers = {init.name: init for init in graph.initializer}
    try:  # the element types of computed tensors too (contrib ops may stop the inference)
        typed = onnx.shape_inference.infer_shapes(model).graph
    except Exception:
        typed = graph
    element_types = {info.name: info.type.tensor_type.elem_type for info in [*typed.input, *typed.value_info]}
    element_types.update({name: init.data_type for name, init in initializers.items()})
    shifted: dict[str, str] = {}  # int8 tensor -> its uint8 twin
    nodes = []
    for node in graph.node:
        for operand, zero in _PRODUCT_OPERANDS.get(node.op_type, ()):
            if operand >= len(node.input) or element_types.get(node.input[operand]) != TensorProto.INT8:
                continue
            while len(node.input) <= zero:
                node.input.append("")
            for index in (operand, zero):
                name = node.input[index]
                if name == "":  # an absent zero point is 0: as uint8, 128
                    name = f"{node.name or node.op_type}_{index}_zero_128"
                    graph.initializer.append(numpy_helper.from_array(np.array(128, "uint8"), name))
                elif name not in shifted:
                    shifted[name] = _shift(name, initializers, graph, nodes)
                    name = shifted[name]
                else:
                    name = shifted[name]
                node.input[index] = name
        nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in graph.node for name in node.input} | {output.name for output in graph.output}
    kept = [init for init in graph.initializer if init.name in used or init.name not in shifted]
    del graph.initializer[:]
    graph.initializer.extend(kept)  # the int8 originals that only the products read go
    return model


def _shift(name: str, initializers: dict, graph, nodes: list) -> str:
    """A uint8 tensor of `name`'s int8 values + 128: a new initializer, or nodes for a run-time tensor."""
    twin = name + "_as_uint8"
    if name in initializers:
        values = numpy_helper.to_array(initializers[name]).astype(np.int16) + 128
        graph.initializer.append(numpy_helper.from_array(values.astype("uint8"), twin))
        return twin
    nodes.append(helper.make_node("Constant", [], [twin + "_128"],
                                  value=numpy_helper.from_array(np.array(128, "int32"))))
    nodes.append(helper.make_node("Cast", [name], [twin + "_wide"], to=TensorProto.INT32))
    nodes.append(helper.make_node("Add", [twin + "_wide", twin + "_128"], [twin + "_sum"]))
    nodes.append(helper.make_node("Cast", [twin + "_sum"], [twin], to=TensorProto.UINT8))
    return twin
