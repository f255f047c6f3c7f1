"""The CLI contract of DESIGN.md section 4: JSON lines on stdout, clean errors, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tsdividend.cli import app

runner = CliRunner()


def _json_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_help_lists_commands():
    res = runner.invoke(app, ["--help"])
    assert res.exit_code == 0
    for cmd in ("data", "synth", "pretrain", "objectives"):
        assert cmd in res.output


def test_data_info_gunpoint_with_shared_data(shared_data):
    res = runner.invoke(
        app, ["data", "info", "ucr/GunPoint", "--json", "--data-dir", str(shared_data)]
    )
    assert res.exit_code == 0, res.output
    assert _json_lines(res.stdout) == [
        {"name": "ucr/GunPoint", "task": "classification", "n_train": 50, "n_test": 150,
         "n_channels": 1, "length": 150, "n_classes": 2}
    ]  # fmt: skip


def test_data_info_bundled_without_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TSDIVIDEND_DATA", str(tmp_path))  # empty root: aeon's bundled copy
    res = runner.invoke(app, ["data", "info", "uea/BasicMotions", "--json"])
    assert res.exit_code == 0, res.output
    info = _json_lines(res.stdout)[0]
    assert (info["n_train"], info["n_test"], info["n_channels"], info["length"]) == (40, 40, 6, 100)
    assert info["n_classes"] == 4


def test_unknown_dataset_is_one_clean_error(tmp_path):
    res = runner.invoke(app, ["data", "info", "ucr/NoSuchSet", "--data-dir", str(tmp_path)])
    assert res.exit_code == 2
    assert "ucr/NoSuchSet" in res.output and "Traceback" not in res.output


def test_data_list_json(tmp_path):
    res = runner.invoke(app, ["data", "list", "--json", "--data-dir", str(tmp_path)])
    assert res.exit_code == 0
    rows = _json_lines(res.stdout)
    names = {r["name"]: r for r in rows}
    assert names["ucr/GunPoint"]["available"] and names["ucr/GunPoint"]["source"] == "aeon-bundled"
    assert set(rows[0]) == {"name", "task", "available", "source"}


def test_synth_writes_shards_and_manifest(tmp_path):
    out = tmp_path / "corpus"
    args = ["synth", "--kind", "kernelsynth", "--n", "12", "--length", "64", "--seed", "3"]
    res = runner.invoke(app, [*args, "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    line = _json_lines(res.stdout)[0]
    assert line["n"] == 12 and line["kind"] == "kernelsynth"
    manifest = json.loads((out / "manifest.json").read_text())
    rows = sum(pq.read_table(out / s["file"]).num_rows for s in manifest["shards"])
    assert rows == 12


def test_objectives_lists_the_registry():
    res = runner.invoke(app, ["objectives"])
    assert res.exit_code == 0
    listed = [line.split()[0] for line in res.output.splitlines() if line.strip()]
    from tsdividend.objectives import OBJECTIVES

    assert listed == OBJECTIVES.names()  # built-ins first, in the package's documented order
    assert ":meth:" not in res.output and "``" not in res.output


TINY_RANDOM = ["--checkpoint", "random", "--d-model", "32", "--depth", "2", "--device", "cpu"]


def test_evaluate_random_probe_on_bundled_gunpoint(tmp_path):
    args = ["evaluate", *TINY_RANDOM, "--task", "classification", "--dataset", "ucr/GunPoint"]
    res = runner.invoke(app, [*args, "--data-dir", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    rows = {r["metric"]: r for r in _json_lines(res.stdout)}
    acc = rows["accuracy"]
    assert acc["init"] == "random" and acc["regime"] == "probe" and acc["task"] == "classification"
    assert 0.5 < acc["value"] <= 1.0 and acc["higher_is_better"] is True


def test_evaluate_rejects_bad_task_and_architecture_flags_on_checkpoints(tmp_path):
    res = runner.invoke(app, ["evaluate", *TINY_RANDOM, "--task", "regression",
                              "--dataset", "ucr/GunPoint"])  # fmt: skip
    assert res.exit_code == 2 and "unknown task 'regression'; valid: classification" in res.output
    res = runner.invoke(app, ["evaluate", "--checkpoint", str(tmp_path), "--task", "clustering",
                              "--dataset", "ucr/GunPoint"])  # fmt: skip
    assert res.exit_code == 2 and "encoder.json" in res.output


def test_evaluate_an_external_encoder_and_its_baseline(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "tasks"))  # the user's code
    ref = "python:external_models:conv"
    base = ["evaluate", "--task", "clustering", "--dataset", "ucr/GunPoint", "--json"]
    res = runner.invoke(app, [*base, "--encoder", ref, "--data-dir", str(tmp_path)])
    assert res.exit_code == 0, res.output
    rows = _json_lines(res.stdout)
    assert {(r["encoder_id"], r["init"], r["tokenizer"]) for r in rows} == {
        ("conv", "pretrained", "external:conv")
    }
    res = runner.invoke(app, [*base, "--encoder", ref, "--checkpoint", "random"])
    assert res.exit_code == 0 and {r["encoder_id"] for r in _json_lines(res.stdout)} == {
        "conv/random"
    }
    res = runner.invoke(app, [*base, "--encoder", ref, "--depth", "2"])
    assert res.exit_code == 2 and "carries its own architecture" in res.output
    res = runner.invoke(app, [*base, "--encoder", "python:no_such_mod_xyz:f"])
    assert res.exit_code == 2 and "cannot import 'no_such_mod_xyz'" in res.output
    res = runner.invoke(app, base)
    assert res.exit_code == 2 and "--encoder python:pkg.module:factory" in res.output


def test_baseline_minirocket_runs_from_the_cli(tmp_path):
    args = ["baseline", "minirocket", "--task", "classification", "--dataset", "ucr/GunPoint"]
    res = runner.invoke(app, [*args, "--data-dir", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    rows = {r["metric"]: r for r in _json_lines(res.stdout)}
    assert rows["accuracy"]["init"] == "classical" and rows["accuracy"]["value"] > 0.9


def test_results_prints_the_store_rows(tmp_path):
    from tsdividend.results import ResultRow, ResultStore
    from tsdividend.results.store import CELL

    row = ResultRow("random", "random", "clustering", "ucr/GunPoint", "probe", 0, "nmi", 0.25, True)
    with ResultStore(tmp_path / "results.sqlite") as store:
        store.add_cell({k: getattr(row, k) for k in CELL}, [row])
    res = runner.invoke(app, ["results", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    assert _json_lines(res.stdout) == [row.to_json()]
    res = runner.invoke(app, ["results", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "results.sqlite not found" in res.output


def test_report_rebuilds_from_the_store(tmp_path):
    from tsdividend.results import ResultRow, ResultStore
    from tsdividend.results.store import CELL

    rows = [
        ResultRow("random", "random", "classification", "ucr/GunPoint", "probe", 0, "accuracy",
                  0.6, True, tokenizer="patch", depth=2),
        ResultRow("run", "pretrained", "classification", "ucr/GunPoint", "probe", 0, "accuracy",
                  0.9, True, objective="mae", tokenizer="patch", depth=2),
    ]  # fmt: skip
    with ResultStore(tmp_path / "results.sqlite") as store:
        for r in rows:
            store.add_cell({k: getattr(r, k) for k in CELL}, [r])
    res = runner.invoke(app, ["report", str(tmp_path)])
    assert res.exit_code == 0, res.output
    md = (tmp_path / "report.md").read_text()
    assert (tmp_path / "report.html").exists() and "+50.0%" in md


def test_run_prints_the_dividend_table_and_writes_the_report(tmp_path, tiny_study):
    cfg = tiny_study
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", "--config", str(cfg), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "Dividend over random (probe)" in res.stdout and "mae" in res.stdout
    for name in ("results.sqlite", "report.md", "report.html", "study.json"):
        assert (out / name).is_file(), name
    assert list((out / "plots").glob("*.png"))
    assert f"--config {cfg}" in (out / "report.md").read_text()
    again = runner.invoke(app, ["results", str(out), "--json"])
    assert again.exit_code == 0 and len(again.stdout.strip().splitlines()) == 4  # 2 x 2 rows
    # --json: one line per headline dividend, then the study's summary (rerun: nothing to do)
    res = runner.invoke(app, ["run", "--config", str(cfg), "--out", str(out), "--json"])
    lines = _json_lines(res.stdout)
    assert res.exit_code == 0 and [x["kind"] for x in lines] == ["dividend", "study"]
    assert lines[0]["encoder"] == "mae" and lines[0]["metric"] == "accuracy"
    assert lines[1]["rows"] == 4 and lines[1]["failed_cells"] == 0
    rep = runner.invoke(app, ["report", str(out), "--json"])
    assert rep.exit_code == 0 and _json_lines(rep.stdout)[0]["markdown"].endswith("report.md")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--preset", "quick", "--config", "x.toml"], ["--preset", "--config"]),
        (["--preset", "nope"], ["nope", "quick"]),
        (["--set", "train.stepz=3"], ["stepz"]),
        (["--executor", "dask"], ["dask", "ray"]),
    ],
)
def test_run_refuses_bad_arguments(tmp_path, args, words):
    res = runner.invoke(app, ["run", "--out", str(tmp_path / "o"), *args])
    assert res.exit_code == 2, res.output
    for w in words:
        assert w in res.output


def test_run_exits_1_and_says_how_many_cells_failed(tmp_path, tiny_study, fail_random_cells):
    cfg = tiny_study
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", "--config", str(cfg), "--out", str(out)])
    assert res.exit_code == 1, res.output
    assert "1 of 2 cells failed" in res.output
    for name in ("results.sqlite", "failures.json", "report.md", "study.json"):
        assert (out / name).is_file(), name
    rows = runner.invoke(app, ["results", str(out), "--json"])
    assert rows.exit_code == 0 and len(rows.stdout.strip().splitlines()) == 2  # mae's 2 rows


def test_pretrain_into_a_used_folder_fails_in_one_line(tmp_path):
    args = ["pretrain", "--out", str(tmp_path / "r"), "--depth", "1", "--d-model", "16",
            "--steps", "2", "--batch-size", "4", "--context", "32", "--device", "cpu",
            "--checkpoint-every", "1", "--json"]  # fmt: skip
    assert runner.invoke(app, args).exit_code == 0
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "already holds a run; pass --resume" in again.output
    assert len(again.output.strip().splitlines()) == 1
    changed = runner.invoke(app, [*args[:8], "3", *args[9:], "--resume"])
    assert changed.exit_code == 2 and "steps: 2 -> 3" in changed.output
    assert len(changed.output.strip().splitlines()) == 1
