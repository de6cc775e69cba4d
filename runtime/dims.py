"""Symbolic dims at run time: plain names are bound from the inputs' shapes; derived ones
(formulas such as "(frames - 1) // 2 + 1", written by the compiler's `window_dim`) are
computed from them. Formulas are parsed, never eval'd: names, integers, + - * //, unary -, and
max/min of two formulas only.
"""
from __future__ import annotations

import ast
import functools
from typing import Callable

Formula = Callable[[dict], int]

_OPERATORS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
              ast.Mult: lambda a, b: a * b, ast.FloorDiv: lambda a, b: a // b}
_FUNCTIONS = {"max": max, "min": min}


def is_derived(dim: str) -> bool:
    return not dim.isidentifier()


@functools.lru_cache(maxsize=None)
def formula(dim: str) -> Formula:
    """`dims -> value` for a dim name or formula; ValueError for anything else."""
    try:
        tree = ast.parse(dim, mode="eval").body
    except SyntaxError:
        raise ValueError(f"{dim!r} is not a dim formula") from None
    return _compile(tree, dim)


def _compile(node: ast.AST, text: str) -> Formula:
    if isinstance(node, ast.Name):
        return lambda dims: dims[node.id]
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return lambda dims: node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        operand = _compile(node.operand, text)
        return lambda dims: -operand(dims)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        apply, left, right = _OPERATORS[type(node.op)], _compile(node.left, text), _compile(node.right, text)
        return lambda dims: apply(left(dims), right(dims))
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS
            and len(node.args) == 2 and not node.keywords):
        apply, first, second = _FUNCTIONS[node.func.id], _compile(node.args[0], text), _compile(node.args[1], text)
        return lambda dims: apply(first(dims), second(dims))
    raise ValueError(f"{text!r} is not a dim formula (names, integers, + - * //, unary -, max, min only)")


def names_in(dim: str) -> set[str]:
    """The plain names a dim depends on (not the functions it calls)."""
    tree = ast.parse(dim, mode="eval")
    functions = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and id(node) not in functions}
