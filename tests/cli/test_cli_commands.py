"""The CLI contract of DESIGN.md section 4: JSON lines on stdout, clean errors, exit codes."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
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
    assert listed == ["ntp", "mae", "diffusion", "jepa", "lejepa", "dino", "byol", "hybrid"]
    assert ":meth:" not in res.output and "``" not in res.output
