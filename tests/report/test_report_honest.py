"""The report claims only what its numbers and tests support: no interval from 2 datasets, no
oracle among the classical references, unconverged fine-tunes marked, loss curves and
provenance shown, findings worded by their Holm-adjusted tests."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from tsdividend.report import build_report
from tsdividend.report.provenance import git_commit
from tsdividend.results import ResultRow, ResultStore


def _row(enc: str, init: str, ds: str, seed: int, value: float, *, task: str = "classification",
         metric: str = "accuracy", regime: str = "probe", hib: bool = True,
         **kw: object) -> ResultRow:  # fmt: skip
    obj = enc.split("-")[0] if init == "pretrained" else None
    return ResultRow(encoder_id=enc, init=init, task=task, dataset=ds, regime=regime, seed=seed,
                     metric=metric, value=value, higher_is_better=hib, objective=obj,
                     tokenizer="patch", depth=2, study="s", **kw)  # fmt: skip


def _store(path: Path, rows: list[ResultRow]) -> None:
    cells: dict[tuple, list[ResultRow]] = {}
    for r in rows:
        cells.setdefault((r.encoder_id, r.task, r.dataset, r.regime, r.seed), []).append(r)
    with ResultStore(path / "results.sqlite") as store:
        for (enc, task, ds, regime, seed), rs in cells.items():
            store.add_cell(dict(study="s", encoder_id=enc, task=task, dataset=ds, regime=regime,
                                seed=seed), rs)  # fmt: skip


def _section(md: str, title: str) -> str:
    return md.split(f"## {title}\n")[1].split("\n## ")[0]


def test_two_datasets_print_no_interval_but_the_per_dataset_values(tmp_path: Path) -> None:
    rows = []
    for ds, base, score in (("a", 0.1, 0.46), ("b", 0.8, 0.4)):
        for seed in (0, 1):
            rows += [_row("random", "random", ds, seed, base),
                     _row("mae-1", "pretrained", ds, seed, score)]  # fmt: skip
    _store(tmp_path, rows)
    files = build_report(tmp_path, n_boot=100)
    md = files["markdown"].read_text()
    heat = _section(md, "Dividend heatmap")
    cells = [ln.split("|")[2].strip() for ln in heat.splitlines() if ln.startswith("| mae")]
    assert cells == ["-2.0 pts (2 datasets, no interval)"]  # (0.36 - 0.40) / 2, not +155%
    head = _section(md, "Headline dividends per task")
    line = next(ln for ln in head.splitlines() if ln.startswith("| mae"))
    assert "[" not in line and "seeds only" not in line
    assert "no interval; a: +36.0, b: -40.0" in line and "| 1/0/1 |" in line
    assert "| 0.43 | 0.45 |" in line  # raw mean scores beside the difference
    assert "+155.0%" in line  # the seed paper's relative gain, as a secondary column
    assert not [ln for ln in _section(md, "All dividends").splitlines()
                if ln.startswith("|") and "[" in ln]  # fmt: skip
    with open(files["csv_per_dataset"], newline="") as fh:
        got = {r["dataset"]: r for r in csv.DictReader(fh)}
    assert float(got["a"]["dividend"]) == 0.36 and float(got["b"]["relative_gain"]) == -0.5
    findings = _section(md, "Findings")
    assert "differs from" not in findings  # 2 datasets: Wilcoxon p = 0.5
    assert "show no difference" in findings


def test_one_dataset_interval_is_labelled_seeds_only(tmp_path: Path) -> None:
    rows = []
    for seed in range(4):
        rows += [_row("random", "random", "a", seed, 0.5),
                 _row("mae-1", "pretrained", "a", seed, 0.6 + 0.01 * seed)]  # fmt: skip
    _store(tmp_path, rows)
    md = build_report(tmp_path, n_boot=100)["markdown"].read_text()
    intervals = re.findall(r"\[[+-]\d+\.\d, [+-]\d+\.\d\]([^|]*)", md)
    assert intervals and all(i.strip() == "seeds only" for i in intervals)
    heat_line = next(ln for ln in _section(md, "Dividend heatmap").splitlines()
                     if ln.startswith("| mae"))  # fmt: skip
    assert heat_line.split("|")[2].strip().endswith("seeds only")


def test_findings_claim_a_difference_only_after_holm(tmp_path: Path) -> None:
    rows = []
    for i in range(8):  # 8 of 8 datasets improve: Wilcoxon p = 2 / 2^8 = 0.0078
        ds = f"d{i}"
        rows += [_row("random", "random", ds, 0, 0.5), _row("mae-1", "pretrained", ds, 0, 0.6 + i
                                                            / 100)]  # fmt: skip
    _store(tmp_path, rows)
    md = build_report(tmp_path, n_boot=100)["markdown"].read_text()
    findings = _section(md, "Findings")
    assert "mae differs from the random baseline" in findings and "p=0.0078" in findings


def test_classical_references_are_no_oracle_and_match_scorer_metrics(tmp_path: Path) -> None:
    rows = []
    for ds in ("anomaly/ucr/135", "anomaly/ucr/025"):
        kw = dict(task="anomaly")
        for m in ("recon/vus_pr", "knn/vus_pr"):
            rows += [_row("random", "random", ds, 0, 0.10, metric=m, **kw),
                     _row("mae-1", "pretrained", ds, 0, 0.176, metric=m, **kw),
                     _row("jepa-2", "pretrained", ds, 0, 0.15, metric=m, **kw)]  # fmt: skip
        rows.append(_row("matrix_profile", "classical", ds, 0, 0.227, metric="vus_pr",
                         regime="classical", **kw))  # fmt: skip
    _store(tmp_path, rows)
    files = build_report(tmp_path, n_boot=100)
    classical = _section(files["markdown"].read_text(), "Classical references")
    assert "matrix_profile vs encoder (n)" in classical and "best pretrained" not in classical
    for enc in ("mae", "jepa", "random"):
        for m in ("recon/vus_pr", "knn/vus_pr"):
            line = next(ln for ln in classical.splitlines() if ln.startswith(f"| {enc} |")
                        and f"| {m} |" in ln)  # fmt: skip
            assert "| 0.227 vs " in line and "(n=2)" in line
    with open(files["csv_classical"], newline="") as fh:
        pairs = {(r["encoder"], r["metric"], r["reference"]) for r in csv.DictReader(fh)}
    assert ("mae", "recon/vus_pr", "matrix_profile") in pairs
    assert ("jepa", "knn/vus_pr", "matrix_profile") in pairs
    with open(files["csv_per_dataset"], newline="") as fh:
        per_ds = list(csv.DictReader(fh))
    assert {r["matrix_profile"] for r in per_ds} == {"0.227"}


def test_unconverged_fine_tunes_are_marked(tmp_path: Path) -> None:
    rows = []
    for ds in ("a", "b"):
        for seed in (0, 1):
            late = ds == "a" and seed == 1
            rows += [_row("scratch", "scratch", ds, seed, 0.5, regime="finetune",
                          extra={"best_step": 300 if ds == "b" else 40, "budget_steps": 300,
                                 "converged": ds != "b"}),
                     _row("mae-1", "pretrained", ds, seed, 0.6, regime="finetune",
                          extra={"best_step": 300 if late else 10, "budget_steps": 300,
                                 "converged": not late})]  # fmt: skip
    _store(tmp_path, rows)
    files = build_report(tmp_path, n_boot=100)
    md = files["markdown"].read_text()
    head = _section(md, "Headline dividends per task")
    assert "not converged (cells)" in head
    assert next(ln for ln in head.splitlines() if ln.startswith("| mae")).endswith("| 1 of 4 |")
    assert "Baseline fine-tunes not converged: scratch 2 of 4." in head
    conv = _section(md, "Fine-tune convergence")
    assert "a seed 1 (step 300 of 300)" in conv and "b seed 0 (step 300 of 300)" in conv
    with open(files["csv_not_converged"], newline="") as fh:
        got = sorted((r["encoder"], r["dataset"], r["seed"]) for r in csv.DictReader(fh))
    assert got == [("mae", "a", "1"), ("scratch", "b", "0"), ("scratch", "b", "1")]


def test_loss_curves_and_corpus_from_the_encoders_folder(tmp_path: Path) -> None:
    rows = []
    for key, obj in (("abc123", "mae"), ("def456", "jepa")):
        folder = tmp_path / "encoders" / key
        folder.mkdir(parents=True)
        logs = [{"step": s, "loss": 2.0 / s, "lr": 1e-3} for s in range(1, 40, 4)]
        logs.insert(3, {"step": 9, "emb_std": 0.3})  # a diagnostic row without a loss
        (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in logs))
        meta = {"objective": obj, "corpus": {"source": "real", "datasets": ["ucr/GunPoint"],
                                             "filtered": {"constant": 1}}}  # fmt: skip
        (folder / "encoder.json").write_text(json.dumps(meta))
        rows += [
            _row(f"{obj}-{key}", "pretrained", "a", 0, 0.7),
        ]
    rows.append(_row("random", "random", "a", 0, 0.6))
    _store(tmp_path, rows)
    files = build_report(tmp_path, n_boot=100)
    assert files["loss"].read_bytes()[:4] == b"\x89PNG"
    md = files["markdown"].read_text()
    loss = _section(md, "Pretraining loss")
    assert "| mae | 10 | 37 | 2 |" in loss and "| jepa | 10 | 37 |" in loss
    corpus = _section(md, "Pretraining corpus")
    assert "Encoders: jepa, mae" in corpus and '"ucr/GunPoint"' in corpus


def test_provenance_names_commit_and_machine(tmp_path: Path) -> None:
    _store(tmp_path, [_row("random", "random", "a", 0, 0.6)])
    md = build_report(tmp_path, meta={"command": "x"})["markdown"].read_text()
    prov = _section(md, "Provenance")
    assert "| cpu |" in prov and "| torch_threads |" in prov
    assert ("Source: git commit " in prov) == (git_commit() is not None)
    assert git_commit(tmp_path) is None  # not a work tree: omitted, never an error
    # a rebuild without recorded provenance says whose machine it names
    (tmp_path / "report_meta.json").unlink()
    md = build_report(tmp_path)["markdown"].read_text()
    assert "provenance_note: git commit and machine recorded when this report was built" in md


def _origin_study(tmp_path: Path, real: dict[str, float], syn: dict[str, float],
                  real_losses: list[float]) -> str:  # fmt: skip
    """A study with NTP pretrained on real and synthetic data over 6 datasets; returns the
    origin-check section of its report."""
    rows = []
    for key, data, scores, losses in (
        ("r1", "real", real, real_losses),
        ("s1", "synthetic", syn, [2.0 / s for s in range(1, 40)]),
    ):
        folder = tmp_path / "encoders" / key
        folder.mkdir(parents=True)
        (folder / "metrics.jsonl").write_text(
            "".join(json.dumps({"step": i, "loss": v}) + "\n" for i, v in enumerate(losses))
        )
        (folder / "encoder.json").write_text(json.dumps({"objective": "ntp"}))
        rows += [_row(f"ntp-{key}", "pretrained", ds, 0, v, pretrain_data=data)
                 for ds, v in scores.items()]  # fmt: skip
    rows += [_row("random", "random", ds, 0, 0.8) for ds in real]
    _store(tmp_path, rows)
    return _section(
        build_report(tmp_path, n_boot=100)["markdown"].read_text(), "Pretraining origin check"
    )


def test_origin_check_reads_a_real_data_deficit_shared_by_the_synthetic_twin(
    tmp_path: Path,
) -> None:
    names = [f"d{i}" for i in range(6)]
    real = {n: 0.8 - 0.01 * (i + 1) for i, n in enumerate(names)}  # -1..-6 pts, mean -3.5
    syn = {n: 0.8 - 0.005 * (i + 1) for i, n in enumerate(names)}  # -0.5..-3 pts
    sec = _origin_study(tmp_path, real, syn, [2.0 / s for s in range(1, 40)])
    assert "| ntp real | classification | probe | -3.5 pts | -1.8 pts | -1.8 pts | 0/0/6 |" in sec
    assert "synthetic twin is -1.8 pts" in sec and "not the real corpus's alone" in sec
    assert "Holm p" in sec


def test_origin_check_names_a_run_that_did_not_train(tmp_path: Path) -> None:
    names = [f"d{i}" for i in range(6)]
    real = dict.fromkeys(names, 0.7)
    syn = dict.fromkeys(names, 0.85)
    sec = _origin_study(tmp_path, real, syn, [1.0] * 10 + [3.0] * 30)
    assert "did not fall" in sec and "measures that defect" in sec
    # a real-data encoder above its baseline gets no reading
    sec2 = _origin_study(tmp_path / "b", dict.fromkeys(names, 0.9), syn, [1.0, 0.5])
    assert "No non-synthetic encoder is below its baseline" in sec2


def test_a_rebuild_reports_the_provenance_the_run_recorded(tmp_path: Path) -> None:
    _store(tmp_path, [_row("random", "random", "a", 0, 0.6)])
    recorded = {"machine": {"cpu": "Recorded CPU 9000", "torch_threads": 7},
                "git": {"commit": "abc1234", "dirty": False}}  # fmt: skip
    (tmp_path / "study.json").write_text(json.dumps({"spec": {}, **recorded}))
    md = build_report(tmp_path)["markdown"].read_text()
    prov = _section(md, "Provenance")
    assert "Recorded CPU 9000" in prov and "abc1234" in prov and "provenance_note" not in md
