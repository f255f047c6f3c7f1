"""Resume that survives damage: a damaged latest checkpoint is skipped (and said) for the newest
intact one, and the weights still equal an uninterrupted run's, bit for bit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from tsdividend.encoder import EncoderConfig
from tsdividend.train.checkpoint import CheckpointError
from tsdividend.train.sources import DataConfig
from tsdividend.train.trainer import TrainConfig, train

CFG = TrainConfig(objective="mae", encoder=EncoderConfig(d_model=16, depth=1, n_heads=2),
                  data=DataConfig(context=32), steps=8, batch_size=4, checkpoint_every=2,
                  log_every=1, device="cpu", precision="fp32")  # fmt: skip


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ref") / "run"
    train(CFG, out, progress=False)
    return out


def _final(out: Path) -> dict[str, torch.Tensor]:
    return load_file(str(out / "checkpoints" / "step-00000008" / "model.safetensors"))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


def _noise(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-64:] = np.random.default_rng(0).bytes(64)  # same size, other bytes
    path.write_bytes(bytes(data))


DAMAGE = {
    "truncated model": lambda run: _truncate(run / "checkpoints/step-00000008/model.safetensors"),
    "truncated optimizer": lambda run: _truncate(
        run / "checkpoints/step-00000008/optimizer.safetensors"),
    "overwritten model bytes": lambda run: _noise(
        run / "checkpoints/step-00000008/model.safetensors"),
    "missing state": lambda run: (run / "checkpoints/step-00000008/state.json").unlink(),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_damaged_latest_checkpoint_falls_back_bit_identically(reference, tmp_path, case,
                                                              capsys) -> None:  # fmt: skip
    run = tmp_path / "run"
    shutil.copytree(reference, run)
    DAMAGE[case](run)
    result = train(CFG, run, resume=True, progress=False)
    said = capsys.readouterr().err
    assert "skipped checkpoint" in said and "step-00000008" in said, said
    ref, got = _final(reference), _final(run)
    assert ref.keys() == got.keys() and all(torch.equal(ref[k], got[k]) for k in ref), case
    assert result.steps == 8
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, 9))  # steps 7, 8 logged once, again


def test_pointer_outside_the_run_partial_log_and_leftovers(reference, tmp_path, capsys) -> None:
    run = tmp_path / "run"
    shutil.copytree(reference, run)
    (run / "latest.json").write_text(json.dumps({"step": 8, "path": "../../elsewhere"}))
    with open(run / "metrics.jsonl", "a") as fh:
        fh.write('{"step": 9, "lo')  # a kill mid-write
    (run / "checkpoints" / ".step-00000010.abc").mkdir()  # a kill during a checkpoint write
    (run / ".encoder.safetensors.xyz.part").write_bytes(b"partial")
    train(CFG, run, resume=True, progress=False)
    said = capsys.readouterr().err
    assert "outside" in said and "not followed" in said
    assert "dropped a partial last line" in said
    assert not list((run / "checkpoints").glob(".step-*")) and not list(run.glob(".*.part"))
    ref, got = _final(reference), _final(run)
    assert all(torch.equal(ref[k], got[k]) for k in ref)
    json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])  # the log is whole again


def test_checksums_recorded_and_a_damaged_log_line_named(reference, tmp_path) -> None:
    state = json.loads((reference / "checkpoints/step-00000008/state.json").read_text())
    assert set(state["checksums"]) == {"model.safetensors", "optimizer.safetensors"}
    run = tmp_path / "run"
    shutil.copytree(reference, run)
    lines = (run / "metrics.jsonl").read_text().splitlines()
    lines[2] = lines[2][:5]
    (run / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(CheckpointError, match=r"metrics.jsonl: line 3 is not JSON"):
        train(CFG, run, resume=True, progress=False)
