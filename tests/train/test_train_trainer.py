"""The training loop: exact resume after SIGKILL, DDP equals one process, clear failures."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tsdividend.encoder import EncoderConfig
from tsdividend.train.sources import DataConfig
from tsdividend.train.trainer import RunFolderError, TrainConfig, TrainingError, train

TINY = [
    "--objective", "mae", "--d-model", "32", "--depth", "2", "--batch-size", "8",
    "--context", "64", "--data", "synthetic", "--device", "cpu", "--precision", "fp32",
]  # fmt: skip


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return env


def _pretrain(out: Path, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "tsdividend.cli", "pretrain", *TINY, "--out", str(out), *extra]
    return subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _final_weights(out: Path) -> dict[str, torch.Tensor]:
    step = json.loads((out / "latest.json").read_text())["step"]
    return load_file(str(out / "checkpoints" / f"step-{step:08d}" / "model.safetensors"))


def test_sigkill_then_resume_is_bit_identical(tmp_path):
    steps = ["--steps", "60", "--checkpoint-every", "5", "--json"]
    ref = _pretrain(tmp_path / "ref", *steps)
    ref_out, ref_err = ref.communicate(timeout=300)
    assert ref.returncode == 0, ref_err.decode()[-2000:]
    ref_result = json.loads(ref_out.decode().strip().splitlines()[-1])

    run = tmp_path / "killed"
    proc = _pretrain(run, *steps)
    deadline = time.time() + 300
    while time.time() < deadline:
        latest = run / "latest.json"
        if latest.exists() and json.loads(latest.read_text())["step"] >= 5:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = json.loads((run / "latest.json").read_text())["step"]
    assert 5 <= killed_at < 60, "the run finished before it could be killed: nothing was tested"

    again = _pretrain(run, *steps, "--resume")
    stdout, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr.decode()[-2000:]
    result = json.loads(stdout.decode().strip().splitlines()[-1])
    assert result["steps"] == 60 and result["objective"] == "mae"
    # final_loss is the mean of the last 10 steps, whichever process ran them
    assert result["final_loss"] == ref_result["final_loss"]

    a, b = _final_weights(tmp_path / "ref"), _final_weights(run)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs after resume"
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == sorted({r["step"] for r in rows})  # no step logged twice


@pytest.mark.skipif(not torch.distributed.is_available(), reason="no torch.distributed")
def test_two_processes_match_one_process_with_the_same_global_batch(tmp_path):
    common = [*TINY, "--steps", "6", "--batch-size", "8"]
    one = subprocess.run(
        [sys.executable, "-m", "tsdividend.cli", "pretrain", *common, "--grad-accum", "2",
         "--out", str(tmp_path / "one")],
        env=_env(), capture_output=True, timeout=300,
    )  # fmt: skip
    assert one.returncode == 0, one.stderr.decode()[-2000:]
    two = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "tsdividend.cli", "pretrain", *common, "--out", str(tmp_path / "two")],
        env=_env(), capture_output=True, timeout=300,
    )  # fmt: skip
    assert two.returncode == 0, two.stderr.decode()[-3000:]

    def curve(name: str) -> list[float]:
        rows = (tmp_path / name / "metrics.jsonl").read_text().splitlines()
        return [json.loads(r)["loss"] for r in rows]

    a, b = curve("one"), curve("two")
    assert len(a) == len(b) >= 1
    assert max(abs(x - y) for x, y in zip(a, b, strict=True)) < 1e-5, (a, b)


def test_existing_run_needs_resume_and_same_config(tmp_path):
    cfg = TrainConfig(
        objective="mae",
        encoder=EncoderConfig(d_model=16, depth=1, n_heads=2),
        data=DataConfig(context=32),
        steps=2,
        batch_size=4,
        device="cpu",
    )
    train(cfg, tmp_path, progress=False)
    with pytest.raises(RunFolderError, match="already holds a run; pass --resume"):
        train(cfg, tmp_path, progress=False)
    other = TrainConfig(
        **{**cfg.__dict__, "steps": 3, "encoder": EncoderConfig(d_model=16, depth=2, n_heads=2)}
    )
    with pytest.raises(RunFolderError, match=r"differs \(encoder.depth: 1 -> 2; steps: 2 -> 3\)"):
        train(other, tmp_path, resume=True, progress=False)
    assert issubclass(RunFolderError, ValueError)  # bad input: one line and exit 2 in the CLI


def test_non_finite_loss_stops_with_a_clear_error(tmp_path):
    cfg = TrainConfig(
        objective="mae",
        encoder=EncoderConfig(d_model=16, depth=1, n_heads=2),
        data=DataConfig(context=32),
        steps=3,
        batch_size=4,
        device="cpu",
    )
    cfg = TrainConfig(**{**cfg.__dict__, "optim": type(cfg.optim)(lr=1e30)})
    with pytest.raises(TrainingError, match="non-finite loss"):
        train(cfg, tmp_path, progress=False)
