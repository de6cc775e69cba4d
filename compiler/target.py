"""Compilation targets: the user's spelling ("cpu", "cuda" or a TVM target JSON) to one description.

A leaf module: TVM is imported only to ask LLVM about CPU names and their features.
"""
from __future__ import annotations

import json
import platform
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from convrnn.compiler.errors import TargetError
from convrnn.runtime.cpu_flags import host_cpu_flags

KNOWN_KINDS = ("llvm", "cuda")
# The NVIDIA architectures the CUDA 13 toolkit builds for, and the default: H100 and H200.
CUDA_ARCHITECTURES = ("sm_75", "sm_80", "sm_86", "sm_87", "sm_89", "sm_90", "sm_100", "sm_103", "sm_120")
DEFAULT_CUDA_ARCH = "sm_90"
# Per-block limits the GPU schedules read (TVM's dlight rules among them): the same on all of
# them (static shared memory; more is opted into per kernel, as shared.dyn).
CUDA_LIMITS = {"max_threads_per_block": 1024, "max_shared_memory_per_block": 48 * 1024, "thread_warp_size": 32}


@dataclass(frozen=True)
class Target:
    """What the compiler needs to know about where kernels will run."""

    config: tuple[tuple[str, Any], ...]  # the TVM target JSON as sorted items (hashable)

    @property
    def json(self) -> dict[str, Any]:
        return {key: list(value) if isinstance(value, tuple) else value for key, value in self.config}

    @property
    def kind(self) -> str:
        return self.json["kind"]

    @property
    def device_type(self) -> str:
        return "cpu" if self.kind == "llvm" else "cuda"

    def has_feature(self, feature: str) -> bool:
        """Whether kernels for this LLVM target may use an LLVM CPU feature ("avx512f",
        "avx512vnni"): its mcpu implies it and its mattr does not take it away, or mattr adds it."""
        return self.kind == "llvm" and feature in _cpu_features(self.config)

    def required_cpu_flags(self) -> list[str]:
        """The features its kernels may use that a CPU (or a virtual machine) may lack, as
        /proc/cpuinfo names them: an artifact's plan records them for the runtime to check."""
        if not self.is_x86:
            return []
        return sorted(flag for flag, feature in _MASKABLE_FEATURES.items() if self.has_feature(feature))

    @property
    def vector_lanes(self) -> int:
        """float32 lanes of the widest vector unit the schedules may assume."""
        if self.kind != "llvm":
            return 1
        return 16 if self.has_feature("avx512f") else 8

    @property
    def is_x86(self) -> bool:
        """An LLVM target for x86: an x86 triple, or none (the host's) on an x86 host."""
        if self.kind != "llvm":
            return False
        triple = str(self.json.get("mtriple", "")) or platform.machine().lower()
        return triple.startswith(("x86_64", "amd64", "i386", "i686"))

    def __str__(self) -> str:
        return json.dumps(self.json, sort_keys=True)


@lru_cache(maxsize=64)
def _cpu_features(config: tuple[tuple[str, Any], ...]) -> frozenset[str]:
    from convrnn.compiler import tvm_adapter

    return tvm_adapter.cpu_features(Target(config).json)


@lru_cache(maxsize=1)
def host_cpu_name() -> str:
    from convrnn.compiler import tvm_adapter

    return tvm_adapter.host_cpu_name()


# The features, as /proc/cpuinfo names them and as LLVM does, that LLVM infers from the CPU's
# family and model but a hypervisor may hide (a KVM guest on an AVX-512 part without AVX-512):
# kernels that used them there would stop on an illegal instruction.
_MASKABLE_FEATURES = {
    "avx": "avx", "avx2": "avx2", "fma": "fma", "f16c": "f16c",
    "avx512f": "avx512f", "avx512bw": "avx512bw", "avx512dq": "avx512dq", "avx512vl": "avx512vl",
    "avx512cd": "avx512cd", "avx512ifma": "avx512ifma", "avx512vbmi": "avx512vbmi",
    "avx512_vbmi2": "avx512vbmi2", "avx512_vnni": "avx512vnni", "avx512_bitalg": "avx512bitalg",
    "avx512_vpopcntdq": "avx512vpopcntdq", "avx512_bf16": "avx512bf16", "avx512_fp16": "avx512fp16",
    "avx_vnni": "avxvnni", "amx_tile": "amx-tile", "amx_int8": "amx-int8", "amx_bf16": "amx-bf16",
}


def host_config() -> dict[str, Any]:
    """The host's LLVM target: its CPU name, less the features that name implies but the host lacks."""
    config: dict[str, Any] = {"kind": "llvm", "mcpu": host_cpu_name()}
    flags = host_cpu_flags()
    if flags is None or not Target(tuple(config.items())).is_x86:
        return config
    implied = _cpu_features(tuple(sorted(config.items())))
    hidden = [llvm for flag, llvm in _MASKABLE_FEATURES.items() if llvm in implied and flag not in flags]
    if hidden:
        config["mattr"] = tuple("-" + feature for feature in hidden)
    return config


def _cuda_config(config: dict[str, Any]) -> dict[str, Any]:
    """A CUDA target with its architecture checked (DEFAULT_CUDA_ARCH when none is named) and
    the per-block limits filled in where the JSON does not set them."""
    arch = config.get("arch", DEFAULT_CUDA_ARCH)
    if arch not in CUDA_ARCHITECTURES:
        raise TargetError(f"unknown CUDA architecture {arch!r}: use one of {', '.join(CUDA_ARCHITECTURES)}")
    return {**CUDA_LIMITS, **config, "arch": arch}


def parse_target(spec: "str | dict | Target | None") -> Target:
    """'cpu' (the host's LLVM target with its detected mcpu), 'cuda', or a TVM target JSON."""
    if isinstance(spec, Target):
        return spec
    if spec is None or spec == "cpu" or spec == "llvm":
        config = host_config()
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
    if config["kind"] == "cuda":
        config = _cuda_config(config)
    hashable = {key: tuple(value) if isinstance(value, list) else value for key, value in config.items()}
    return Target(tuple(sorted(hashable.items(), key=lambda kv: kv[0])))
