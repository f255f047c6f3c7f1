"""Study runner: rows, the encoder cache, resumption after a kill, local vs pool executors."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tsdividend.study.runner as runner_mod
from tsdividend.config import from_dict
from tsdividend.results.store import KEY, ResultStore
from tsdividend.study import StudyError, StudySpec, run_study

TINY = {
    "name": "tiny",
    "objectives": ["mae", "ntp"],
    "tasks": ["classification", "anomaly"],
    "datasets": {"classification": ["ucr/GunPoint"], "anomaly": ["anomaly/ucr/135"]},
    "depths": [1],
    "regimes": ["probe"],
    "train": {"steps": 4, "batch_size": 8, "data": {"context": 64},
              "encoder": {"d_model": 16, "n_heads": 2}, "checkpoint_every": 2, "device": "cpu"},
    "eval": {"classification": {"shots": [], "c_grid": [1.0]},
             "anomaly": {"context": 64, "decoder_max_epochs": 5}},
}  # fmt: skip
# 2 pretrained encoders + random, each on GunPoint (2 rows) and anomaly/ucr/135 (8 rows)
# 3 encoders (mae, ntp, random) x (classification: 2 metrics + anomaly: 2 scorers x 5 metrics)
N_CELLS, N_ROWS = 6, 36


def tiny(**changes) -> StudySpec:
    return from_dict(StudySpec, {**TINY, **changes})


def keyed(path: Path) -> dict[tuple, float]:
    with ResultStore(path) as store:
        rows = store.rows()
    out = {tuple(getattr(r, k) for k in KEY): r.value for r in rows}
    assert len(out) == len(rows), "duplicate keys in the store"
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One uninterrupted local run of the tiny study."""
    out = tmp_path_factory.mktemp("ref")
    return run_study(tiny(), out, progress=False, strict=True)


def test_rows_carry_the_study_and_the_encoder(reference: Path) -> None:
    with ResultStore(reference) as store:
        rows = store.rows()
    assert len(rows) == N_ROWS
    assert {r.study for r in rows} == {"tiny"}
    pre = [r for r in rows if r.init == "pretrained"]
    assert {r.objective for r in pre} == {"mae", "ntp"}
    assert all(r.pretrain_data == "synthetic" and r.depth == 1 and r.tokenizer == "patch"
               and r.pretrain_size is None and r.pretrain_steps == 4
               and r.pretrain_samples == 32 and "pretrain_size" not in r.extra
               for r in pre)  # fmt: skip
    assert {r.encoder_id for r in rows if r.init == "random"} == {"random"}
    manifest = json.loads((reference.parent / "study.json").read_text())
    assert manifest["spec"]["name"] == "tiny" and "torch" in manifest["versions"]
    assert len(manifest["encoders"]) == 2


def test_second_run_trains_and_evaluates_nothing(tmp_path: Path, monkeypatch) -> None:
    spec = tiny(objectives=["mae"])
    run_study(spec, tmp_path, progress=False, strict=True)
    weights = list((tmp_path / "encoders").glob("*/encoder.safetensors"))
    assert len(weights) == 1
    stamp = weights[0].stat().st_mtime_ns
    calls: list[object] = []
    real = runner_mod.run_job
    monkeypatch.setattr(runner_mod, "run_job", lambda job: calls.append(job) or real(job))
    run_study(spec, tmp_path, progress=False, strict=True)
    assert calls == [] and weights[0].stat().st_mtime_ns == stamp
    # a new objective trains only its own encoder; the cached one is reused untouched
    monkeypatch.setattr(runner_mod, "_write_manifest", lambda *a: None)
    run_study(tiny(), tmp_path, progress=False, strict=True)
    trained = [j for j in calls if type(j).__name__ == "PretrainJob"]
    assert [j.config.objective for j in trained] == ["ntp"]
    assert weights[0].stat().st_mtime_ns == stamp


def test_changed_spec_in_same_folder_is_refused(reference: Path) -> None:
    with pytest.raises(StudyError, match="objectives"):
        run_study(tiny(objectives=["mae"]), reference.parent, progress=False)


class _Stop(BaseException):
    """Stands for a kill: not an Exception, so the runner does not treat it as a failed cell."""


def test_interrupted_run_resumes_without_loss_or_duplicates(
    tmp_path: Path, reference: Path, monkeypatch
) -> None:
    real = runner_mod.run_job
    budget = {"n": 3}

    def flaky(job):
        if budget["n"] == 0:
            raise _Stop
        budget["n"] -= 1
        return real(job)

    monkeypatch.setattr(runner_mod, "run_job", flaky)
    with pytest.raises(_Stop):
        run_study(tiny(), tmp_path, progress=False)
    partial = len(keyed(tmp_path / "results.sqlite"))
    assert 0 < partial < N_ROWS
    monkeypatch.setattr(runner_mod, "run_job", real)
    path = run_study(tiny(), tmp_path, progress=False, strict=True)
    assert keyed(path) == keyed(reference)


def test_sigkill_midway_then_rerun_completes(tmp_path: Path, reference: Path) -> None:
    """Kill a real study process once the store has rows, rerun the same command."""
    code = ("import json, sys\nfrom tsdividend.config import from_dict\n"
            "from tsdividend.study import StudySpec, run_study\n"
            "spec = from_dict(StudySpec, json.loads(sys.argv[1]))\n"
            "run_study(spec, sys.argv[2], progress=False, strict=True)\n")  # fmt: skip
    cmd = [sys.executable, "-c", code, json.dumps(TINY), str(tmp_path)]
    db = tmp_path / "results.sqlite"
    proc = subprocess.Popen(cmd)
    n = 0
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if db.exists():
            with sqlite3.connect(db, timeout=5) as con:
                try:
                    n = con.execute("SELECT COUNT(*) FROM results").fetchone()[0]
                except sqlite3.OperationalError:  # the schema is being created
                    n = 0
            if n > 0:
                os.kill(proc.pid, signal.SIGKILL)
                break
        time.sleep(0.02)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the study finished before it could be killed"
    assert 0 < len(keyed(db)) < N_ROWS
    subprocess.run(cmd, check=True, timeout=300)
    assert keyed(db) == keyed(reference)
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT COUNT(*) FROM cells").fetchone()[0] == N_CELLS


@pytest.mark.slow
def test_pool_executor_gives_the_local_rows(tmp_path: Path, reference: Path) -> None:
    path = run_study(tiny(), tmp_path, executor="pool", workers=2, progress=False, strict=True)
    assert keyed(path) == keyed(reference)


def test_unknown_executor_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="pool"):
        run_study(tiny(), tmp_path, executor="dask", progress=False)


def test_ray_executor_gives_the_local_rows(tmp_path: Path, reference: Path, monkeypatch) -> None:
    """A local Ray instance with 2 CPUs runs the same cells to the same rows as in-process."""
    ray = pytest.importorskip("ray")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    path = run_study(tiny(), tmp_path, executor="ray", workers=2, progress=False, strict=True)
    assert not ray.is_initialized(), "the executor must shut down the instance it started"
    assert keyed(path) == keyed(reference)


def test_report_numbers_match_the_store_rows(reference: Path) -> None:
    """Recompute every probe heatmap cell of report.md straight from the store's rows."""
    from tsdividend.report import build_report

    out = reference.parent
    build_report(out, n_boot=200)
    md = (out / "report.md").read_text()
    section = md.split("### Regime: probe", 1)[1].split("![", 1)[0]
    lines = [ln for ln in section.splitlines() if ln.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    with ResultStore(reference) as store:
        rows = store.rows()
    base = {(r.task, r.dataset, r.metric, r.seed): r.value for r in rows if r.init == "random"}
    checked = 0
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        for col, cell in zip(header[1:], cells[1:], strict=True):
            task, metric = col.split(" (")[0], col.split(" (")[1].rstrip(")")
            per_ds: dict[str, list[float]] = {}
            for r in rows:
                if (r.init, r.objective, r.task, r.metric, r.regime) != (
                    "pretrained", cells[0], task, metric, "probe"):  # fmt: skip
                    continue
                b = base[(r.task, r.dataset, r.metric, r.seed)]
                # headline: score difference; relative error reduction for errors
                d = r.value - b if r.higher_is_better else (b - r.value) / b
                per_ds.setdefault(r.dataset, []).append(d)
            expected = sum(sum(v) / len(v) for v in per_ds.values()) / len(per_ds)
            assert cell.split()[0] == f"{100 * expected:+.1f}", (cells[0], col)
            checked += 1
    assert checked == 4  # 2 encoders x 2 tasks


def test_torchrun_pretraining_cell_equals_its_one_process_config(tmp_path: Path) -> None:
    """nproc_per_node=2 trains the cell under torchrun (gloo); its weights equal the cell's
    stored one-process config (grad_accum 2) trained in this process."""
    import torch
    from safetensors.torch import load_file

    from tsdividend.study import expand_grid
    from tsdividend.train.trainer import train

    spec = tiny(objectives=["mae"], tasks=["classification"],
                datasets={"classification": ["ucr/GunPoint"]},
                nproc_per_node=2)  # fmt: skip
    run_study(spec, tmp_path / "study", progress=False, strict=True)
    (job,), _ = expand_grid(spec, tmp_path / "study")
    assert job.config.grad_accum == 2 and job.nproc == 2
    train(job.config, tmp_path / "single", progress=False)
    a = load_file(str(Path(job.folder) / "encoder.safetensors"))
    b = load_file(str(tmp_path / "single" / "encoder.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5)


def test_a_failed_cell_is_counted_and_the_rest_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_random_cells: None
) -> None:
    from tsdividend.report import build_report

    spec = tiny(objectives=["mae"], tasks=["classification"],
                datasets={"classification": ["ucr/GunPoint"]})  # fmt: skip
    with pytest.raises(StudyError, match="1 of 2 cells failed"):
        run_study(spec, tmp_path / "strict", progress=False, strict=True)
    path = run_study(spec, tmp_path / "lax", progress=False)
    with ResultStore(path) as store:
        rows = store.rows()
    assert rows and {r.encoder_id for r in rows} != {"random"}
    assert all(r.encoder_id != "random" for r in rows)
    failures = json.loads((path.parent / "failures.json").read_text())
    assert len(failures) == 1 and "planted failure" in failures[0]["error"]
    assert runner_mod.failure_summary(path.parent) == (1, 2)
    build_report(path.parent)
    assert (path.parent / "report.md").is_file()
    # a rerun that succeeds removes failures.json: the summary says nothing failed
    monkeypatch.undo()  # the fixture patched through this same monkeypatch
    run_study(spec, path.parent, progress=False, strict=True)
    assert runner_mod.failure_summary(path.parent) is None
