"""Training precision: ``auto`` keeps bf16 only where it is measured faster, and a bf16 run's loss
curve stays within the stated tolerance of the fp32 run's."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tsdividend.encoder import EncoderConfig
from tsdividend.train import precision as prec
from tsdividend.train.precision import CURVE_TOLERANCE, choose_precision
from tsdividend.train.sources import DataConfig
from tsdividend.train.trainer import TrainConfig, train

CPU = torch.device("cpu")


def _fake(fp32_s: float, bf16_s: float):
    calls: list[str] = []

    def measure(precision: str) -> float:
        calls.append(precision)
        return {"fp32": fp32_s, "bf16": bf16_s}[precision]

    return measure, calls


def test_auto_falls_back_to_fp32_where_bf16_is_slower() -> None:
    measure, calls = _fake(fp32_s=0.10, bf16_s=0.25)  # bf16 units, yet slower for this model
    choice = choose_precision("auto", CPU, measure, native=True)
    assert choice.precision == "fp32" and sorted(calls) == ["bf16", "fp32"]
    assert (choice.fp32_s, choice.bf16_s) == (0.10, 0.25)
    assert "not below 90% of fp32" in choice.reason


def test_auto_takes_bf16_only_beyond_the_margin() -> None:
    assert choose_precision("auto", CPU, _fake(0.10, 0.07)[0], native=True).precision == "bf16"
    assert choose_precision("auto", CPU, _fake(0.10, 0.095)[0], native=True).precision == "fp32"


def test_auto_keeps_fp32_for_steps_too_short_to_time() -> None:
    measure, calls = _fake(0.005, 0.001)
    choice = choose_precision("auto", CPU, measure, native=True)
    assert choice.precision == "fp32" and calls == ["fp32"] and "too short" in choice.reason


def test_auto_without_bf16_hardware_is_fp32_unmeasured() -> None:
    """An emulated bf16 is never timed: noise on a tiny model could pick it at random."""
    measure, calls = _fake(0.10, 0.01)
    choice = choose_precision("auto", CPU, measure, native=False)
    assert choice.precision == "fp32" and calls == [] and "no bf16 hardware" in choice.reason


def test_explicit_precisions_are_not_measured() -> None:
    measure, calls = _fake(0.1, 0.01)
    assert choose_precision("fp32", CPU, measure).precision == "fp32"
    assert choose_precision("bf16", CPU, measure).precision == "bf16"
    assert calls == []
    with pytest.raises(ValueError, match="precision 'fp16' unknown"):
        choose_precision("fp16", CPU, measure)


def test_auto_on_a_gpu_without_bf16_is_fp32(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    measure, calls = _fake(0.2, 0.1)
    choice = choose_precision("auto", torch.device("cuda", 0), measure)
    assert choice.precision == "fp32" and calls == [] and "no bf16 hardware" in choice.reason
    with pytest.raises(ValueError, match="does not support bf16"):
        choose_precision("bf16", torch.device("cuda", 0), measure)


def _cfg(steps: int, precision: str, **kw) -> TrainConfig:
    return TrainConfig(
        objective=kw.pop("objective", "ntp"),
        encoder=EncoderConfig(d_model=16, depth=1, n_heads=2, patch_len=8, stride=8),
        data=DataConfig(context=64, synth_corpus_size=256),
        steps=steps,
        batch_size=16,
        device="cpu",
        precision=precision,
        diag_every=0,
        log_every=1,
        **kw,
    )


def test_a_run_records_its_measured_choice_and_a_resume_keeps_it(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = train(_cfg(4, "auto", objective="dino", checkpoint_every=2), tmp_path, progress=False)
    meta = json.loads((tmp_path / "encoder.json").read_text())["precision"]
    assert meta["requested"] == "auto" and meta["precision"] == result.precision
    if meta["bf16_s"] is not None:  # timed: bf16 hardware and a step long enough
        faster = "bf16" if meta["bf16_s"] <= prec.BF16_MARGIN * meta["fp32_s"] else "fp32"
        assert result.precision == faster
    else:
        assert result.precision == "fp32"
    assert 0.0 <= result.data_share < 1.0

    def no_remeasure(*args, **kwargs):
        raise AssertionError("a resumed run re-measured its precision")

    monkeypatch.setattr("tsdividend.train.trainer.choose_precision", no_remeasure)
    (tmp_path / "latest.json").write_text(
        json.dumps({"step": 2, "path": "checkpoints/step-00000002"})
    )
    again = train(_cfg(4, "auto", objective="dino", checkpoint_every=2), tmp_path, resume=True,
                  progress=False)  # fmt: skip
    assert again.precision == result.precision


def test_measuring_leaves_the_run_unchanged(tmp_path) -> None:
    """auto measures on a copy: a run that picks fp32 equals the fp32 run bit for bit (DINO keeps
    state between forwards, the case a measurement on the model itself would break)."""
    auto = train(_cfg(3, "auto", objective="dino"), tmp_path / "auto", progress=False)
    if auto.precision != "fp32":
        pytest.skip("bf16 is faster on this machine; the fp32 equality does not apply")
    train(_cfg(3, "fp32", objective="dino"), tmp_path / "fp32", progress=False)
    from safetensors.torch import load_file

    a = load_file(str(tmp_path / "auto" / "encoder.safetensors"))
    b = load_file(str(tmp_path / "fp32" / "encoder.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def _smoothed_curve(folder, window: int = 50) -> np.ndarray:
    rows = [json.loads(x) for x in (folder / "metrics.jsonl").read_text().splitlines()]
    loss = np.array([r["loss"] for r in rows])
    return np.convolve(loss, np.ones(window) / window, mode="valid")


def test_bf16_loss_curve_stays_within_tolerance_of_fp32_over_500_steps(tmp_path) -> None:
    curves = {}
    for p in ("fp32", "bf16"):
        train(_cfg(500, p, checkpoint_every=500), tmp_path / p, progress=False)
        curves[p] = _smoothed_curve(tmp_path / p)
    gap = np.abs(curves["bf16"] - curves["fp32"]) / np.abs(curves["fp32"])
    assert gap.max() <= CURVE_TOLERANCE, f"largest relative gap {gap.max():.3f}"
    assert curves["fp32"][-1] < curves["fp32"][0]  # the run learned something to compare
