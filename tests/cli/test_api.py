"""The library functions behind the CLI (``tsdividend.run``, ``.evaluate``, ``.pretrain``) do
what the commands do, the data-root environment variable included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import tsdividend
from tsdividend.cli import app

runner = CliRunner()


def test_evaluate_equals_the_command() -> None:
    arch = {"d_model": 32, "depth": 2}
    rows = tsdividend.evaluate("random", "classification", "ucr/GunPoint", architecture=arch,
                               device="cpu")  # fmt: skip
    res = runner.invoke(app, ["evaluate", "--checkpoint", "random", "--d-model", "32", "--depth",
                              "2", "--device", "cpu", "--task", "classification", "--dataset",
                              "ucr/GunPoint", "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    cli = [json.loads(line) for line in res.stdout.splitlines()]
    assert [(r.metric, r.value, r.config_hash) for r in rows] == [
        (c["metric"], c["value"], c["config_hash"]) for c in cli]  # fmt: skip
    with pytest.raises(ValueError, match="random/scratch encoders only"):
        tsdividend.evaluate("some/run", "classification", "ucr/GunPoint", architecture=arch)


def test_pretrain_clamps_the_checkpoint_interval(tmp_path: Path) -> None:
    result = tsdividend.pretrain(tmp_path, overrides={
        "steps": 2, "batch_size": 4, "data.context": 32, "encoder.d_model": 16,
        "encoder.n_heads": 2, "encoder.depth": 1, "device": "cpu"}, progress=False)  # fmt: skip
    assert result.steps == 2 and (tmp_path / "encoder.safetensors").is_file()
    saved = json.loads((tmp_path / "encoder.json").read_text())["train_config"]
    assert saved["checkpoint_every"] == 2  # the default 500 clamped to the 2 steps


def test_run_reads_the_data_env_var_like_the_cli(
    tmp_path: Path, tiny_study: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tiny_study
    monkeypatch.setenv("TSDIVIDEND_DATA", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="missing"):
        tsdividend.run(config=cfg, out=tmp_path / "a", progress=False)
    res = runner.invoke(app, ["run", "--config", str(cfg), "--out", str(tmp_path / "b")])
    assert res.exit_code == 2 and "missing" in res.output
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("TSDIVIDEND_DATA", str(root))
    outcome = tsdividend.run(config=cfg, out=tmp_path / "c", progress=False,
                             overrides={"train.steps": 2})  # fmt: skip
    assert outcome.failed is None and len(outcome.rows) == 4
    assert f"--data-dir {root}" in outcome.command and "--set train.steps=2" in outcome.command
    assert outcome.report["markdown"].is_file() and "Dividend over random" in outcome.table
