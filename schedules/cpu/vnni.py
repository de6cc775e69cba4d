"""AVX512-VNNI: which targets have it, and its uint8 x int8 dot product (vpdpbusd: 4 pairs
into each of 16 int32 lanes), for the integer kernels that use it where present."""
from __future__ import annotations

from typing import Any

VPDPBUSD = "llvm.x86.avx512.vpdpbusd.512"


def has_vnni(target) -> bool:
    """Whether kernels for the LLVM target (a convrnn Target) may use AVX512-VNNI."""
    return target.has_feature("avx512vnni")


def vpdpbusd(accumulators: Any, four_uint8: Any, weights: Any) -> Any:
    """accumulators (int32x16) + per lane the dot product of the 4 uint8 (uint8x4, the same
    for every lane) with that lane's 4 int8 of `weights` (int8x64)."""
    from convrnn.compiler.tvm_adapter import tirx

    broadcast = tirx.reinterpret("int8x64", tirx.Broadcast(tirx.reinterpret("int32", four_uint8), 16))
    return tirx.call_llvm_pure_intrin("int32x16", VPDPBUSD, accumulators, broadcast, weights)
