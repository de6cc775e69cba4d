"""The host CPU's feature flags as the operating system reports them: the compiler drops from
its host target what the CPU lacks, and the runtime refuses an artifact that needs one of them
(its kernels would stop on an illegal instruction)."""
from __future__ import annotations

from typing import Optional


def host_cpu_flags() -> Optional[frozenset[str]]:
    """/proc/cpuinfo's flags (None where the system has no such file)."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return None
