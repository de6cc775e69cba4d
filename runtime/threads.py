"""How many threads TVM's pool starts with: TVM_NUM_THREADS when the user set it, else one
per physical core this process may run on.

TVM's own default is half the logical CPUs (it assumes two hyperthreads per core), which is
one thread on a 2-core machine without SMT. TVM reads the variable once, when it is first
imported, so every convrnn module that imports TVM calls `set_default_threads` first.
"""
from __future__ import annotations

import os
from pathlib import Path


def physical_cores() -> int:
    """Distinct (package, core) pairs among the CPUs this process may use; the CPU count
    where the topology is not readable (not Linux)."""
    try:
        cpus = os.sched_getaffinity(0)
    except AttributeError:
        return os.cpu_count() or 1
    cores = set()
    for cpu in cpus:
        topology = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            cores.add(((topology / "physical_package_id").read_text().strip(), (topology / "core_id").read_text().strip()))
        except OSError:
            return len(cpus)
    return max(1, len(cores))


def pool_threads() -> int:
    """The threads TVM's pool has (or will have) in this process."""
    try:
        return max(1, int(os.environ["TVM_NUM_THREADS"]))
    except (KeyError, ValueError):
        return physical_cores()


def set_default_threads() -> None:
    os.environ.setdefault("TVM_NUM_THREADS", str(physical_cores()))
