"""The error contract (docs/reliability.md): every expected failure is one line naming the file,
field or value, exit status 2; the library raises the package's ValueError / OSError
subclasses."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from typer.testing import CliRunner

from tsdividend.cli import app
from tsdividend.errors import InputError, StorageError

runner = CliRunner()
TINY = ["--depth", "1", "--d-model", "16", "--batch-size", "4", "--context", "32",
        "--device", "cpu", "--checkpoint-every", "1"]  # fmt: skip
PROBE = ["--task", "clustering", "--dataset", "ucr/GunPoint"]


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "r"
    res = runner.invoke(app, ["pretrain", "--out", str(out), "--steps", "2", *TINY, "--json"])
    assert res.exit_code == 0, res.output
    return out


def _copy(run_folder: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(run_folder, dst)
    return dst


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:100])


def _random_bytes(path: Path) -> None:
    path.write_bytes(np.random.default_rng(0).bytes(4000))


def _json_edit(edit):
    def apply(path: Path) -> None:
        path.write_text(edit(json.loads(path.read_text())))

    return apply


def _nan_weights(path: Path) -> None:
    save_file({k: torch.full_like(v, float("nan")) for k, v in load_file(path).items()}, path)


ENCODER_DAMAGE = {
    "truncated weights": ("encoder.safetensors", _truncate, "not a readable safetensors file"),
    "random weights": ("encoder.safetensors", _random_bytes, "not a readable safetensors file"),
    "NaN weights": ("encoder.safetensors", _nan_weights, "holds NaN or infinite values"),
    "wrong d_model": ("encoder.json", _json_edit(lambda m: json.dumps(
        {**m, "encoder_config": {**m["encoder_config"], "d_model": 32}})),
        "does not match the architecture in encoder.json"),
    "json list": ("encoder.json", _json_edit(lambda m: "[]"), "is not a JSON object"),
    "no encoder_config": ("encoder.json", _json_edit(
        lambda m: json.dumps({k: v for k, v in m.items() if k != "encoder_config"})),
        "holds no encoder_config"),
    "truncated json": ("encoder.json", _truncate, "is not valid JSON"),
}  # fmt: skip


def _one_line(res, *words: str) -> None:
    """Exit 2 and one error line, the last (progress lines of a run that failed may precede it;
    no traceback)."""
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], res.output
    assert all(ln.startswith(("error:", "pretrain ")) for ln in lines), res.output
    for w in words:
        assert w in errors[0], errors[0]


@pytest.mark.parametrize("case", sorted(ENCODER_DAMAGE))
def test_damaged_encoder_files_fail_in_one_line(run_folder, tmp_path, case) -> None:
    name, damage, words = ENCODER_DAMAGE[case]
    folder = _copy(run_folder, tmp_path)
    damage(folder / name)
    res = runner.invoke(app, ["evaluate", "--checkpoint", str(folder), *PROBE])
    _one_line(res, name, words)


def test_used_folder_changed_resume_and_non_finite_loss(run_folder, tmp_path) -> None:
    _one_line(runner.invoke(app, ["pretrain", "--out", str(run_folder), "--steps", "2", *TINY]),
              "already holds a run")  # fmt: skip
    _one_line(runner.invoke(app, ["pretrain", "--out", str(run_folder), "--steps", "3", *TINY,
                                  "--resume"]), "steps: 2 -> 3")  # fmt: skip
    res = runner.invoke(app, ["pretrain", "--out", str(tmp_path / "nan"), "--steps", "3",
                              "--lr", "1e30", *TINY])  # fmt: skip
    _one_line(res, "non-finite loss")


def test_out_that_is_a_file_or_unwritable(tmp_path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    _one_line(runner.invoke(app, ["pretrain", "--out", str(target), "--steps", "1", *TINY]),
              str(target))  # fmt: skip
    _one_line(runner.invoke(app, ["pretrain", "--out", str(target / "sub"), "--steps", "1",
                                  *TINY]), str(target))  # fmt: skip
    if os.geteuid() != 0:  # root writes into read-only folders anyway
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o555)
        _one_line(runner.invoke(app, ["pretrain", "--out", str(ro / "x"), "--steps", "1", *TINY]),
                  str(ro))  # fmt: skip


def test_full_disk_names_the_file(tmp_path, monkeypatch) -> None:
    import tsdividend.atomic as atomic

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)
    res = runner.invoke(app, ["pretrain", "--out", str(tmp_path / "r"), "--steps", "1", *TINY])
    _one_line(res, "cannot write", str(tmp_path / "r"), "No space left on device")
    assert ".step-" not in res.output  # the checkpoint is named, not its temp folder


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b'steps = "ten"\n', ["steps", "'ten'"]),
        (b"\x00\xff\xfe binary \x81", ["not a text (UTF-8 TOML) file"]),
        (b"steps = [\n", ["invalid TOML"]),
    ],
)
def test_bad_config_files(tmp_path, content, words) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_bytes(content)
    res = runner.invoke(app, ["pretrain", "--out", str(tmp_path / "r"), "--config", str(cfg)])
    _one_line(res, str(cfg), *words)


def test_library_errors_are_the_packages_value_and_os_errors(run_folder, tmp_path) -> None:
    from tsdividend.api import evaluate

    folder = _copy(run_folder, tmp_path)
    _truncate(folder / "encoder.json")
    with pytest.raises(InputError):
        evaluate(folder, "clustering", "ucr/GunPoint")
    assert issubclass(InputError, ValueError) and issubclass(StorageError, OSError)


def test_a_study_whose_store_another_program_locks(tmp_path, tiny_study, monkeypatch) -> None:
    import sqlite3

    out = tmp_path / "out"
    assert (
        runner.invoke(app, ["run", "--config", str(tiny_study), "--out", str(out)]).exit_code == 0
    )
    (out / "results.sqlite").unlink()  # a fresh store that another program holds
    other = sqlite3.connect(out / "results.sqlite")
    other.execute("BEGIN EXCLUSIVE")
    other.execute("CREATE TABLE held (x)")
    monkeypatch.setenv("TSDIVIDEND_LOCK_WAIT", "1")
    try:
        res = runner.invoke(app, ["run", "--config", str(tiny_study), "--out", str(out)])
    finally:
        other.rollback()
        other.close()
    assert res.exit_code == 2, res.output
    errors = [ln for ln in res.output.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "stayed locked by another program" in errors[0]
    assert "waiting for" in res.output
