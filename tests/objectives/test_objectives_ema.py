"""The one EMA rule (docs/objectives.md): every objective with an EMA target resolves its
starting momentum from the step budget, an explicit float overrides it, no preset overrides it,
and the run's meta records the resolved value."""

from __future__ import annotations

import json
from importlib.resources import files

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import pytest
import torch

from tsdividend.config import ConfigError
from tsdividend.objectives import OBJECTIVES, EMAConfig, EMAObjective, build_objective
from tsdividend.schedules import auto_ema_start, ema_momentum

from .conftest import tiny_encoder

EMA_OBJECTIVES = [n for n in OBJECTIVES.names() if issubclass(OBJECTIVES.get(n), EMAObjective)]


def _build(name: str, **options):
    cls = OBJECTIVES.get(name)
    cfg = cls.tiny_config()
    opts = {k: getattr(cfg, k) for k in cfg.__dataclass_fields__}
    return build_objective(name, tiny_encoder(), {**opts, **options})


def test_every_objective_with_a_frozen_target_uses_the_one_ema_rule():
    # an EMA target is a frozen copy (no parameter needs a gradient): such an objective must
    # derive from EMAObjective (momentum, meta) with an EMAConfig (the declared options)
    assert {"jepa", "dino", "byol"} <= set(EMA_OBJECTIVES)
    for name in OBJECTIVES.names():
        cls = OBJECTIVES.get(name)
        obj = cls(tiny_encoder(), cls.tiny_config())
        frozen = [p for p in obj.parameters() if not p.requires_grad]
        assert bool(frozen) == (name in EMA_OBJECTIVES), name
        if name in EMA_OBJECTIVES:
            assert issubclass(cls.config_cls, EMAConfig) and obj.ema_pairs, name
            targets = [p for t, _ in obj.ema_pairs for p in getattr(obj, t).parameters()]
            assert {id(p) for p in targets} == {id(p) for p in frozen}, name
        else:
            assert obj.ema_schedule(300) is None, name


def test_ema_options_keep_their_flat_names():
    # objective_options (TOML, CLI --option) name them ema_start / ema_end on every EMA objective
    for name in EMA_OBJECTIVES:
        cfg = build_objective(name, tiny_encoder(), {"ema_start": 0.99, "ema_end": 0.999}).config
        assert (cfg.ema_start, cfg.ema_end) == (0.99, 0.999)
    with pytest.raises(ConfigError, match="ema_end"):
        EMAConfig(ema_start="auto", ema_end=1.5)


@pytest.mark.parametrize("name", EMA_OBJECTIVES)
def test_default_is_the_step_budget_rule(name):
    cfg = OBJECTIVES.get(name).config_cls()
    assert cfg.ema_start == "auto"
    obj = _build(name)
    assert obj.ema_start_for(300) == pytest.approx(0.99)
    assert obj.ema_start_for(20_000) == pytest.approx(0.996)
    sched = obj.ema_schedule(300)
    assert sched["start"] == pytest.approx(0.99) and sched["end"] == 1.0
    assert sched["configured"] == "auto" and sched["time_constant_steps"] == pytest.approx(100)
    assert "3" in sched["rule"] and sched["total_steps"] == 300


@pytest.mark.parametrize("name", EMA_OBJECTIVES)
def test_explicit_ema_start_overrides_the_rule(name):
    obj = _build(name, ema_start=0.9)
    assert obj.ema_start_for(300) == 0.9 and obj.ema_start_for(20_000) == 0.9
    assert obj.ema_schedule(300)["rule"] == "explicit ema_start"
    with pytest.raises(ConfigError, match="'quick'"):
        _build(name, ema_start="quick")
    with pytest.raises(ConfigError, match="ema_start"):
        _build(name, ema_start=1.5)


@pytest.mark.parametrize("name", EMA_OBJECTIVES)
def test_on_after_step_uses_the_resolved_momentum(name):
    total = 30  # auto start 0.9: a step moves the target by 10% of the gap, visibly
    obj = _build(name)
    target_attr, online_attr = obj.ema_pairs[0]
    target, online = getattr(obj, target_attr), getattr(obj, online_attr)
    with torch.no_grad():
        for p in online.parameters():
            p.add_(1.0)
    before = [p.clone() for p in target.parameters()]
    obj.on_after_step(1, total)
    m = ema_momentum(1, total, auto_ema_start(total), 1.0)
    assert m != pytest.approx(ema_momentum(1, total, 0.996, 1.0))
    for b, t, o in zip(before, target.parameters(), online.parameters(), strict=True):
        torch.testing.assert_close(t, m * b + (1 - m) * o)


def test_no_preset_overrides_ema_start():
    presets = files("tsdividend.study") / "presets"
    names = [p.name for p in presets.iterdir() if p.name.endswith(".toml")]
    assert "quick.toml" in names
    for fname in names:
        data = tomllib.loads((presets / fname).read_text())
        for objective, opts in data.get("objective_options", {}).items():
            assert "ema_start" not in opts, (fname, objective)
            assert "ema_end" not in opts, (fname, objective)


def test_run_meta_records_the_resolved_momentum(tmp_path):
    from tsdividend.encoder import EncoderConfig
    from tsdividend.train.sources import DataConfig
    from tsdividend.train.trainer import TrainConfig, train

    enc = EncoderConfig(d_model=16, depth=1, n_heads=2, dropout=0.0, max_len=16)
    cfg = TrainConfig(objective="byol", encoder=enc, steps=6, batch_size=4,
                      objective_options={"projector_hidden": 16, "projector_dim": 8,
                                         "predictor_hidden": 16},
                      data=DataConfig(context=64), device="cpu", precision="fp32",
                      diag_every=0, checkpoint_every=6)  # fmt: skip
    train(cfg, tmp_path, progress=False)
    meta = json.loads((tmp_path / "encoder.json").read_text())
    assert meta["ema"]["start"] == pytest.approx(0.5)  # 1 - 3/6
    assert meta["ema"]["configured"] == "auto" and meta["ema"]["end"] == 1.0
