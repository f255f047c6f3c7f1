"""Compute curves: score vs pretraining samples per objective, baselines and references as
levels on the same datasets; and the study's budgets axis."""

from __future__ import annotations

import pytest

from tsdividend.config import ConfigError, from_dict
from tsdividend.report.compute import panels
from tsdividend.report.tables import analyze
from tsdividend.results.row import ResultRow
from tsdividend.study import StudySpec
from tsdividend.study.jobs import expand_grid


def _row(eid: str, init: str, ds: str, value: float, samples: int | None = None,
         metric: str = "accuracy", objective: str | None = None) -> ResultRow:  # fmt: skip
    classical = init == "classical"
    return ResultRow(eid, init, "classification", ds, "classical" if classical else "probe", 0,
                     metric, value, True, objective=objective,
                     tokenizer=None if classical else "patch", depth=None if classical else 2,
                     pretrain_samples=samples)  # fmt: skip


def test_lines_per_objective_and_levels_on_the_common_datasets() -> None:
    rows = []
    for obj, gain in (("mae", 0.01), ("ntp", 0.02)):
        for i, samples in enumerate((100, 1000, 10000)):
            for ds in ("a", "b"):
                rows.append(_row(f"{obj}-{samples}", "pretrained", ds, 0.5 + gain * i, samples,
                                 objective=obj))  # fmt: skip
    rows += [_row("random", "random", ds, 0.4) for ds in ("a", "b")]
    rows += [_row("minirocket", "classical", ds, v) for ds, v in (("a", 0.9), ("b", 0.8))]
    rows += [_row("raw_kmeans", "classical", "a", 0.3)]  # lacks dataset b: left out, said
    found, notes = panels(analyze(rows, n_boot=10), "probe")
    ylabel, lines, levels = found["classification"]
    assert lines["mae"] == [(100.0, 0.5), (1000.0, 0.51), (10000.0, 0.52)]
    assert lines["ntp"][-1] == (10000.0, pytest.approx(0.54))
    assert levels == {"minirocket": pytest.approx(0.85), "random (baseline)": 0.4}
    assert "over 2 datasets" in ylabel and any("raw_kmeans left out" in n for n in notes)


def test_budgets_axis_pretrains_each_objective_once_per_budget(tmp_path) -> None:
    base = {"name": "b", "objectives": ["mae"], "tasks": ["classification"],
            "datasets": {"classification": ["ucr/GunPoint"]}, "depths": [1],
            "train": {"batch_size": 8}}  # fmt: skip
    spec = from_dict(StudySpec, {**base, "budgets": [10, 100, 1000]})
    pretrain, evals = expand_grid(spec, tmp_path)
    assert sorted(j.config.steps for j in pretrain) == [10, 100, 1000]
    assert len({j.key for j in pretrain}) == 3
    with pytest.raises(ConfigError, match="budgets axis or train.steps"):
        from_dict(StudySpec, {**base, "budgets": [10], "train": {"steps": 5}})
    with pytest.raises(ConfigError, match="budgets has duplicates"):
        from_dict(StudySpec, {**base, "budgets": [10, 10]})
