"""Parquet shards: content, manifest, resume after SIGKILL, parameter checks, parallel writers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tsdividend.synth import generate, generate_sample, read_manifest, read_shards, write_shards
from tsdividend.synth.shards import shard_name


def rows(path: Path) -> list:
    return list(read_shards(path))


def test_roundtrip_and_manifest(tmp_path: Path) -> None:
    manifest_path = write_shards(
        "lmc", 25, 48, tmp_path, seed=2, shard_size=10, progress=False, n_channels=3
    )
    manifest = read_manifest(tmp_path)
    assert manifest_path == tmp_path / "manifest.json" and manifest["complete"]
    assert (manifest["kind"], manifest["n"], manifest["length"], manifest["seed"]) == (
        "lmc",
        25,
        48,
        2,
    )
    assert manifest["options"]["n_channels"] == 3 and manifest["package_version"]
    assert [(e["file"], e["start"], e["stop"]) for e in manifest["shards"]] == [
        (shard_name(0), 0, 10),
        (shard_name(1), 10, 20),
        (shard_name(2), 20, 25),
    ]
    got = rows(tmp_path)
    assert [r.index for r in got] == list(range(25))
    for r in got:
        assert r.labels is None
        np.testing.assert_array_equal(r.values, generate("lmc", r.index, 2, 48, n_channels=3))


def test_anomaly_shards_store_labels(tmp_path: Path) -> None:
    write_shards("anomaly", 6, 64, tmp_path, shard_size=4, progress=False)
    for r in rows(tmp_path):
        ref = generate_sample("anomaly", r.index, 0, 64)
        np.testing.assert_array_equal(r.values, ref.values)
        np.testing.assert_array_equal(r.labels, ref.labels)


KILL_SCRIPT = (
    "import sys; from tsdividend.synth import write_shards; "
    "write_shards('kernelsynth', 480, 256, sys.argv[1], seed=5, shard_size=40, progress=False)"
)


def test_resume_after_sigkill_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    out = tmp_path / "corpus"
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(out)])
    manifest = out / "manifest.json"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:  # kill as soon as the first shard is recorded
            if manifest.exists() and json.loads(manifest.read_text())["shards"]:
                break
            assert proc.poll() is None, "writer exited before the first shard"
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    killed = read_manifest(out)
    assert not killed["complete"], (
        "the writer finished before the kill: test is not exercising resume"
    )
    kept = {e["file"]: (out / e["file"]).stat().st_mtime_ns for e in killed["shards"]}
    with pytest.raises(ValueError, match="incomplete"):
        rows(out)

    write_shards("kernelsynth", 480, 256, out, seed=5, shard_size=40, progress=False)
    final = read_manifest(out)
    assert final["complete"] and [e["shard"] for e in final["shards"]] == list(range(12))
    for name, mtime in kept.items():  # finished shards were verified and kept, not rewritten
        assert (out / name).stat().st_mtime_ns == mtime
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["manifest.json"] + [shard_name(k) for k in range(12)]
    )
    got = rows(out)
    assert [r.index for r in got] == list(range(480))  # no duplicates, no gaps
    for r in got[::7]:
        np.testing.assert_array_equal(r.values, generate("kernelsynth", r.index, 5, 256))


def test_corrupted_or_missing_shards_are_regenerated(tmp_path: Path) -> None:
    write_shards("kernelsynth", 30, 32, tmp_path, shard_size=10, progress=False)
    reference = [r.values for r in rows(tmp_path)]
    (tmp_path / shard_name(1)).write_bytes(b"garbage")
    (tmp_path / shard_name(2)).unlink()
    (tmp_path / ".shard-00001.parquet.abc.part").write_bytes(b"stale temp file")
    with pytest.raises(ValueError, match="sha256"):
        rows(tmp_path)
    write_shards("kernelsynth", 30, 32, tmp_path, shard_size=10, progress=False)
    assert not list(tmp_path.glob(".*.part"))
    for a, b in zip(reference, [r.values for r in rows(tmp_path)], strict=True):
        np.testing.assert_array_equal(a, b)


def test_different_parameters_or_foreign_folder_is_an_error(tmp_path: Path) -> None:
    write_shards("kernelsynth", 10, 32, tmp_path, shard_size=5, progress=False)
    for kwargs, field in [
        ({"seed": 1}, "seed"),
        ({"shard_size": 2}, "shard_size"),
        ({"max_kernels": 2}, "options"),
    ]:
        with pytest.raises(ValueError, match=f"{field} is"):
            write_shards(
                "kernelsynth", 10, 32, tmp_path, progress=False, **{"shard_size": 5, **kwargs}
            )
    with pytest.raises(ValueError, match="n is 10 there but 11"):
        write_shards("kernelsynth", 11, 32, tmp_path, shard_size=5, progress=False)
    foreign = tmp_path / "other"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("hi")
    with pytest.raises(ValueError, match="not empty"):
        write_shards("kernelsynth", 10, 32, foreign, progress=False)
    with pytest.raises(ValueError, match="datasets"):
        write_shards("mixup", 10, 32, tmp_path / "m", progress=False, sources=np.ones((3, 40)))


def test_parallel_workers_write_identical_shards(tmp_path: Path) -> None:
    write_shards("kernelsynth", 40, 32, tmp_path / "a", shard_size=10, progress=False)
    write_shards("kernelsynth", 40, 32, tmp_path / "b", shard_size=10, progress=False, workers=2)
    sha = [[e["sha256"] for e in read_manifest(tmp_path / d)["shards"]] for d in "ab"]
    assert sha[0] == sha[1]
