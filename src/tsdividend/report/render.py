"""``build_report``: the store's rows -> report.md, a self-contained report.html and PNG plots."""

from __future__ import annotations

import json
import math
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from tsdividend.report import plots
from tsdividend.report.document import (
    Block,
    Code,
    Heading,
    Image,
    Para,
    Table,
    to_html,
    to_markdown,
)
from tsdividend.report.tables import (
    HEADLINE_DOC,
    Analysis,
    analyze,
    classical_table,
    encoder_label,
    fmt_p,
    fmt_summary,
    has_ci,
    heatmap_table,
    pct,
    rank_results,
    raw_table,
    summary_table,
    varying_fields,
)
from tsdividend.results.store import ResultStore
from tsdividend.stats.dividend import BASELINE_FOR, SCORE_FLOOR

META_FILE = "report_meta.json"
VERSIONED = ("tsdividend", "torch", "numpy", "scipy", "scikit-learn", "pandas", "aeon", "stumpy",
             "PyWavelets", "ptwt", "matplotlib", "ray")  # fmt: skip
CURVES = {  # variant field -> (section title, x label, file stem, log x)
    "depth": ("Depth curves", "encoder depth (layers)", "depth", False),
    "pretrain_data": ("Pretraining data origin", "pretraining data", "origin", False),
    "pretrain_size": ("Pretraining corpus size", "pretraining corpus size", "scale", True),
}


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that produce the numbers (read from metadata, so
    nothing heavy is imported)."""
    out = {}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _regime_title(regime: str) -> str:
    return f"{regime} (baseline: {BASELINE_FOR.get(regime, '?')})"


def _provenance(meta: dict[str, Any], versions: dict[str, str]) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Provenance")]
    blocks += [Para("Command:"), Code(str(meta.get("command", "not recorded")))]
    if "config" in meta:
        blocks += [Para("Config:"), Code(json.dumps(meta["config"], indent=2, default=str))]
    for key in sorted(set(meta) - {"command", "config", "versions"}):
        blocks.append(Para(f"{key}: {meta[key]}"))
    blocks.append(Table(["package", "version"], sorted(versions.items())))
    return blocks


def _findings(an: Analysis) -> list[Block]:
    """One line per (regime, task): the largest and smallest headline dividend, and how many
    encoders have a CI entirely above or below zero."""
    blocks: list[Block] = [Heading(2, "Findings")]
    if not an.summaries:
        return blocks + [Para("No dividend: no pretrained row is paired with a baseline row.")]
    rows = []
    for regime in an.regimes:
        for t in an.tasks:
            found = [(e, s) for e in an.encoders() if (s := an.head(e, t, regime))
                     and not math.isnan(s.mean)]  # fmt: skip
            if not found:
                continue
            best = max(found, key=lambda es: es[1].mean)
            worst = min(found, key=lambda es: es[1].mean)
            above = sum(has_ci(s) and s.ci_low > 0 for _, s in found)
            below = sum(has_ci(s) and s.ci_high < 0 for _, s in found)
            rows.append([regime, f"{t} ({an.headline[t]})",
                         f"{an.labels[best[0]]} {fmt_summary(best[1])}",
                         f"{an.labels[worst[0]]} {fmt_summary(worst[1])}",
                         f"{above} / {below} of {len(found)}"])  # fmt: skip
    blocks.append(Para("Largest and smallest mean dividend per task; the last column counts "
                       "encoders whose 95% CI lies entirely above / below zero (cells with "
                       "n=1 have no CI and count in neither)."))  # fmt: skip
    header = ["regime", "task (metric)", "largest", "smallest", "CI > 0 / CI < 0"]
    return blocks + [Table(header, rows)]


def _heatmaps(an: Analysis, plot_dir: Path, files: dict[str, Path]) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Dividend heatmap"), Para(HEADLINE_DOC)]
    if not an.summaries:
        return blocks + [Para("Skipped: no pretrained row is paired with a baseline row.")]
    blocks.append(Para("Dividend of one (dataset, seed) = (score - baseline) / max(|baseline|, "
                       f"{SCORE_FLOOR}) for scores, (baseline - error) / baseline for errors; "
                       "baseline = random-init frozen encoder (probe) or supervised from "
                       "scratch (finetune) of the same architecture and seed. Cells: mean "
                       "dividend over datasets (per-dataset mean over seeds), with the 95% "
                       "hierarchical bootstrap CI over (dataset, seed); `(n=1)` marks a cell "
                       "measured on one dataset and one seed, which has no CI."))  # fmt: skip
    for regime in an.regimes:
        header, rows = heatmap_table(an, regime)
        if not rows:  # only non-headline metrics in this regime: they are in "All dividends"
            continue
        values = np.array([[s.mean if (s := an.head(e, t, regime)) else math.nan
                            for t in an.tasks] for e in an.encoders()
                           if any(an.head(e, t, regime) for t in an.tasks)])  # fmt: skip
        path = plots.heatmap(values, [r[0] for r in rows], header[1:],
                             f"Pre-training dividend, {_regime_title(regime)}",
                             plot_dir / f"heatmap_{regime}.png")  # fmt: skip
        files[f"heatmap_{regime}"] = path
        blocks += [Heading(3, f"Regime: {regime}"), Table(header, rows),
                   Image(f"plots/{path.name}", f"dividend heatmap {regime}")]  # fmt: skip
    return blocks


def _bars(an: Analysis, plot_dir: Path, files: dict[str, Path]) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Dividends per task")]
    if not an.summaries:
        return blocks + [Para("Skipped: no dividends.")]
    for regime in an.regimes:
        panels = {}
        for t in an.tasks:
            items = [(an.labels[e], s.mean, s.ci_low, s.ci_high)
                     for e in an.encoders() if (s := an.head(e, t, regime))]  # fmt: skip
            if items:
                panels[f"{t} ({an.headline[t]})"] = items
        if not panels:
            continue
        path = plots.bars(panels, f"Mean dividend with 95% CI, {_regime_title(regime)}",
                          plot_dir / f"bars_{regime}.png")  # fmt: skip
        files[f"bars_{regime}"] = path
        blocks.append(Image(f"plots/{path.name}", f"dividend bars {regime}"))
    return blocks


def _plane(an: Analysis, plot_dir: Path, files: dict[str, Path]) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Precision-invariance plane"),
                           Para("x = forecasting dividend (precision), y = mean of the "
                                "classification and anomaly dividends (invariance); one point "
                                "per pretrained encoder, headline metrics.")]  # fmt: skip
    drawn = False
    for regime in an.regimes:
        points = []
        for e in an.encoders():
            f = an.head(e, "forecasting", regime)
            ys = [s.mean for t in ("classification", "anomaly") if (s := an.head(e, t, regime))]
            if f is not None and ys:
                points.append((an.labels[e], f.mean, sum(ys) / len(ys)))
        if not points:
            continue
        path = plots.plane(points, "forecasting dividend (%)",
                           "mean classification / anomaly dividend (%)",
                           f"Precision-invariance plane, {_regime_title(regime)}",
                           plot_dir / f"plane_{regime}.png")  # fmt: skip
        files[f"plane_{regime}"] = path
        rows = [[lab, pct(x), pct(y)] for lab, x, y in points]
        blocks += [Heading(3, f"Regime: {regime}"),
                   Table(["encoder", "forecasting", "classification/anomaly"], rows),
                   Image(f"plots/{path.name}", f"precision-invariance plane {regime}")]  # fmt: skip
        drawn = True
    if not drawn:
        blocks.append(Para("Skipped: needs forecasting and classification or anomaly dividends."))
    return blocks


def _curves(an: Analysis, field: str, plot_dir: Path, files: dict[str, Path]) -> list[Block]:
    title, xlabel, stem, log_x = CURVES[field]
    blocks: list[Block] = [Heading(2, title)]
    varying = varying_fields(an.infos)
    if field not in varying or not an.summaries:
        return blocks + [Para(f"Skipped: the pretrained encoders do not vary in {field}.")]
    others = [f for f in varying if f != field]
    for regime in an.regimes:
        panels: dict[str, dict[str, list]] = {}
        for t in an.tasks:
            lines: dict[str, list] = {}
            for e in an.encoders():
                x = getattr(an.infos[e], field)
                if x is not None and (s := an.head(e, t, regime)):
                    lines.setdefault(encoder_label(an.infos[e], others), []).append(
                        (x, s.mean, s.ci_low, s.ci_high)
                    )
            if lines:
                panels[f"{t} ({an.headline[t]})"] = {k: sorted(v, key=lambda p: p[0])
                                                     for k, v in sorted(lines.items())}  # fmt: skip
        if not panels:
            continue
        path = plots.curves(panels, xlabel, f"{title}, {_regime_title(regime)}",
                            plot_dir / f"{stem}_{regime}.png", log_x=log_x)  # fmt: skip
        files[f"{stem}_{regime}"] = path
        blocks.append(Image(f"plots/{path.name}", f"{title} {regime}"))
    return blocks


def _classical(an: Analysis) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Classical references")]
    tasks = sorted({r.task for r in an.rows if r.init == "classical"})
    tables = [(t, tab) for t in tasks if (tab := classical_table(an, t))]
    if not tables:
        return blocks + [Para("Skipped: no classical rows sharing a metric with the encoders.")]
    blocks.append(Para("Raw scores (mean over seeds): classical references, the baselines and "
                       "the best pretrained encoder per regime."))  # fmt: skip
    for t, (header, rows) in tables:
        blocks += [Heading(3, t), Table(header, rows)]
    return blocks


def _ranks(an: Analysis, plot_dir: Path, files: dict[str, Path]) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Ranks and Wilcoxon tests")]
    results = rank_results(an)
    if not results:
        return blocks + [Para("Skipped: fewer than two methods share a dataset.")]
    blocks.append(Para("Average rank (1 = best) over the datasets every method has, headline "
                       "metric; two methods differ at alpha 0.05 when their ranks differ by more "
                       "than the Nemenyi CD (Demsar 2006). Wilcoxon p: paired signed-rank test "
                       "of per-dataset mean scores against the baseline. In the diagrams a red "
                       "bar joins methods whose ranks differ by less than the CD."))  # fmt: skip
    names = {lab: e for e, lab in an.labels.items()}
    for res in results:
        rows = []
        for name, rank in sorted(res.ranks.items(), key=lambda kv: kv[1]):
            s = an.head(names[name], res.task, res.regime) if name in names else None
            rows.append([name, f"{rank:.2f}", pct(s.mean) if s else "baseline",
                         fmt_p(s.wilcoxon_p) if s else "—"])  # fmt: skip
        cd = "n/a (more than 10 methods)" if math.isnan(res.cd) else f"{res.cd:.2f}"
        blocks += [Heading(3, f"{res.task}, {res.regime} ({res.metric})"),
                   Para(f"{res.n_datasets} datasets, Nemenyi CD = {cd}"),
                   Table(["method", "average rank", "dividend", "Wilcoxon p"], rows)]  # fmt: skip
        if res.n_datasets >= 2 and len(res.ranks) >= 3:  # a diagram of 1 dataset says nothing
            stem = f"cd_{res.task}_{res.regime}"
            path = plots.cd_diagram(res.ranks, res.cd, f"{res.task}, {res.regime} "
                                    f"({res.metric}), {res.n_datasets} datasets",
                                    plot_dir / f"{stem}.png")  # fmt: skip
            files[stem] = path
            blocks.append(Image(f"plots/{path.name}", f"critical difference {stem}"))
    return blocks


def build_report(
    out_dir: Path,
    *,
    store_path: Path | None = None,
    meta: dict | None = None,
    n_boot: int = 2000,
) -> dict[str, Path]:
    """Write ``report.md``, a self-contained ``report.html`` and ``plots/*.png`` into ``out_dir``.

    Args:
        out_dir: the study folder; the store is ``out_dir/results.sqlite`` unless ``store_path``.
        store_path: another results store to read.
        meta: provenance printed in the reports: ``command`` (str), ``config`` (JSON-able dict),
            ``versions`` (package -> version, merged over the installed versions) and any other
            key. Saved to ``out_dir/report_meta.json`` and reused when a later call gives none
            (so ``tsdividend report DIR`` keeps the command and config of the run).
        n_boot: bootstrap replicates of every CI (see :func:`tsdividend.stats.summarize_dividends`).

    Returns:
        name -> path of every written file: ``markdown``, ``html``, ``meta`` and one key per plot
        (e.g. ``heatmap_probe``).

    Raises:
        FileNotFoundError: when the store does not exist.
    """
    out_dir = Path(out_dir)
    store_path = Path(store_path) if store_path is not None else out_dir / "results.sqlite"
    if not store_path.is_file():
        raise FileNotFoundError(f"no results store at {store_path}; run `tsdividend run` first")
    with ResultStore(store_path) as store:
        rows = store.rows()
    meta_path = out_dir / META_FILE
    if meta is None:
        meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    meta = dict(meta)
    versions = {**package_versions(), **meta.get("versions", {})}
    meta["versions"] = versions
    out_dir.mkdir(parents=True, exist_ok=True)
    meta_path.write_text(json.dumps(meta, indent=2, default=str))

    plot_dir = out_dir / "plots"
    for old in plot_dir.glob("*.png"):  # a rebuild must not embed stale figures
        old.unlink()
    an = analyze(rows, n_boot=n_boot)
    files: dict[str, Path] = {}
    studies = sorted({r.study for r in rows}) or ["(none)"]
    blocks: list[Block] = [
        Heading(1, "tsdividend report"),
        Para(f"Store: {store_path.name}, {len(rows)} rows; studies: {', '.join(studies)}."),
    ]
    if not rows:
        blocks.append(Para("The store has no rows: every section below is empty."))
    blocks.append(Para(f"Command: {meta.get('command', 'not recorded')} (config and versions "
                       "under Provenance, at the end)."))  # fmt: skip
    blocks += _findings(an)
    blocks += _heatmaps(an, plot_dir, files)
    blocks += _bars(an, plot_dir, files)
    blocks += _plane(an, plot_dir, files)
    for field in CURVES:
        blocks += _curves(an, field, plot_dir, files)
    blocks += _classical(an)
    blocks += _ranks(an, plot_dir, files)
    blocks.append(Heading(2, "All dividends"))
    header, body = summary_table(an)
    blocks.append(Table(header, body) if body else Para("Skipped: no dividends."))
    blocks.append(Heading(2, "Raw mean scores"))
    header, body = raw_table(an)
    blocks.append(Table(header, body) if body else Para("Skipped: no rows."))
    blocks += _provenance(meta, versions)

    md = out_dir / "report.md"
    md.write_text(to_markdown(blocks), encoding="utf-8")
    html_path = out_dir / "report.html"
    html_path.write_text(to_html(blocks, out_dir, "tsdividend report"), encoding="utf-8")
    return {"markdown": md, "html": html_path, "meta": meta_path, **files}
