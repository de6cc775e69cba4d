"""Compilation targets: the user's spelling ("cpu", "cuda" or a TVM target JSON) to one description.

A leaf module: TVM is imported only to ask LLVM for the host CPU's name.
"""
from __future__ import annotations

import json
import platform
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from convrnn.compiler.errors import TargetError

KNOWN_KINDS = ("llvm", "cuda")


@dataclass(frozen=True)
class Target:
    """What the compiler needs to know about where kernels will run."""

    config: tuple[tuple[str, Any], ...]  # the TVM target JSON as sorted items (hashable)

    @property
    def json(self) -> dict[str, Any]:
        return dict(self.config)

    @property
    def kind(self) -> str:
        return self.json["kind"]

    @property
    def device_type(self) -> str:
        return "cpu" if self.kind == "llvm" else "cuda"

    @property
    def vector_lanes(self) -> int:
        """float32 lanes of the widest vector unit the schedules may assume."""
        if self.kind != "llvm":
            return 1
        features = " ".join(str(self.json.get(k, "")) for k in ("mcpu", "mattr"))
        if any(cpu in features for cpu in _AVX512_CPUS) or "avx512f" in features:
            return 16
        return 8

    @property
    def is_x86(self) -> bool:
        """An LLVM target for x86: an x86 triple, or none (the host's) on an x86 host."""
        if self.kind != "llvm":
            return False
        triple = str(self.json.get("mtriple", "")) or platform.machine().lower()
        return triple.startswith(("x86_64", "amd64", "i386", "i686"))

    def __str__(self) -> str:
        return json.dumps(self.json, sort_keys=True)


# LLVM CPU names that imply AVX-512F.
_AVX512_CPUS = ("skylake-avx512", "cascadelake", "cooperlake", "icelake", "tigerlake",
                "sapphirerapids", "emeraldrapids", "graniterapids", "znver4", "znver5",
                "rocketlake", "cannonlake", "x86-64-v4")


@lru_cache(maxsize=1)
def host_cpu_name() -> str:
    from convrnn.compiler import tvm_adapter

    return tvm_adapter.host_cpu_name()


def parse_target(spec: "str | dict | Target | None") -> Target:
    """'cpu' (the host's LLVM target with its detected mcpu), 'cuda', or a TVM target JSON."""
    if isinstance(spec, Target):
        return spec
    if spec is None or spec == "cpu" or spec == "llvm":
        config: dict[str, Any] = {"kind": "llvm", "mcpu": host_cpu_name()}
    elif spec == "cuda":
        config = {"kind": "cuda"}
    elif isinstance(spec, dict):
        config = dict(spec)
    elif isinstance(spec, str):
        try:
            config = json.loads(spec)
        except json.JSONDecodeError:
            raise TargetError(f"unknown target {spec!r}: use 'cpu', 'cuda' or a TVM target JSON "
                              f"such as '{{\"kind\": \"llvm\", \"mcpu\": \"cascadelake\"}}'") from None
        if not isinstance(config, dict):
            raise TargetError(f"target JSON must be an object, got {spec!r}")
    else:
        raise TargetError(f"unknown target {spec!r}")
    if config.get("kind") not in KNOWN_KINDS:
        raise TargetError(f"unsupported target kind {config.get('kind')!r}: convrnn builds for {', '.join(KNOWN_KINDS)}")
    return Target(tuple(sorted(config.items(), key=lambda kv: kv[0])))
