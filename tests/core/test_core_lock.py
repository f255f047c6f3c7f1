"""One writer per folder, read-only study folders, stores locked by another program."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tsdividend.cli import app
from tsdividend.errors import StorageError
from tsdividend.lock import LOCK_FILE, FolderBusyError, FolderLock
from tsdividend.results import ResultRow, ResultStore

runner = CliRunner()


def _holder(folder: Path) -> subprocess.Popen:
    code = ("import sys, time\nfrom tsdividend.lock import FolderLock\n"
            f"with FolderLock({str(folder)!r}, 'pretrain'):\n"
            "    print('held', flush=True)\n    time.sleep(120)\n")  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_writer_is_refused_and_a_dead_holders_lock_taken_over(tmp_path) -> None:
    proc = _holder(tmp_path)
    try:
        with pytest.raises(FolderBusyError, match=rf"in use by PID {proc.pid} on "), \
                FolderLock(tmp_path, "run"):  # fmt: skip
            pass
        args = ["pretrain", "--out", str(tmp_path), "--steps", "1", "--depth", "1",
                "--d-model", "16", "--device", "cpu"]  # fmt: skip
        res = runner.invoke(app, args)
        assert res.exit_code == 2 and f"PID {proc.pid}" in res.output
        assert len(res.output.strip().splitlines()) == 1
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with FolderLock(tmp_path, "run"):  # the kill released it: taken over at once
        assert f'"pid": {os.getpid()}' in (tmp_path / LOCK_FILE).read_text()


def _store_with_a_row(folder: Path) -> Path:
    path = folder / "results.sqlite"
    row = ResultRow("e", "random", "classification", "d", "probe", 0, "accuracy", 0.5, True,
                    study="s")  # fmt: skip
    with ResultStore(path) as store:
        store.add_cell({k: getattr(row, k) for k in ("study", "encoder_id", "task", "dataset",
                                                      "regime", "seed")}, [row])  # fmt: skip
    return path


def test_a_read_only_study_folder_is_read_without_writing(tmp_path, monkeypatch) -> None:
    path = _store_with_a_row(tmp_path)
    for side in ("-wal", "-shm"):
        Path(f"{path}{side}").unlink(missing_ok=True)
    before = sorted(p.name for p in tmp_path.iterdir())
    import tsdividend.results.store as store_mod

    monkeypatch.setattr(store_mod, "writable", lambda folder: False)  # as if read-only
    res = runner.invoke(app, ["results", str(tmp_path), "--json"])
    assert res.exit_code == 0 and '"value": 0.5' in res.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no -shm, no -wal made


def test_report_out_writes_elsewhere(tmp_path) -> None:
    _store_with_a_row(tmp_path / "study")
    res = runner.invoke(app, ["report", str(tmp_path / "study"), "--out", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "r" / "report.md").is_file()
    written = {p.name for p in (tmp_path / "study").iterdir()}
    assert not written & {"report.md", "report.html", "plots", "tables", "report_meta.json"}


def test_a_store_locked_by_another_program_is_waited_on_then_named(tmp_path, monkeypatch,
                                                                   capsys) -> None:  # fmt: skip
    path = _store_with_a_row(tmp_path)
    other = sqlite3.connect(path)
    other.execute("BEGIN EXCLUSIVE")  # another program holds the write lock
    monkeypatch.setenv("TSDIVIDEND_LOCK_WAIT", "1")
    row = ResultRow("f", "random", "classification", "d", "probe", 0, "accuracy", 0.5, True,
                    study="s")  # fmt: skip
    start = time.monotonic()
    with pytest.raises(StorageError, match="stayed locked by another program"):  # noqa: SIM117
        with ResultStore(path) as store:
            store.add_cell({"study": "s", "encoder_id": "f", "task": "classification",
                            "dataset": "d", "regime": "probe", "seed": 0}, [row])  # fmt: skip
    assert 1.0 <= time.monotonic() - start < 10
    assert "waiting for" in capsys.readouterr().err
    other.rollback()
    other.close()
