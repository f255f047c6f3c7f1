"""External encoders (``[[encoders]]``) inside a study: rows, baselines, report."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tsdividend.config import ConfigError, from_dict
from tsdividend.pretrained import load_pretrained, save_encoder
from tsdividend.report import build_report
from tsdividend.results.store import ResultStore
from tsdividend.study import StudySpec, run_study

MODELS = Path(__file__).parents[1] / "tasks"  # external_models.py: the user's own code

SPEC = {
    "name": "ext",
    "objectives": ["mae"],
    "tasks": ["classification", "forecasting"],
    "datasets": {"classification": ["ucr/GunPoint"], "forecasting": ["forecast/ILI"]},
    "depths": [1],
    "regimes": ["probe"],
    "train": {"steps": 4, "batch_size": 8, "data": {"context": 64},
              "encoder": {"d_model": 16, "n_heads": 2}, "checkpoint_every": 2, "device": "cpu"},
    "eval": {"classification": {"shots": [], "c_grid": [1.0]},
             "forecasting": {"horizons": [24], "max_train_windows": 200}},
    "encoders": [{"name": "conv", "factory": "external_models:conv"},
                 {"name": "moments", "factory": "external_models:moments"}],
}  # fmt: skip


@pytest.fixture(autouse=True)
def models_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(MODELS))
    yield
    sys.modules.pop("external_models", None)


def test_spec_checks_encoder_tables() -> None:
    with pytest.raises(ConfigError, match=r"encoders\[0\] must be a table"):
        from_dict(StudySpec, {**SPEC, "encoders": [{"name": "conv"}]})
    with pytest.raises(ConfigError, match=r"encoders\[1\].name 'conv' is already"):
        from_dict(StudySpec, {**SPEC, "encoders": [SPEC["encoders"][0]] * 2})
    with pytest.raises(ConfigError, match=r"encoders\[0\].name 'mae' is already"):
        from_dict(StudySpec, {**SPEC, "encoders": [{"name": "mae", "factory": "x:y"}]})
    with pytest.raises(ConfigError, match=r"encoders\[0\].factory: .*cannot import"):
        from_dict(StudySpec, {**SPEC, "encoders": [{"name": "e", "factory": "no_mod_xyz:f"}]})


def test_external_encoders_are_evaluated_beside_the_objectives(tmp_path: Path) -> None:
    store = run_study(from_dict(StudySpec, SPEC), tmp_path, progress=False, strict=True)
    with ResultStore(store) as s:
        rows = s.rows()
    ids = {r.encoder_id for r in rows}
    # conv takes `pretrained`, so it brings its own random baseline; moments does not
    assert {"conv", "conv/random", "moments", "random"} <= ids and "moments/random" not in ids
    for eid in ("conv", "conv/random", "moments"):
        assert {r.task for r in rows if r.encoder_id == eid} == {"classification", "forecasting"}
    assert {r.tokenizer for r in rows if r.encoder_id.startswith("conv")} == {"external:conv"}
    report = build_report(tmp_path, n_boot=50)
    text = Path(report["markdown"]).read_text()
    assert "conv" in text and "moments" in text and "mae" in text
    # a study encoder saved for sharing carries its scores in its model card
    run = next((tmp_path / "encoders").iterdir())
    folder = save_encoder(load_pretrained(run), tmp_path / "shared")
    card = (folder / "README.md").read_text()
    mae_acc = [r.value for r in rows if r.objective == "mae" and r.metric == "accuracy"][0]
    rnd_acc = [r.value for r in rows if r.encoder_id == "random" and r.metric == "accuracy"][0]
    assert "From study `ext`" in card
    assert f"| classification | probe | accuracy | 1 | {mae_acc:.4g} | {rnd_acc:.4g} |" in card


def test_a_study_runs_on_the_users_own_file(tmp_path: Path) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    y = np.arange(30) % 2
    X = np.sin(np.where(y == 0, 0.3, 1.1)[:, None] * np.arange(24) + rng.uniform(0, 6, (30, 1)))
    frame = pd.DataFrame(X)
    frame["label"] = y
    frame.to_csv(tmp_path / "mine.csv", index=False)
    ref = f"{tmp_path}/mine.csv:test=0.3"
    spec = from_dict(StudySpec, {**SPEC, "tasks": ["classification"], "encoders": [],
                                 "datasets": {"classification": [ref]},
                                 "baselines": ["minirocket"]})  # fmt: skip
    store = run_study(spec, tmp_path / "study", progress=False, strict=True)
    with ResultStore(store) as s:
        rows = s.rows()
    assert {r.dataset for r in rows} == {ref}
    assert {r.encoder_id.split("-")[0] for r in rows} == {"mae", "random", "minirocket"}


def test_pretraining_cells_show_step_loss_speed_and_eta(tmp_path: Path, monkeypatch,
                                                         capsys) -> None:  # fmt: skip
    import tsdividend.study.watch as watch

    monkeypatch.setattr(watch, "POLL_S", 0.01)
    spec = from_dict(StudySpec, {**SPEC, "tasks": ["classification"], "encoders": [],
                                 "datasets": {"classification": ["ucr/GunPoint"]},
                                 "train": {**SPEC["train"], "steps": 80, "log_every": 2,
                                           "checkpoint_every": 40}})  # fmt: skip
    run_study(spec, tmp_path, progress=True, strict=True)  # stderr is no terminal here
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("pretrain mae")]
    assert lines, "no pretraining progress line"
    assert all("loss" in ln and "samples/s" in ln and "ETA" in ln for ln in lines)
