"""Imports run one way: the runtime needs nothing of the compiler side; the frontend and the op
definitions (semantics, the same for every target) import no target's schedules."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TARGET_PACKAGES = ("convrnn.schedules.cpu", "convrnn.schedules.cuda")


def imports_of(path: Path) -> set[str]:
    """Every convrnn module a file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.startswith("convrnn.")}


def offending(folder: str, forbidden: tuple) -> dict[str, list[str]]:
    files = sorted((ROOT / folder).rglob("*.py"))
    assert files, folder
    found = {str(f.relative_to(ROOT)): sorted(n for n in imports_of(f) if n.startswith(forbidden)) for f in files}
    return {path: names for path, names in found.items() if names}


def test_the_runtime_imports_nothing_from_the_frontend_the_compiler_or_the_schedules():
    assert offending("runtime", ("convrnn.frontend", "convrnn.compiler", "convrnn.schedules")) == {}


def test_the_frontend_imports_no_target_schedules():
    assert offending("frontend", TARGET_PACKAGES) == {}


def test_the_target_packages_are_the_implementation_tables():
    from convrnn.schedules.implementations import PACKAGES

    assert set(PACKAGES.values()) == set(TARGET_PACKAGES)


@pytest.mark.parametrize("source", ["import convrnn.schedules.cpu.dense\n",
                                    "def f():\n    from convrnn.schedules.cpu.dense import dense_compute\n"])
def test_the_check_sees_imports_at_the_top_and_inside_functions(tmp_path, source):
    path = tmp_path / "module.py"
    path.write_text(source)
    assert any(name.startswith(TARGET_PACKAGES) for name in imports_of(path))
