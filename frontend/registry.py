"""ONNX converters, versioned by opset, discovered from the modules in frontend/ops/.

A converter is registered for an ONNX op type and the first opset (`since`) whose semantics
it implements; for a model of opset N the converter with the largest `since` <= N is used.
"""
from __future__ import annotations

from typing import Callable, Optional

from convrnn.compiler.discovery import import_all

Converter = Callable[..., list]

_CONVERTERS: dict[str, list[tuple[int, Converter]]] = {}

# Opsets of the default ONNX domain that convrnn claims to import.
MIN_OPSET = 7
MAX_OPSET = 22


def converter(*op_types: str, since: int = 1) -> Callable[[Converter], Converter]:
    def register(fn: Converter) -> Converter:
        for op_type in op_types:
            versions = _CONVERTERS.setdefault(op_type, [])
            if any(s == since for s, _ in versions):
                raise TypeError(f"two converters for {op_type} since opset {since}")
            versions.append((since, fn))
            versions.sort(key=lambda item: item[0])
        return fn

    return register


def _discover() -> None:
    import_all("convrnn.frontend.ops")


def find_converter(op_type: str, opset: int) -> Optional[Converter]:
    _discover()
    chosen = None
    for since, fn in _CONVERTERS.get(op_type, []):
        if since <= opset:
            chosen = fn
    return chosen


def supported_op_types() -> list[str]:
    _discover()
    return sorted(_CONVERTERS)
