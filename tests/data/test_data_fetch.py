"""``fetch`` against a local HTTP server on 127.0.0.1 (no internet): verify, atomic, idempotent."""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from tsdividend.data import DataError, fetch, load_dataset
from tsdividend.data import catalog as catalog_mod
from tsdividend.data import download as download_mod
from tsdividend.data.sources import source_for

REL = "forecasting/national_illness.csv"


class _Handler(SimpleHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        type(self).requests.append(self.path)
        super().do_GET()

    def log_message(self, *args: object) -> None:  # keep pytest output clean
        pass


@pytest.fixture
def server(tmp_path) -> Iterator[tuple[str, Path, list[str]]]:
    """(base_url, folder served as the raw-GitHub host, list of requested paths)."""
    served = tmp_path / "served"
    served.mkdir()
    handler = type("H", (_Handler,), {"requests": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(served)))
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}", served, handler.requests
    finally:
        httpd.shutdown()
        httpd.server_close()


def _publish(served: Path, rel: str, payload: bytes) -> None:
    """Place ``payload`` where the pinned source URL of ``rel`` points, under the local host."""
    src = source_for(rel)
    assert src is not None
    target = served / src.repo / src.ref / src.path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(payload)


def _pin(monkeypatch, rel: str, payload: bytes) -> None:
    """Make the catalog expect exactly ``payload`` for ``rel`` (the real table pins real files)."""
    table = {rel: (len(payload), hashlib.sha256(payload).hexdigest())}
    monkeypatch.setattr(catalog_mod, "manifest", lambda: table)
    monkeypatch.setattr(download_mod, "manifest", lambda: table)


def _ili_csv(n: int = 120) -> bytes:
    rows = [
        f"2002-01-{i % 28 + 1:02d} 00:00:00,{np.sin(i):.5f},{i % 7}.5,{100 + i}" for i in range(n)
    ]
    return ("date,% WEIGHTED ILI,AGE 0-4,OT\n" + "\n".join(rows)).encode()


def test_fetch_verifies_writes_and_loads(tmp_path, server, monkeypatch):
    base, served, requests = server
    payload = _ili_csv()
    _publish(served, REL, payload)
    _pin(monkeypatch, REL, payload)
    cache = tmp_path / "cache"
    root = fetch("forecast/ILI", cache, base_url=base, progress=False)
    assert root == cache and (cache / REL).read_bytes() == payload
    assert len(requests) == 1
    ds = load_dataset("forecast/ILI", cache)
    assert ds.time_splits["train"] == (0, int(0.7 * 120)) and ds.n_channels == 3
    fetch("forecast/ILI", cache, base_url=base, progress=False)
    assert len(requests) == 1  # present with the right hash: not downloaded again


def test_hash_mismatch_leaves_no_file(tmp_path, server, monkeypatch):
    base, served, _ = server
    _publish(served, REL, _ili_csv() + b"\n2099-01-01 00:00:00,1,2,3")  # tampered copy
    _pin(monkeypatch, REL, _ili_csv())
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match=r"sha256 mismatch .*not written"):
        fetch("forecast/ILI", cache, base_url=base, progress=False)
    assert not (cache / REL).exists()
    assert list((cache / "forecasting").iterdir()) == []  # no temporary file left behind


def test_corrupted_local_file_is_replaced(tmp_path, server, monkeypatch):
    base, served, requests = server
    payload = _ili_csv()
    _publish(served, REL, payload)
    _pin(monkeypatch, REL, payload)
    (tmp_path / "forecasting").mkdir()
    (tmp_path / REL).write_bytes(b"date,x\n1,2\n")
    fetch("forecast/ILI", tmp_path, base_url=base, progress=False)
    assert (tmp_path / REL).read_bytes() == payload and len(requests) == 1


def test_http_error_names_url_and_leaves_no_file(tmp_path, server, monkeypatch):
    base, _, _ = server  # nothing published: 404
    _pin(monkeypatch, REL, _ili_csv())
    with pytest.raises(DataError, match=r"national_illness.csv: HTTP 404"):
        fetch("forecast/ILI", tmp_path, base_url=base, progress=False)
    assert list((tmp_path / "forecasting").iterdir()) == []


def test_unfetchable_file_fails_before_any_download(tmp_path):
    with pytest.raises(DataError, match=r"ECG5000_TEST.tsv: no pinned per-file public URL"):
        fetch("ucr/ECG5000", tmp_path, base_url="http://127.0.0.1:9", progress=False)
    assert not (tmp_path / "ucr").exists()


def test_aeon_shipped_files_are_copied_without_network(tmp_path):
    root = fetch("uea/BasicMotions", tmp_path, base_url="http://127.0.0.1:9", progress=False)
    assert (root / "uea/BasicMotions/BasicMotions_TRAIN.ts").is_file()
    ds = load_dataset("uea/BasicMotions", root)
    assert ds.meta["source"] == "data-dir" and ds.X.shape == (80, 6, 100)


def test_unknown_name_is_rejected():
    with pytest.raises(DataError, match="valid patterns"):
        fetch("ucr/Gun/Point", progress=False)
