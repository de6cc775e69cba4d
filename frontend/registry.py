"""ONNX converters, versioned by opset, discovered from the modules in frontend/ops/.

A converter is registered for an ONNX op type, its domain ("" is ONNX's default domain; others
such as "com.microsoft" are onnxruntime's contrib ops) and the first opset of that domain
(`since`) whose semantics it implements; for a model importing opset N of the domain the
converter with the largest `since` <= N is used.
"""
from __future__ import annotations

from typing import Callable, Optional

from convrnn.compiler.discovery import import_all

Converter = Callable[..., list]

_CONVERTERS: dict[tuple[str, str], list[tuple[int, Converter]]] = {}

# Opsets of the default ONNX domain that convrnn claims to import: up to the newest onnx 1.23
# defines, every claimed op's versions up to it reviewed (tests/frontend/test_opset_coverage.py).
MIN_OPSET = 7
MAX_OPSET = 28


def canonical_domain(domain: str) -> str:
    return "" if domain == "ai.onnx" else domain


def converter(*op_types: str, since: int = 1, domain: str = "") -> Callable[[Converter], Converter]:
    def register(fn: Converter) -> Converter:
        for op_type in op_types:
            versions = _CONVERTERS.setdefault((canonical_domain(domain), op_type), [])
            if any(s == since for s, _ in versions):
                raise TypeError(f"two converters for {domain}{'.' if domain else ''}{op_type} since opset {since}")
            versions.append((since, fn))
            versions.sort(key=lambda item: item[0])
        return fn

    return register


def _discover() -> None:
    import_all("convrnn.frontend.ops")


def find_converter(op_type: str, opset: int, domain: str = "") -> Optional[Converter]:
    _discover()
    chosen = None
    for since, fn in _CONVERTERS.get((canonical_domain(domain), op_type), []):
        if since <= opset:
            chosen = fn
    return chosen


def supported_op_types(domain: str = "") -> list[str]:
    _discover()
    return sorted(op for d, op in _CONVERTERS if d == canonical_domain(domain))


def supported_domains() -> set[str]:
    _discover()
    return {d for d, _ in _CONVERTERS}
