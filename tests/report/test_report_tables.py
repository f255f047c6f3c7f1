"""Headline-metric choice, encoder labels, and origin/scale curves of the report."""

from __future__ import annotations

from pathlib import Path

from tsdividend.report import analyze, build_report, headline_metric
from tsdividend.results import ResultRow, ResultStore


def test_headline_metric_choice() -> None:
    assert headline_metric("classification", {"accuracy", "balanced_accuracy"}) == "accuracy"
    assert headline_metric("anomaly", {"recon/vus_pr", "knn/vus_pr"}) == "recon/vus_pr"
    assert headline_metric("anomaly", {"knn/vus_pr", "knn/auc_pr"}) == "knn/vus_pr"
    assert headline_metric("forecasting", {"mse@96", "mse@192", "mae@96"}) == "mse@96"
    # Numeric, not lexicographic, order of horizons: 24 < 192.
    assert headline_metric("forecasting", {"mse@192", "mse@24", "mae@24"}) == "mse@24"
    assert headline_metric("clustering", {"ari"}) is None


def _row(enc: str, init: str, ds: str, value: float, **kw: object) -> ResultRow:
    return ResultRow(encoder_id=enc, init=init, task="classification", dataset=ds,
                     regime="probe", seed=0, metric="accuracy", value=value,
                     higher_is_better=True, depth=2, study="s", **kw)  # fmt: skip


def _origin_rows() -> list[ResultRow]:
    encoders = [("mae-syn-s", "synthetic", 100), ("mae-real-s", "real", 100),
                ("mae-syn-l", "synthetic", 1000), ("dino-syn-s", "synthetic", 100)]  # fmt: skip
    rows = []
    for i, ds in enumerate(("a", "b")):
        rows.append(_row("random", "random", ds, 0.5))
        for j, (enc, data, size) in enumerate(encoders):
            rows.append(_row(enc, "pretrained", ds, 0.5 + 0.05 * (i + j), objective=enc[:3]
                             if enc.startswith("mae") else "dino", pretrain_data=data,
                             pretrain_size=size))  # fmt: skip
    return rows


def test_labels_name_only_the_varying_fields() -> None:
    an = analyze(_origin_rows(), n_boot=50)
    assert an.labels == {"mae-syn-s": "mae synthetic n=100", "mae-real-s": "mae real n=100",
                         "mae-syn-l": "mae synthetic n=1000",
                         "dino-syn-s": "dino synthetic n=100"}  # fmt: skip
    # mae-syn-s: 0.5 - 0.5 on "a" and 0.55 - 0.5 on "b" -> mean difference 0.025.
    assert abs(an.head("mae-syn-s", "classification", "probe").mean - 0.025) < 1e-12


def test_origin_and_scale_curves_are_drawn(tmp_path: Path) -> None:
    with ResultStore(tmp_path / "results.sqlite") as store:
        for r in _origin_rows():
            cell = dict(study=r.study, encoder_id=r.encoder_id, task=r.task, dataset=r.dataset,
                        regime=r.regime, seed=r.seed)  # fmt: skip
            store.add_cell(cell, [r])
    files = build_report(tmp_path, n_boot=50)
    assert {"origin_probe", "scale_probe"} <= set(files)
    assert "depth_probe" not in files and "plane_probe" not in files
    md = files["markdown"].read_text()
    assert "Skipped: the pretrained encoders do not vary in depth." in md
    # (0.6 - 0.5 + 0.65 - 0.5) / 2 = 0.125: 12.5 points; 2 datasets: no interval
    assert "| mae synthetic n=1000 | +12.5 pts (2 datasets, no interval) |" in md


def test_cd_cliques_join_only_methods_within_the_critical_difference() -> None:
    from tsdividend.report.plots import cd_cliques

    ranks = {"a": 1.0, "b": 1.5, "c": 2.4, "d": 3.9, "e": 4.0}
    # a-b-c span 1.4 < 1.5; b..d spans 2.4 (no); c-d spans 1.5 (not < 1.5); d-e spans 0.1
    assert cd_cliques(ranks, 1.5) == [["a", "b", "c"], ["d", "e"]]
    assert cd_cliques(ranks, 3.5) == [["a", "b", "c", "d", "e"]]
    # overlapping groups, and d-e (inside c-d-e) is not drawn twice
    assert cd_cliques(ranks, 2.5) == [["a", "b", "c"], ["b", "c", "d"], ["c", "d", "e"]]
    assert cd_cliques(ranks, 0.05) == []
