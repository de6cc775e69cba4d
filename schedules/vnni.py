"""AVX512-VNNI: which targets have it, and its uint8 x int8 dot product (vpdpbusd: 4 pairs
into each of 16 int32 lanes), for the integer kernels that use it where present."""
from __future__ import annotations

from typing import Any

VPDPBUSD = "llvm.x86.avx512.vpdpbusd.512"

# LLVM CPU names with AVX512-VNNI (vpdpbusd on 512-bit vectors).
_VNNI_CPUS = ("cascadelake", "cooperlake", "icelake-client", "icelake-server", "tigerlake", "rocketlake",
              "sapphirerapids", "emeraldrapids", "graniterapids", "graniterapids-d", "diamondrapids",
              "znver4", "znver5")


def has_vnni(target) -> bool:
    """Whether the LLVM target may use AVX512-VNNI: its mcpu implies it, or its mattr adds it."""
    config = target.json if hasattr(target, "json") else dict(target)
    mattr = config.get("mattr") or []
    mattr = [mattr] if isinstance(mattr, str) else list(mattr)
    if "-avx512vnni" in mattr:
        return False
    return str(config.get("mcpu", "")) in _VNNI_CPUS or "+avx512vnni" in mattr


def vpdpbusd(accumulators: Any, four_uint8: Any, weights: Any) -> Any:
    """accumulators (int32x16) + per lane the dot product of the 4 uint8 (uint8x4, the same
    for every lane) with that lane's 4 int8 of `weights` (int8x64)."""
    from convrnn.compiler.tvm_adapter import tirx

    broadcast = tirx.reinterpret("int8x64", tirx.Broadcast(tirx.reinterpret("int32", four_uint8), 16))
    return tirx.call_llvm_pure_intrin("int32x16", VPDPBUSD, accumulators, broadcast, weights)
