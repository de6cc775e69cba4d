"""The artifact format: a directory holding model.so, plan.json and weights.npz.

plan.json names every file with its size and SHA-256, so a truncated or corrupted artifact
is detected before anything is loaded. Writing goes to a temporary sibling directory that
replaces the destination only when complete: an interrupted compile leaves nothing half-written.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from convrnn.runtime.element_types import as_storage
from convrnn.runtime.errors import ArtifactError

FORMAT_NAME = "convrnn-artifact"
FORMAT_VERSION = 1
PLAN_FILE = "plan.json"
LIBRARY_FILE = "model.so"
WEIGHTS_FILE = "weights.npz"


def file_digest(path: Path) -> dict[str, Any]:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return {"bytes": path.stat().st_size, "sha256": sha.hexdigest()}


def write_artifact(destination: "str | os.PathLike", plan: dict[str, Any], constants: dict[str, np.ndarray],
                   write_library: Callable[[str], None]) -> Path:
    """Write an artifact atomically. write_library(path) writes model.so."""
    destination = Path(destination)
    if destination.exists() and not (destination / PLAN_FILE).exists() and any(destination.iterdir()):
        raise ArtifactError(f"{destination} exists and is not a convrnn artifact; refusing to overwrite it")
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.partial-", dir=destination.parent))
    try:
        write_library(str(staging / LIBRARY_FILE))
        # bfloat16/float8/... weights are stored as their bits (the plan names their type)
        np.savez(staging / WEIGHTS_FILE, **{key: as_storage(np.asarray(array)) for key, array in constants.items()})
        plan = dict(plan, format=FORMAT_NAME, version=FORMAT_VERSION,
                    files={name: file_digest(staging / name) for name in (LIBRARY_FILE, WEIGHTS_FILE)})
        (staging / PLAN_FILE).write_text(json.dumps(sign_plan(plan), indent=1))
        _replace_directory(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return destination


def _replace_directory(staging: Path, destination: Path) -> None:
    if destination.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{destination.name}.old-", dir=destination.parent))
        os.rename(destination, old / "artifact")
        os.rename(staging, destination)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(staging, destination)


def plan_checksum(plan: dict[str, Any]) -> str:
    unsigned = {k: v for k, v in plan.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(unsigned, sort_keys=True).encode()).hexdigest()


def sign_plan(plan: dict[str, Any]) -> dict[str, Any]:
    """The plan with a checksum over its own content, so an altered plan.json is detected."""
    return dict(plan, checksum=plan_checksum(plan))


def read_plan(path: "str | os.PathLike") -> dict[str, Any]:
    """plan.json of an artifact, after checking its format, version and every file's checksum."""
    path = Path(path)
    if not path.is_dir():
        raise ArtifactError(f"{path} is not a convrnn artifact directory")
    try:
        plan = json.loads((path / PLAN_FILE).read_text())
    except FileNotFoundError:
        raise ArtifactError(f"{path} is not a convrnn artifact (no {PLAN_FILE})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path / PLAN_FILE} is corrupt: {exc}") from None
    if not isinstance(plan, dict) or plan.get("format") != FORMAT_NAME:
        raise ArtifactError(f"{path / PLAN_FILE} is not a convrnn plan")
    if plan.get("version") != FORMAT_VERSION:
        raise ArtifactError(f"{path} has artifact format version {plan.get('version')}; this convrnn reads "
                            f"version {FORMAT_VERSION}: recompile the model")
    if plan.get("checksum") != plan_checksum(plan):
        raise ArtifactError(f"{path / PLAN_FILE} is corrupt (checksum mismatch)")
    for name, expected in plan.get("files", {}).items():
        file_path = path / name
        if not file_path.is_file():
            raise ArtifactError(f"{path} is incomplete: {name} is missing")
        actual = file_digest(file_path)
        if actual["bytes"] != expected.get("bytes"):
            raise ArtifactError(f"{file_path} is truncated or altered ({actual['bytes']} bytes, "
                                f"expected {expected.get('bytes')})")
        if actual["sha256"] != expected.get("sha256"):
            raise ArtifactError(f"{file_path} is corrupt (checksum mismatch)")
    if set(plan.get("files", {})) != {LIBRARY_FILE, WEIGHTS_FILE}:
        raise ArtifactError(f"{path / PLAN_FILE} does not list the artifact's files")
    return plan


def read_constants(path: "str | os.PathLike") -> dict[str, np.ndarray]:
    try:
        with np.load(Path(path) / WEIGHTS_FILE, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ArtifactError(f"{Path(path) / WEIGHTS_FILE} is corrupt: {exc}") from None
