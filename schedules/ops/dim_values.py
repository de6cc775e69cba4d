"""DimValues: the values of symbolic dims as a run-time integer tensor (attr "elements": ints
or dim formulas; attr "scalar": a 0-d result).

Exporters compute with shapes as data (Shape -> Cast -> Div by the frame count); the importer
follows such vectors symbolically (frontend/symbolic_shapes.py) and, where one is read as data,
emits this op. Its inputs are tensors whose shapes hold the names the formulas use: the
kernel reads only their shape variables.
"""
from __future__ import annotations

import ast

from convrnn.compiler.ir import TensorType
from convrnn.compiler.symbolic_dims import names_in
from convrnn.schedules.registry import OpDef, register


@register
class DimValues(OpDef):
    name = "DimValues"

    def infer(self, inputs, attrs):
        elements = list(attrs["elements"])
        available = {d for x in inputs for d in x.shape if isinstance(d, str) and d.isidentifier()}
        for element in elements:
            missing = names_in(element) - available
            if missing:
                raise ValueError(f"dim {element!r} needs {', '.join(sorted(missing))}, which no input has")
        shape = () if attrs["scalar"] else (len(elements),)
        return [TensorType(shape, attrs["dtype"])]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te, tirx

        variables = {d.name: d for x in inputs for d in x.shape if hasattr(d, "name")}
        dtype = attrs["dtype"]

        def expression(element):
            if isinstance(element, int):
                return tirx.const(element, dtype)
            return _to_tir(ast.parse(element, mode="eval").body, variables, tirx).astype(dtype)

        values = [expression(e) for e in attrs["elements"]]
        if attrs["scalar"]:
            return [te.compute((), lambda: values[0], name="dim_values")]

        def element(i):
            result = values[-1]
            for index in range(len(values) - 2, -1, -1):
                result = tirx.Select(i == index, values[index], result)
            return result

        return [te.compute((len(values),), element, name="dim_values")]


def _to_tir(node, variables, tirx):
    if isinstance(node, ast.Name):
        return variables[node.id]
    if isinstance(node, ast.Constant):
        return tirx.const(int(node.value), "int32")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_to_tir(node.operand, variables, tirx)
    left, right = _to_tir(node.left, variables, tirx), _to_tir(node.right, variables, tirx)
    if isinstance(node.op, ast.FloorDiv):
        return tirx.floordiv(left, right)
    return {ast.Add: left + right, ast.Sub: left - right, ast.Mult: left * right}[type(node.op)]
