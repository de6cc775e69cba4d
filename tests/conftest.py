import collections
import os
import re

# Check the IR's invariants after every pass of every compile in the test suite.
os.environ.setdefault("CONVRNN_VERIFY", "1")
# One TVM thread per test process: xdist already runs a process per core, and more threads
# than cores would make every parallel kernel wait on descheduled ones. The multi-threaded
# paths are checked in subprocesses with more threads (tests/ops/test_recurrent_threads.py).
os.environ.setdefault("TVM_NUM_THREADS", "1")

_CONFORMANCE_ID = re.compile(r"conformance\.py::test_\w+\[(?P<op>[A-Za-z]+)-")


def pytest_terminal_summary(terminalreporter):
    """ONNX conformance pass counts per op, for the release note (works under xdist too)."""
    counts = collections.defaultdict(collections.Counter)
    for outcome in ("passed", "failed", "xfailed", "xpassed"):
        for report in terminalreporter.stats.get(outcome, []):
            match = _CONFORMANCE_ID.search(getattr(report, "nodeid", ""))
            if match and getattr(report, "when", "call") == "call":
                counts[match.group("op")][outcome] += 1
    if not counts:
        return
    terminalreporter.section("ONNX conformance node cases per op (passed/run)")
    cells = [f"{op} {c['passed']}/{sum(c.values())}" for op, c in sorted(counts.items())]
    for start in range(0, len(cells), 8):
        terminalreporter.write_line(", ".join(cells[start:start + 8]))
    total = collections.Counter()
    for c in counts.values():
        total.update(c)
    terminalreporter.write_line(f"total {total['passed']}/{sum(total.values())}")
