"""``build_report``: the store's rows -> report.md, a self-contained report.html, PNG plots and
CSV tables (``tables/*.csv``, linked from the report)."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from tsdividend.report import compute, sections
from tsdividend.report.document import Block, Code, Heading, Link, Para, Table, to_html, to_markdown
from tsdividend.report.pretraining import convergence
from tsdividend.report.provenance import provenance_info
from tsdividend.report.references import (
    CLASSICAL_CSV_HEADER,
    classical_rows,
    per_dataset_rows,
)
from tsdividend.report.tables import (
    Analysis,
    analyze,
    fmt_div,
    fmt_p,
    fmt_wtl,
    rank_results,
    raw_table,
    summary_table,
)
from tsdividend.results.row import BASELINE_OF
from tsdividend.results.store import ResultStore

META_FILE = "report_meta.json"
INLINE_MAX = 40  # longer tables live only in their CSV file
ALPHA = 0.05
VERSIONED = ("tsdividend", "torch", "numpy", "scipy", "scikit-learn", "pandas", "aeon", "stumpy",
             "PyWavelets", "ptwt", "matplotlib", "ray")  # fmt: skip


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


def _cell(x: object) -> object:
    if isinstance(x, float):
        return "" if math.isnan(x) else f"{x:.6g}"
    return x


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    """One CSV table (NaN written as an empty field)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows([[_cell(c) for c in r] for r in rows])
    return path


def _table_or_link(header: list[str], rows: list[list[Any]], path: Path, what: str) -> list[Block]:
    """The table inline when short, and always a link to its CSV."""
    link = Link(f"tables/{path.name}", f"tables/{path.name} ({len(rows)} rows)")
    if not rows:
        return [Para(f"Skipped: no {what}.")]
    if len(rows) > INLINE_MAX:
        return [Para(f"{len(rows)} rows: see the CSV file."), link]
    return [Table(header, [[str(_cell(c)) for c in r] for r in rows]), link]


def _provenance(meta: dict[str, Any], versions: dict[str, str]) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Provenance")]
    blocks += [Para("Command:"), Code(str(meta.get("command", "not recorded")))]
    if "config" in meta:
        blocks += [Para("Config:"), Code(json.dumps(meta["config"], indent=2, default=str))]
    if isinstance(git := meta.get("git"), dict):
        dirty = " (dirty: uncommitted changes to tracked files)" if git.get("dirty") else ""
        blocks.append(Para(f"Source: git commit {git.get('commit')}{dirty}."))
    if isinstance(machine := meta.get("machine"), dict):
        blocks.append(Table(["machine", "value"], [[k, str(v)] for k, v in machine.items()]))
    skip = {"command", "config", "versions", "git", "machine"}
    for key in sorted(set(meta) - skip):
        blocks.append(Para(f"{key}: {meta[key]}"))
    blocks.append(Table(["package", "version"], sorted(versions.items())))
    return blocks


def _findings(an: Analysis) -> list[Block]:
    """Statements backed by tests only: "differs" needs a Holm-adjusted Wilcoxon p < ALPHA; an
    ordering of methods needs a Friedman rejection and a Nemenyi CD."""
    blocks: list[Block] = [Heading(2, "Findings")]
    if not an.summaries:
        return blocks + [Para("No dividend: no pretrained row is paired with a baseline row.")]
    n_tests = sum(not math.isnan(s.wilcoxon_p) for s in an.summaries.values())
    n_tests += sum(not math.isnan(c.p) for c in an.origin)
    blocks.append(Para(f"An encoder is said to differ from its baseline only when the two-sided "
                       f"Wilcoxon signed-rank test of its per-dataset dividends has a "
                       f"Holm-adjusted p < {ALPHA} (family: the {n_tests} Wilcoxon tests of "
                       f"this report); otherwise its numbers are reported without a claim. "
                       f"Units: pts = 100 x score difference, % = error reduction."))  # fmt: skip
    for regime in an.regimes:
        base = BASELINE_OF.get(regime, "baseline")
        for t in an.tasks:
            found = [(e, s) for e in an.encoders() if (s := an.head(e, t, regime))
                     and not math.isnan(s.mean)]  # fmt: skip
            if not found:
                continue
            where = f"{t} ({an.headline[t]}), {regime}"
            sig = [(e, s) for e, s in found if s.wilcoxon_holm < ALPHA]
            for e, s in sig:
                blocks.append(
                    Para(
                        f"{where}: {an.labels[e]} differs from the {base} baseline "
                        f"(mean {fmt_div(s.mean, s.higher_is_better)}, W/T/L "
                        f"{fmt_wtl(s)}, Holm-adjusted p={fmt_p(s.wilcoxon_holm)})."
                    )
                )
            rest = len(found) - len(sig)
            if rest:
                untested = sum(math.isnan(s.wilcoxon_p) for _, s in found)
                lo = min(s.mean for _, s in found)
                hi = max(s.mean for _, s in found)
                hib = found[0][1].higher_is_better
                blocks.append(Para(
                    f"{where}: {rest} of {len(found)} encoders show no difference from the "
                    f"{base} baseline at Holm-adjusted p < {ALPHA} ({untested} without a test: "
                    f"< 2 datasets or all ties); mean dividends lie between "
                    f"{fmt_div(lo, hib)} and {fmt_div(hi, hib)}."))  # fmt: skip
    for res in rank_results(an, ALPHA):
        f = res.friedman
        where = f"Ranks on {res.task} ({res.metric}), {res.regime}"
        if math.isnan(f.pvalue):
            text = (f"{where}: no Friedman test ({len(res.ranks)} methods on {res.n_datasets} "
                    "dataset(s); it needs >= 3 methods and >= 2 datasets); no ordering is "
                    "claimed.")  # fmt: skip
        elif f.pvalue >= ALPHA:
            text = (
                f"{where}: the Friedman test does not reject equal ranks (p={f.pvalue:.3g}, "
                f"{res.n_datasets} datasets); no ordering of the methods is supported."
            )
        elif math.isnan(res.cd):
            text = (
                f"{where}: the Friedman test rejects equal ranks (p={f.pvalue:.3g}) but no "
                f"pairwise ordering is claimed ({res.why})."
            )
        else:
            text = (
                f"{where}: the Friedman test rejects equal ranks (p={f.pvalue:.3g}); pairs "
                f"whose average ranks differ by more than the Nemenyi CD {res.cd:.2f} "
                "differ (see Ranks)."
            )
        blocks.append(Para(text))
    return blocks


def _tables(an: Analysis, table_dir: Path, files: dict[str, Path]) -> list[Block]:
    """Per-dataset, all-dividends and raw-score tables: CSV always, inline when short."""
    blocks: list[Block] = [Heading(2, "Per-dataset headline values")]
    header, rows = per_dataset_rows(an)
    files["csv_per_dataset"] = write_csv(table_dir / "per_dataset.csv", header, rows)
    blocks.append(
        Para(
            "Headline metric per dataset: encoder and baseline means over seeds, the "
            "dividend (difference for scores, relative error reduction for errors), "
            "the relative gain and every classical reference on the same dataset."
        )
    )
    blocks += _table_or_link(header, rows, files["csv_per_dataset"], "dividends")
    files["csv_classical"] = write_csv(table_dir / "classical.csv", CLASSICAL_CSV_HEADER,
                                       classical_rows(an))  # fmt: skip
    conv = convergence(an)
    files["csv_not_converged"] = write_csv(
        table_dir / "not_converged.csv", ["task", "encoder", "init", "dataset", "seed",
                                          "best_step", "budget_steps"],
        [[c.task, c.method, c.init, *nc] for c in conv for nc in c.not_converged])  # fmt: skip
    blocks.append(Heading(2, "All dividends"))
    header, dividends = summary_table(an)
    files["csv_all_dividends"] = write_csv(table_dir / "all_dividends.csv", header, dividends)
    blocks += _table_or_link(header, dividends, files["csv_all_dividends"], "dividends")
    blocks.append(Heading(2, "Raw mean scores"))
    header, raw = raw_table(an)
    files["csv_raw_scores"] = write_csv(table_dir / "raw_scores.csv", header, raw)
    blocks += _table_or_link(header, raw, files["csv_raw_scores"], "rows")
    return blocks


def build_report(
    out_dir: Path,
    *,
    store_path: Path | None = None,
    meta: dict | None = None,
    n_boot: int = 2000,
    study_dir: Path | None = None,
) -> dict[str, Path]:
    """Write ``report.md``, a self-contained ``report.html`` (plots inlined; CSV tables linked),
    ``plots/*.png`` and ``tables/*.csv`` into ``out_dir``.

    Args:
        out_dir: the study folder; the store is ``out_dir/results.sqlite`` unless ``store_path``.
            ``out_dir/encoders/*/`` (metrics.jsonl, encoder.json) feeds the pretraining sections.
        store_path: another results store to read.
        meta: provenance printed in the reports: ``command`` (str), ``config`` (JSON-able dict),
            ``versions`` (package -> version, merged over the installed versions) and any other
            key. The git commit and machine are added when absent. Saved to
            ``out_dir/report_meta.json`` and reused when a later call gives none (so
            ``tsdividend report DIR`` keeps the command, config and machine of the run).
        n_boot: bootstrap replicates of every interval.
        study_dir: the study folder to read (store, ``study.json``, encoders, an earlier report's
            meta) when the report goes elsewhere (``report --out``: a read-only study folder);
            default ``out_dir``.

    Returns:
        name -> path of every written file: ``markdown``, ``html``, ``meta``, one key per plot
        (e.g. ``heatmap_probe``, ``loss``) and one ``csv_<name>`` per table.

    Raises:
        FileNotFoundError: when the store does not exist.
    """
    out_dir = Path(out_dir)
    src = Path(study_dir) if study_dir is not None else out_dir
    store_path = Path(store_path) if store_path is not None else src / "results.sqlite"
    if not store_path.is_file():
        raise FileNotFoundError(f"no results store at {store_path}; run `tsdividend run` first")
    with ResultStore(store_path, readonly=True) as store:
        rows = store.rows()
    meta_path = out_dir / META_FILE
    fresh = meta is not None
    if meta is None:
        earlier = meta_path if meta_path.is_file() else src / META_FILE
        meta = json.loads(earlier.read_text()) if earlier.is_file() else {}
    meta = dict(meta)
    study = src / "study.json"
    recorded = json.loads(study.read_text()) if study.is_file() else {}
    if "machine" not in meta and "machine" in recorded:  # the run's own, written at its start
        meta.update({k: recorded[k] for k in ("machine", "git") if k in recorded})
    elif "machine" not in meta:
        meta.update(provenance_info())
        if not fresh:  # a rebuild: the study may have run elsewhere
            meta["provenance_note"] = ("git commit and machine recorded when this report was "
                                       "built; the study's own were not recorded")  # fmt: skip
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
    blocks.append(Para(f"Command: {meta.get('command', 'not recorded')} (config, versions and "
                       "machine under Provenance, at the end)."))  # fmt: skip
    blocks += _findings(an)
    blocks += sections.heatmaps(an, plot_dir, files)
    blocks += sections.headlines(an)
    blocks += sections.bars(an, plot_dir, files)
    blocks += sections.plane(an, plot_dir, files)
    for field in sections.CURVES:
        blocks += sections.curves(an, field, plot_dir, files)
    blocks += compute.section(an, plot_dir, files)
    blocks += sections.classical(an)
    blocks += sections.ranks(an, plot_dir, files)
    blocks += sections.convergence_section(an)
    blocks += sections.pretraining(an, src, plot_dir, files)
    blocks += _tables(an, out_dir / "tables", files)
    blocks += _provenance(meta, versions)

    md = out_dir / "report.md"
    md.write_text(to_markdown(blocks), encoding="utf-8")
    html_path = out_dir / "report.html"
    html_path.write_text(to_html(blocks, out_dir, "tsdividend report"), encoding="utf-8")
    return {"markdown": md, "html": html_path, "meta": meta_path, **files}
