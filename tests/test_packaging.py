"""The wheel: built from a clean copy of the sources, installed into a fresh venv, every module
importable from there (not from the checkout), the `convrnn` command runnable."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def source_modules() -> set[str]:
    """Every module under the folders pyproject maps into the convrnn namespace."""
    modules = set()
    for package, folder in PYPROJECT["tool"]["setuptools"]["package-dir"].items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            if "__pycache__" in parts:
                continue
            modules.add(".".join((package,) + (parts[:-1] if parts[-1] == "__init__" else parts)))
    return modules


def wheel_modules(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if n.endswith(".py")]
    return {n[:-3].replace("/", ".").removesuffix(".__init__") for n in names}


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv python, wheel path) with convrnn installed from a freshly built wheel."""
    work = tmp_path_factory.mktemp("packaging")
    source = work / "source"  # a clean copy: a stale build/ in the checkout could leak old files
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in PYPROJECT["tool"]["setuptools"]["package-dir"].values():
        shutil.copytree(ROOT / folder, source / folder, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, source / name)
    dist = work / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(source)],
                   check=True, cwd=work)
    (wheel,) = dist.glob("convrnn-*.whl")
    # This environment's site-packages (after the venv's own) supply TVM, numpy and onnx without a
    # reinstall; as plain path entries their .pth files, the checkout's editable finder among
    # them, are not run, so convrnn itself can only come from the wheel.
    venv.create(work / "venv", with_pip=True)
    python = work / "venv" / "bin" / "python"
    site_packages = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                   check=True, capture_output=True, text=True).stdout.strip()
    parent = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site_packages) / "_parent_environment.pth").write_text("\n".join(sorted(parent)) + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)], check=True, cwd=work)
    return python, wheel


def test_wheel_holds_every_module(installed):
    _, wheel = installed
    missing = source_modules() - wheel_modules(wheel)
    assert not missing, f"modules dropped from the wheel (add their packages to pyproject): {sorted(missing)}"
    assert not any(m.split(".")[0] != "convrnn" for m in wheel_modules(wheel)), "bare top-level package in the wheel"


def test_every_module_imports_from_the_venv(installed):
    python, wheel = installed
    script = ("import importlib, sys\n"
              "for name in sys.argv[1:]:\n"
              "    importlib.import_module(name)\n"
              "import convrnn.compiler\n"
              "print(convrnn.compiler.__file__)\n")
    result = subprocess.run([str(python), "-c", script, *sorted(wheel_modules(wheel))], cwd=python.parent,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).is_relative_to(python.parent.parent), result.stdout


def test_cli_help_runs(installed):
    python, _ = installed
    result = subprocess.run([str(python.parent / "convrnn"), "--help"], capture_output=True, text=True,
                            cwd=python.parent, env=dict(os.environ, PATH=f"{python.parent}:{os.environ['PATH']}"))
    assert result.returncode == 0, result.stderr
    assert "compile" in result.stdout
