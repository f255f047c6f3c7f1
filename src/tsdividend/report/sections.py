"""The report's sections with figures: heatmaps, bars, plane, curves, classical references,
ranks, fine-tune convergence and pretraining. Each returns its blocks and records its files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from tsdividend.report import origin, plots
from tsdividend.report.document import Block, Code, Heading, Image, Para, Table
from tsdividend.report.pretraining import Convergence, convergence, corpora, loss_curves
from tsdividend.report.references import classical_matrix
from tsdividend.report.tables import (
    HEADLINE_DOC,
    HEADLINE_HEADER,
    Analysis,
    encoder_label,
    fmt_div,
    fmt_p,
    headline_table,
    heatmap_table,
    rank_results,
    task_hib,
    unit,
    varying_fields,
)
from tsdividend.results.row import BASELINE_OF
from tsdividend.stats.dividend import MIN_DATASETS_CI, REL_MIN_BASELINE, TIE_TOL

CURVES = {  # variant field -> (section title, x label, file stem, log x)
    "depth": ("Depth curves", "encoder depth (layers)", "depth", False),
    "pretrain_data": ("Pretraining data origin", "pretraining data", "origin", False),
    "pretrain_size": ("Pretraining corpus size", "pretraining corpus size", "scale", True),
}
DIVIDEND_DOC = (
    "Dividend of one (dataset, seed) against the baseline of the same tokenizer, depth and seed "
    "(random-init frozen encoder for probes, supervised from scratch for fine-tunes): for scores "
    "(accuracy, VUS-PR, NMI, UCR hit rate, ...) the difference score - baseline, shown in points "
    "(pts = 100 x difference); for errors (MSE, MAE) the relative error reduction (baseline - "
    "error) / baseline, shown in %. Cells: mean over datasets of the per-dataset mean over seeds. "
    f"Interval: 95% hierarchical bootstrap over (dataset, seed) only with >= {MIN_DATASETS_CI} "
    "datasets; with one dataset and >= 2 seeds an interval over seeds, labelled 'seeds only'; "
    "otherwise no interval and the per-dataset values are listed. W/T/L: datasets whose mean "
    f"dividend is > {TIE_TOL:g}, within +-{TIE_TOL:g}, < -{TIE_TOL:g}. Relative gain (the seed "
    "paper's secondary measure): (score - baseline) / |baseline| without a floor, undefined "
    f"where |baseline| < {REL_MIN_BASELINE} (errors: baseline 0). Wilcoxon: two-sided "
    "signed-rank test of the per-dataset dividends against 0; Holm p: adjusted over every "
    "Wilcoxon test of this report (one family)."
)


def regime_title(regime: str) -> str:
    return f"{regime} (baseline: {BASELINE_OF.get(regime, '?')})"


def _scale(x: float) -> float:
    return 100 * x  # display units: points or percent


def heatmaps(an: Analysis, plot_dir: Path, files: dict[str, Path]) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Dividend heatmap"), Para(HEADLINE_DOC)]
    if not an.summaries:
        return blocks + [Para("Skipped: no pretrained row is paired with a baseline row.")]
    blocks.append(Para(DIVIDEND_DOC))
    for regime in an.regimes:
        header, rows = heatmap_table(an, regime)
        if not rows:  # only non-headline metrics in this regime: they are in "All dividends"
            continue
        encs = [e for e in an.encoders() if any(an.head(e, t, regime) for t in an.tasks)]
        values = np.array([[_scale(s.mean) if (s := an.head(e, t, regime)) else math.nan
                            for t in an.tasks] for e in encs])  # fmt: skip
        units = ["pts" if task_hib(an, t) else "%" for t in an.tasks]
        cols = [f"{t} ({an.headline[t]})" for t in an.tasks]
        path = plots.heatmap(values, [r[0] for r in rows], cols, units,
                             f"Pre-training dividend, {regime_title(regime)}",
                             plot_dir / f"heatmap_{regime}.png")  # fmt: skip
        files[f"heatmap_{regime}"] = path
        blocks += [Heading(3, f"Regime: {regime}"), Table(header, rows),
                   Image(f"plots/{path.name}", f"dividend heatmap {regime}")]  # fmt: skip
    return blocks


def _nc_cell(conv: dict[tuple[str, str], Convergence], task: str, method: str) -> str:
    c = conv.get((task, method))
    return "—" if c is None else f"{len(c.not_converged)} of {c.flagged}"


def headlines(an: Analysis) -> list[Block]:
    """Per regime and task: dividend, interval or per-dataset values, W/T/L, raw means beside,
    relative gain, raw and Holm-adjusted Wilcoxon p; fine-tunes add the not-converged count."""
    blocks: list[Block] = [Heading(2, "Headline dividends per task")]
    if not an.summaries:
        return blocks + [Para("Skipped: no dividends.")]
    conv = {(c.task, c.method): c for c in convergence(an)}
    for regime in an.regimes:
        for t in an.tasks:
            body = headline_table(an, t, regime)
            if not body:
                continue
            hib = task_hib(an, t)
            header = list(HEADLINE_HEADER)
            header[1] = f"dividend ({'points' if hib else '% error reduction'})"
            if regime == "finetune":
                header.append("not converged (cells)")
                body = [[*r, _nc_cell(conv, t, r[0])] for r in body]
            blocks += [Heading(3, f"{regime_title(regime)}: {t} ({an.headline[t]}, {unit(hib)})"),
                       Table(header, body)]  # fmt: skip
            if regime == "finetune":
                base = [c for c in conv.values() if c.task == t and c.init != "pretrained"]
                if base:
                    blocks.append(
                        Para(
                            "Baseline fine-tunes not converged: "
                            + ", ".join(
                                f"{c.method} {len(c.not_converged)} of {c.flagged}" for c in base
                            )
                            + "."
                        )
                    )
    return blocks


def convergence_section(an: Analysis) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Fine-tune convergence")]
    conv = convergence(an)
    if not conv:
        return blocks + [Para("Skipped: no fine-tune row carries a convergence flag.")]
    blocks.append(Para("A fine-tune cell (dataset, seed) is 'not converged' when its selected "
                       "step is the budget's last evaluation point (validation still improving "
                       "at the end; row extra `converged` = false). Its dividend may measure "
                       "convergence speed rather than what pretraining buys."))  # fmt: skip
    rows = [[c.task, c.method, c.init, str(c.flagged), str(len(c.not_converged)),
             "; ".join(f"{ds} seed {s} (step {b} of {n})" for ds, s, b, n in c.not_converged)
             or "—"] for c in conv]  # fmt: skip
    header = ["task", "encoder", "init", "cells", "not converged", "which"]
    return blocks + [Table(header, rows)]


def bars(an: Analysis, plot_dir: Path, files: dict[str, Path]) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Dividends per task")]
    if not an.summaries:
        return blocks + [Para("Skipped: no dividends.")]
    blocks.append(Para("Whiskers: 95% bootstrap interval where one exists (>= 5 datasets, or "
                       "seeds only on one dataset); no whisker where there is none."))  # fmt: skip
    for regime in an.regimes:
        panels = {}
        for t in an.tasks:
            items = [(an.labels[e], _scale(s.mean), _scale(s.ci_low), _scale(s.ci_high))
                     for e in an.encoders() if (s := an.head(e, t, regime))]  # fmt: skip
            if items:
                xl = "dividend (points)" if task_hib(an, t) else "dividend (% error reduction)"
                panels[f"{t} ({an.headline[t]})"] = (xl, items)
        if not panels:
            continue
        path = plots.bars(panels, f"Mean dividend, {regime_title(regime)}",
                          plot_dir / f"bars_{regime}.png")  # fmt: skip
        files[f"bars_{regime}"] = path
        blocks.append(Image(f"plots/{path.name}", f"dividend bars {regime}"))
    return blocks


def plane(an: Analysis, plot_dir: Path, files: dict[str, Path]) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Precision-invariance plane"),
                           Para("x = forecasting dividend (% error reduction), y = mean of the "
                                "classification and anomaly dividends (points); one point per "
                                "pretrained encoder, headline metrics.")]  # fmt: skip
    drawn = False
    for regime in an.regimes:
        points = []
        for e in an.encoders():
            f = an.head(e, "forecasting", regime)
            ys = [s.mean for t in ("classification", "anomaly") if (s := an.head(e, t, regime))]
            if f is not None and ys:
                points.append((an.labels[e], _scale(f.mean), _scale(sum(ys) / len(ys))))
        if not points:
            continue
        path = plots.plane(points, "forecasting dividend (% error reduction)",
                           "mean classification / anomaly dividend (points)",
                           f"Precision-invariance plane, {regime_title(regime)}",
                           plot_dir / f"plane_{regime}.png")  # fmt: skip
        files[f"plane_{regime}"] = path
        rows = [[lab, f"{x:+.1f} %", f"{y:+.1f} pts"] for lab, x, y in points]
        blocks += [Heading(3, f"Regime: {regime}"),
                   Table(["encoder", "forecasting", "classification/anomaly"], rows),
                   Image(f"plots/{path.name}", f"precision-invariance plane {regime}")]  # fmt: skip
        drawn = True
    if not drawn:
        blocks.append(Para("Skipped: needs forecasting and classification or anomaly dividends."))
    return blocks


def curves(an: Analysis, field: str, plot_dir: Path, files: dict[str, Path]) -> list[Block]:
    title, xlabel, stem, log_x = CURVES[field]
    blocks: list[Block] = [Heading(2, title)]
    varying = varying_fields(an.infos)
    if field not in varying or not an.summaries:
        return blocks + [Para(f"Skipped: the pretrained encoders do not vary in {field}.")]
    others = [f for f in varying if f != field]
    for regime in an.regimes:
        panels: dict[str, tuple[str, dict[str, list]]] = {}
        for t in an.tasks:
            lines: dict[str, list] = {}
            for e in an.encoders():
                x = getattr(an.infos[e], field)
                if x is not None and (s := an.head(e, t, regime)):
                    lines.setdefault(encoder_label(an.infos[e], others), []).append(
                        (x, _scale(s.mean), _scale(s.ci_low), _scale(s.ci_high))
                    )
            if lines:
                yl = "dividend (points)" if task_hib(an, t) else "dividend (% error reduction)"
                panels[f"{t} ({an.headline[t]})"] = (
                    yl,
                    {k: sorted(v, key=lambda p: p[0]) for k, v in sorted(lines.items())},
                )
        if not panels:
            continue
        path = plots.curves(panels, xlabel, f"{title}, {regime_title(regime)}",
                            plot_dir / f"{stem}_{regime}.png", log_x=log_x)  # fmt: skip
        files[f"{stem}_{regime}"] = path
        blocks.append(Image(f"plots/{path.name}", f"{title} {regime}"))
    return blocks


def classical(an: Analysis) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Classical references")]
    tasks = sorted({r.task for r in an.rows if r.init == "classical"})
    tables = [(t, tab) for t in tasks if (tab := classical_matrix(an, t))]
    if not tables:
        return blocks + [Para("Skipped: no classical rows sharing a metric with the encoders.")]
    blocks.append(Para("Every classical reference beside every encoder (no per-dataset "
                       "selection): 'reference vs encoder (n)' = mean score of each over the n "
                       "datasets both have (means over seeds). A classical metric m matches the "
                       "encoder metrics m, recon/m and knn/m. Per-dataset values: "
                       "tables/classical.csv."))  # fmt: skip
    for t, (header, rows) in tables:
        blocks += [Heading(3, t), Table(header, rows)]
    return blocks


def ranks(an: Analysis, plot_dir: Path, files: dict[str, Path]) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Ranks, Friedman and Nemenyi tests")]
    results = rank_results(an)
    if not results:
        return blocks + [Para("Skipped: fewer than two methods share a dataset.")]
    blocks.append(Para("Average rank (1 = best) over the datasets every method has, headline "
                       "metric. The Friedman test of equal ranks comes first (>= 3 methods); "
                       "the Nemenyi critical difference (q from the studentized range, Demsar "
                       "2006) is given, and the CD diagram drawn, only when Friedman rejects at "
                       "alpha 0.05 over >= 5 datasets. Wilcoxon p (raw and Holm-adjusted): the "
                       "encoder against its baseline, as in the headline tables."))  # fmt: skip
    names = {lab: e for e, lab in an.labels.items()}
    for res in results:
        rows = []
        for name, rank in sorted(res.ranks.items(), key=lambda kv: kv[1]):
            s = an.head(names[name], res.task, res.regime) if name in names else None
            # a pretrained encoder without a summary has no baseline of its own (an external
            # model whose factory cannot build a random init)
            unpaired = name in names and names[name] in an.infos
            rows.append([name, f"{rank:.2f}",
                         fmt_div(s.mean, s.higher_is_better) if s
                         else "no baseline" if unpaired else "baseline",
                         fmt_p(s.wilcoxon_p) if s else "—",
                         fmt_p(s.wilcoxon_holm) if s else "—"])  # fmt: skip
        f = res.friedman
        test = ("Friedman not run (needs >= 3 methods and >= 2 datasets)" if math.isnan(f.pvalue)
                else f"Friedman chi2 = {f.statistic:.3g}, p = {f.pvalue:.3g}")  # fmt: skip
        cd = f"Nemenyi CD = {res.cd:.2f}" if not math.isnan(res.cd) else res.why
        blocks += [Heading(3, f"{res.task}, {res.regime} ({res.metric})"),
                   Para(f"{res.n_datasets} datasets, {len(res.ranks)} methods; {test}; {cd}."),
                   Table(["method", "average rank", "dividend", "Wilcoxon p", "Holm p"],
                         rows)]  # fmt: skip
        if not math.isnan(res.cd):
            stem = f"cd_{res.task}_{res.regime}"
            path = plots.cd_diagram(res.ranks, res.cd, f"{res.task}, {res.regime} "
                                    f"({res.metric}), {res.n_datasets} datasets",
                                    plot_dir / f"{stem}.png")  # fmt: skip
            files[stem] = path
            blocks.append(Image(f"plots/{path.name}", f"critical difference {stem}"))
    return blocks


def pretraining(an: Analysis, out_dir: Path, plot_dir: Path, files: dict[str, Path]) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Pretraining loss")]
    found = loss_curves(out_dir, an)
    if not found:
        blocks.append(Para("Skipped: no encoders/*/metrics.jsonl in the study folder."))
    else:
        path = plots.loss_curves(found, "Pretraining loss per encoder", plot_dir / "loss.png")
        files["loss"] = path
        rows = [[lab, str(len(st)), str(st[-1]), f"{ls[0]:.4g}", f"{ls[-1]:.4g}",
                 f"{float(np.median(ls[-20:])):.4g}", f"{max(ls):.4g}"]
                for lab, (st, ls) in sorted(found.items())]  # fmt: skip
        blocks += [Image(f"plots/{path.name}", "pretraining loss curves"),
                   Table(["encoder", "logs", "last step", "first loss", "last loss",
                          "median of last 20 logs", "max loss"], rows)]  # fmt: skip
    health = {e: origin.loss_health(found[lab][1]) for e, lab in an.labels.items() if lab in found}
    blocks += origin.section(an.origin, an.labels, health)
    corp = corpora(out_dir, an)
    if corp:
        blocks.append(Heading(2, "Pretraining corpus"))
        for labels, corpus in corp:
            blocks += [
                Para("Encoders: " + ", ".join(labels)),
                Code(json.dumps(corpus, indent=2, default=str)),
            ]
    return blocks
