"""build_report on a synthetic store: files, self-contained HTML, numbers equal to the rows."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from tsdividend.report import build_report, dividend_table_text
from tsdividend.results import ResultRow, ResultStore
from tsdividend.stats import dividend_rows, summarize_dividends

OBJECTIVES = ("mae", "jepa", "ntp")
DEPTHS = (2, 4)
DATASETS = ("a", "b", "c", "d", "e")  # 5: the minimum for a bootstrap interval
SEEDS = (0, 1)
METRICS = {"classification": [("accuracy", True), ("accuracy@5shot/draw0", True)],
           "forecasting": [("mse@96", False), ("mse@192", False)]}  # fmt: skip
BASE_FOR = {"probe": "random", "finetune": "scratch"}
N_BOOT = 200  # the default 2000 gives the same code path, 10x slower


def _fill(store: ResultStore, with_pretrained: bool = True, with_classical: bool = True) -> None:
    rng = np.random.default_rng(7)
    encoders = [(f"{b}-d{d}", b, None, d) for b in ("random", "scratch") for d in DEPTHS]
    if with_pretrained:
        encoders += [(f"{o}-d{d}", "pretrained", o, d) for o in OBJECTIVES for d in DEPTHS]
    for enc, init, obj, depth in encoders:
        for task, metrics in METRICS.items():
            for ds in DATASETS:
                for regime in ("probe", "finetune"):
                    if init in ("random", "scratch") and BASE_FOR[regime] != init:
                        continue
                    for seed in SEEDS:
                        cell = dict(study="t", encoder_id=enc, task=task, dataset=ds,
                                    regime=regime, seed=seed)  # fmt: skip
                        rows = [ResultRow(init=init, metric=m, value=rng.uniform(0.3, 0.9),
                                          higher_is_better=h, objective=obj, tokenizer="patch",
                                          depth=depth, pretrain_data="synthetic", **cell)
                                for m, h in metrics]  # fmt: skip
                        store.add_cell(cell, rows)
    if with_classical:
        for name, task, (metric, hib) in (("minirocket", "classification", ("accuracy", True)),
                                          ("naive", "forecasting", ("mse@96", False))):  # fmt: skip
            for ds in DATASETS:
                cell = dict(study="t", encoder_id=name, task=task, dataset=ds,
                            regime="classical", seed=0)  # fmt: skip
                row = ResultRow(init="classical", metric=metric, value=rng.uniform(0.3, 0.9),
                                higher_is_better=hib, **cell)  # fmt: skip
                store.add_cell(cell, [row])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    out = tmp_path_factory.mktemp("study")
    with ResultStore(out / "results.sqlite") as store:
        _fill(store)
    meta = {"command": "tsdividend run --preset quick --out X", "config": {"seeds": [0, 1]}}
    return out, build_report(out, meta=meta, n_boot=N_BOOT)


def test_every_file_is_written(built: tuple[Path, dict[str, Path]]) -> None:
    out, files = built
    for key in ("markdown", "html", "meta"):
        assert files[key].is_file() and files[key].stat().st_size > 0
    for regime in ("probe", "finetune"):
        for stem in ("heatmap", "bars", "plane", "depth"):
            png = files[f"{stem}_{regime}"]
            assert png.parent == out / "plots"
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not any(k.startswith(("origin", "scale")) for k in files)  # no variation in data
    # a CD diagram only where Friedman rejects (random scores here: it must not)
    assert not [k for k in files if k.startswith("cd_")]
    for name in ("per_dataset", "classical", "all_dividends", "raw_scores", "not_converged"):
        csv = files[f"csv_{name}"]
        assert csv == out / "tables" / f"{name}.csv" and csv.read_text().count("\n") >= 1
    md = files["markdown"].read_text()
    assert "(tables/per_dataset.csv)" in md and "(tables/raw_scores.csv)" in md
    assert "Skipped: the pretrained encoders do not vary in pretrain_data." in md
    assert "tsdividend run --preset quick --out X" in md and '"seeds"' in md
    assert re.search(r"\| numpy \| \d+\.\d+", md)
    assert "| cpu |" in md and "| torch_threads |" in md


def test_html_is_self_contained(built: tuple[Path, dict[str, Path]]) -> None:
    _, files = built
    html = files["html"].read_text()
    srcs = re.findall(r'src="([^"]*)"', html)
    pngs = [k for k in files if k not in ("markdown", "html", "meta") and not k.startswith("csv_")]
    assert len(srcs) == len(pngs) > 0
    assert all(s.startswith("data:image/png;base64,") for s in srcs)
    hrefs = re.findall(r'href="([^"]*)"', html)  # only the CSV tables beside the report
    assert hrefs and all(re.fullmatch(r"tables/\w+\.csv", h) for h in hrefs)
    assert "http" not in " ".join(srcs) and "<link" not in html and "<script" not in html


def _parse_heatmap(md: str) -> dict[tuple[str, str, str], tuple[float, float, float]]:
    """(label, task, regime) -> (mean, low, high) of the compact heatmap tables, in fractions."""
    section = md.split("## Dividend heatmap")[1].split("\n## ")[0]
    cell = re.compile(r"([+-]\d+\.\d) (?:pts|%) \[([+-]\d+\.\d), ([+-]\d+\.\d)\]")
    out = {}
    for part in section.split("### Regime: ")[1:]:
        regime = part.split("\n")[0].strip()
        lines = [ln for ln in part.split("\n") if ln.startswith("|")]
        tasks = [h.strip().split(" ")[0] for h in lines[0].strip("|").split("|")[1:]]
        for ln in lines[2:]:
            label, *cells = [c.strip() for c in ln.strip("|").split("|")]
            for task, c in zip(tasks, cells, strict=True):
                m = cell.fullmatch(c)
                assert m, c
                out[(label, task, regime)] = tuple(float(g) / 100 for g in m.groups())
    return out


def _independent_means(rows: list[ResultRow]) -> dict[tuple[str, str, str], float]:
    """Headline dividends written out from the definition, without tsdividend.stats: the score
    difference for accuracy, the relative error reduction for MSE."""
    base = {(r.task, r.dataset, r.regime, r.metric, r.seed, r.depth): r.value
            for r in rows if r.init == BASE_FOR.get(r.regime)}  # fmt: skip
    per_ds: dict[tuple, list[float]] = defaultdict(list)
    for r in rows:
        if r.init != "pretrained" or r.metric not in ("accuracy", "mse@96"):
            continue
        b = base[(r.task, r.dataset, r.regime, r.metric, r.seed, r.depth)]
        d = r.value - b if r.higher_is_better else (b - r.value) / b
        per_ds[(f"{r.objective} d{r.depth}", r.task, r.regime, r.dataset)].append(d)
    means: dict[tuple, list[float]] = defaultdict(list)
    for (label, task, regime, _), ds in per_ds.items():
        means[(label, task, regime)].append(float(np.mean(ds)))
    return {k: float(np.mean(v)) for k, v in means.items()}


def test_heatmap_numbers_match_the_store(built: tuple[Path, dict[str, Path]]) -> None:
    out, files = built
    printed = _parse_heatmap(files["markdown"].read_text())
    with ResultStore(out / "results.sqlite") as store:
        rows = store.rows()
    expected_mean = _independent_means(rows)
    assert set(printed) == set(expected_mean)
    assert len(printed) == len(OBJECTIVES) * len(DEPTHS) * 2 * 2
    summaries = {(f"{s.objective} d{s.encoder_id[-1]}", s.task, s.regime): s
                 for s in summarize_dividends(dividend_rows(rows), n_boot=N_BOOT)
                 if s.metric in ("accuracy", "mse@96")}  # fmt: skip
    tol = 0.0005 + 1e-9  # one printed decimal of points / percent
    for key, (mean, low, high) in printed.items():
        assert abs(mean - expected_mean[key]) <= tol, key
        assert summaries[key].interval == "datasets"
        assert abs(low - summaries[key].ci_low) <= tol, key
        assert abs(high - summaries[key].ci_high) <= tol, key


def test_terminal_table_matches_report(built: tuple[Path, dict[str, Path]]) -> None:
    out, files = built
    with ResultStore(out / "results.sqlite") as store:
        text = dividend_table_text(store.rows(), n_boot=N_BOOT)
    printed = _parse_heatmap(files["markdown"].read_text())
    assert "Dividend over random (probe)" in text and "Dividend over scratch (finetune)" in text
    for (label, task, _), (mean, _, _) in printed.items():
        unit = "pts" if task == "classification" else "%"
        assert label in text and f"{100 * mean:+.1f} {unit}" in text


def test_classical_ranks_and_raw_sections(built: tuple[Path, dict[str, Path]]) -> None:
    out, files = built
    md = files["markdown"].read_text()
    classical = md.split("## Classical references")[1].split("\n## ")[0]
    assert "minirocket" in classical and "naive" in classical
    assert "best pretrained" not in classical  # no oracle: every encoder is listed
    for o in OBJECTIVES:
        for d in DEPTHS:
            assert f"| {o} d{d} | pretrained | probe | accuracy | " in classical
    ranks = md.split("## Ranks, Friedman and Nemenyi tests")[1].split("\n## ")[0]
    # 6 pretrained encoders + 2 depth-specific baselines = 8 methods on 5 datasets
    assert ranks.count("5 datasets, 8 methods; Friedman chi2 = ") == 4
    assert "does not reject" in ranks and "Nemenyi CD =" not in ranks
    raw = (out / "tables" / "raw_scores.csv").read_text()
    assert "minirocket,classical,classification,a,classical,accuracy," in raw
    assert "/draw0" not in md and "/draw0" not in raw  # few-shot draws are not measurements


def test_meta_is_reused_on_rebuild(built: tuple[Path, dict[str, Path]]) -> None:
    out, _ = built
    files = build_report(out, n_boot=N_BOOT)
    assert "tsdividend run --preset quick --out X" in files["markdown"].read_text()


@pytest.mark.parametrize("pretrained", [False, True])
def test_empty_and_baseline_only_stores(tmp_path: Path, pretrained: bool) -> None:
    with ResultStore(tmp_path / "results.sqlite") as store:
        if pretrained:  # baseline-only
            _fill(store, with_pretrained=False, with_classical=False)
    files = build_report(tmp_path)
    assert {k for k in files if not k.startswith("csv_")} == {"markdown", "html", "meta"}
    md = files["markdown"].read_text()
    assert "Skipped: no pretrained row is paired with a baseline row." in md
    assert "Skipped: needs forecasting and classification or anomaly dividends." in md
    assert "Skipped: no classical rows sharing a metric with the encoders." in md
    assert "data:image" not in files["html"].read_text()
    assert not list((tmp_path / "plots").glob("*.png"))
    with ResultStore(tmp_path / "results.sqlite") as store:
        assert "no pretrained row" in dividend_table_text(store.rows())


def test_missing_store_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="results.sqlite"):
        build_report(tmp_path / "nope")


def test_report_does_not_import_torch() -> None:
    code = "import sys, tsdividend.report; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
