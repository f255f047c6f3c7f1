"""The numbers of the report, computed from result rows with :mod:`tsdividend.stats`.

Pure functions of :class:`~tsdividend.results.ResultRow` lists: no plotting, no torch.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tsdividend.report.origin import OriginCheck, origin_checks, with_holm
from tsdividend.results.row import BASELINE_OF, STUDY_REGIMES, ResultRow
from tsdividend.stats import (
    average_ranks,
    dividend_rows,
    friedman,
    gated_cd,
    summarize_dividends,
)
from tsdividend.stats.dividend import DividendRow, DividendSummary
from tsdividend.stats.multiple import holm
from tsdividend.stats.ranks import FriedmanResult
from tsdividend.tasks.registry import TASKS

HEADLINE_DOC = (
    "Headline metric per task (the task record's, tsdividend.tasks.registry): classification = "
    "accuracy; anomaly = recon/vus_pr (reconstruction scorer, VUS-PR; knn/vus_pr when there is no "
    "reconstruction scorer); forecasting = mse@96 (the shortest mse@H horizon when 96 is absent); "
    "clustering = nmi. Every other metric is in the full dividend table."
)
# Few-shot draw details and their CIs are not separate measurements of the encoder.
_AUX = re.compile(r"/(ci_low|ci_high|draw\d+)$")


def is_aux(metric: str) -> bool:
    """True for the per-draw and CI-bound rows beside a metric (``accuracy@5shot/draw3``)."""
    return _AUX.search(metric) is not None


def headline_metric(task: str, metrics: set[str]) -> str | None:
    """The headline metric of ``task`` among ``metrics`` (the task record's rule), or None (also
    for a task no record names, e.g. rows of a task registered by another program)."""
    return TASKS.get(task).headline_metric(metrics) if task in TASKS else None


def task_sort_key(task: str) -> tuple[int, str]:
    order = TASKS.names()  # registration order: the built-ins first
    return (order.index(task) if task in order else len(order), task)


def regime_sort_key(regime: str) -> tuple[int, str]:
    order = STUDY_REGIMES  # frozen probes first, as in the papers' tables
    return (order.index(regime) if regime in order else len(order), regime)


@dataclass(frozen=True)
class EncoderInfo:
    """What a pretrained encoder is, read from its rows."""

    encoder_id: str
    objective: str
    tokenizer: str | None
    depth: int | None
    pretrain_data: str | None
    pretrain_size: int | None
    pretrain_samples: int | None = None


def encoder_infos(rows: Sequence[ResultRow]) -> dict[str, EncoderInfo]:
    """encoder_id -> :class:`EncoderInfo` of every pretrained encoder in ``rows``."""
    out: dict[str, EncoderInfo] = {}
    for r in rows:
        if r.init == "pretrained" and r.encoder_id not in out:
            size = r.pretrain_size
            samples = r.pretrain_samples
            out[r.encoder_id] = EncoderInfo(r.encoder_id, r.objective or r.encoder_id,
                                            r.tokenizer, r.depth, r.pretrain_data,
                                            None if size is None else int(size),
                                            None if samples is None else int(samples))  # fmt: skip
    return out


VARIANT_FIELDS = ("tokenizer", "depth", "pretrain_data", "pretrain_size", "pretrain_samples")


def varying_fields(infos: dict[str, EncoderInfo]) -> list[str]:
    """The variant fields that take more than one value among the pretrained encoders (THE
    encoder's; external encoders have none)."""
    own = [i for i in infos.values() if not is_external(i)]
    return [f for f in VARIANT_FIELDS if len({getattr(i, f) for i in own}) > 1]


def is_external(info: EncoderInfo) -> bool:
    """True for an encoder from the user's code (tokenizer ``external:<name>``)."""
    return (info.tokenizer or "").startswith("external:")


def encoder_label(info: EncoderInfo, fields: Sequence[str]) -> str:
    """``objective`` plus the given variant fields, e.g. ``mae d4 synthetic``; an external
    encoder (tokenizer ``external:<name>``) is its name alone."""
    if is_external(info):
        return info.objective
    parts = [info.objective]
    for f in fields:
        v = getattr(info, f)
        if f == "depth":
            parts.append(f"d{v}")
        elif f == "pretrain_size":
            parts.append(f"n={v}")
        elif f == "pretrain_samples" and isinstance(v, int):
            parts.append(f"{v:,} samples")
        else:
            parts.append(str(v))
    return " ".join(parts)


@dataclass
class Analysis:
    """Everything the report shows, computed once from the store's rows."""

    rows: list[ResultRow]
    pairs: list[DividendRow]
    summaries: dict[tuple[str, str, str, str], DividendSummary]  # (encoder, task, regime, metric)
    infos: dict[str, EncoderInfo]
    labels: dict[str, str]  # encoder_id -> label
    headline: dict[str, str]  # task -> metric
    origin: list[OriginCheck] = field(default_factory=list)  # real/mix vs synthetic twins

    @property
    def tasks(self) -> list[str]:
        return sorted(self.headline, key=task_sort_key)

    @property
    def regimes(self) -> list[str]:
        return sorted({s.regime for s in self.summaries.values()}, key=regime_sort_key)

    def encoders(self) -> list[str]:
        """Pretrained encoder ids with a dividend, ordered by label."""
        ids = {s.encoder_id for s in self.summaries.values()}
        return sorted(ids, key=lambda e: self.labels[e])

    def head(self, encoder_id: str, task: str, regime: str) -> DividendSummary | None:
        """The headline dividend summary of one encoder on one task and regime."""
        metric = self.headline.get(task)
        return self.summaries.get((encoder_id, task, regime, metric)) if metric else None


def analyze(
    rows: Sequence[ResultRow], n_boot: int = 2000, seed: int = 0, headline_only: bool = False
) -> Analysis:
    """Pair rows with baselines and summarize every (encoder, task, regime, metric).

    Args:
        rows: result rows (few-shot draw and CI rows are ignored).
        n_boot: bootstrap replicates of each CI.
        seed: seed of the bootstrap.
        headline_only: summarize only the headline metric of each task (the bootstrap is most
            of the cost; the terminal table needs nothing else).
    """
    rows = [r for r in rows if not is_aux(r.metric)]
    pairs = dividend_rows(rows)
    metrics_by_task: dict[str, set[str]] = defaultdict(set)
    for p in pairs:
        metrics_by_task[p.task].add(p.metric)
    headline = {t: m for t, ms in metrics_by_task.items() if (m := headline_metric(t, ms))}
    todo = [p for p in pairs if headline.get(p.task) == p.metric] if headline_only else pairs
    summaries = {(s.encoder_id, s.task, s.regime, s.metric): s
                 for s in summarize_dividends(todo, n_boot=n_boot, seed=seed)}  # fmt: skip
    infos = encoder_infos(rows)
    origin = origin_checks(summaries, infos, headline)
    if origin:  # one Holm family for every Wilcoxon test of the report
        keys = list(summaries)
        adj = holm([summaries[k].wilcoxon_p for k in keys] + [c.p for c in origin])
        summaries = {k: replace(summaries[k], wilcoxon_holm=a)
                     for k, a in zip(keys, adj, strict=False)}  # fmt: skip
        origin = with_holm(origin, adj[len(keys) :])
    fields = varying_fields(infos)
    labels = {e: encoder_label(i, fields) for e, i in infos.items()}
    counts: dict[str, int] = defaultdict(int)
    for lab in labels.values():
        counts[lab] += 1
    labels = {e: lab if counts[lab] == 1 else f"{lab} [{e[:8]}]" for e, lab in labels.items()}
    return Analysis(list(rows), pairs, summaries, infos, labels, headline, origin)


def pct(x: float) -> str:
    """A ratio as a signed percentage with one decimal (``+12.3%``), ``n/a`` for NaN."""
    return "n/a" if math.isnan(x) else f"{100 * x:+.1f}%"


def unit(hib: bool) -> str:
    """Unit of a headline dividend: points (100 x difference) for scores, % error reduction."""
    return "pts" if hib else "% err. red."


def fmt_div(x: float, hib: bool, with_unit: bool = True) -> str:
    """A headline dividend: ``+3.2 pts`` for scores, ``+12.3 %`` (error reduction) for errors."""
    if math.isnan(x):
        return "n/a"
    num = f"{100 * x:+.1f}"
    return f"{num} {'pts' if hib else '%'}" if with_unit else num


def has_ci(s: DividendSummary) -> bool:
    """True when the summary has an interval (>= 5 datasets, or seeds only on one dataset)."""
    return s.interval != "none"


def fmt_interval(s: DividendSummary) -> str:
    """``[+1.0, +5.2]`` (datasets), ``[+1.0, +5.2] seeds only``, or the per-dataset values when
    there is no interval (``no interval; a: +3.0, b: -1.0``)."""
    if s.interval != "none":
        ci = (
            f"[{fmt_div(s.ci_low, s.higher_is_better, False)}, "
            f"{fmt_div(s.ci_high, s.higher_is_better, False)}]"
        )
        return ci + (" seeds only" if s.interval == "seeds only" else "")
    vals = ", ".join(f"{ds}: {fmt_div(v, s.higher_is_better, False)}"
                     for ds, v in s.per_dataset.items())  # fmt: skip
    return f"no interval; {vals}" if vals else "no interval"


def fmt_summary(s: DividendSummary | None) -> str:
    """Compact cell: ``+3.2 pts [+1.0, +5.2]``, ``... seeds only``, or ``+3.2 pts (2 datasets,
    no interval)``; an em dash when absent."""
    if s is None:
        return "—"
    head = fmt_div(s.mean, s.higher_is_better)
    if s.interval == "none":
        n = s.n_datasets
        return f"{head} ({n} dataset{'s' if n != 1 else ''}, no interval)"
    return f"{head} {fmt_interval(s)}"


def fmt_wtl(s: DividendSummary) -> str:
    return f"{s.wins}/{s.ties}/{s.losses}"


def fmt_rel(s: DividendSummary) -> str:
    """The seed paper's relative gain, with the datasets where it is undefined."""
    if s.n_relative_undefined and s.n_relative_undefined == s.n_datasets:
        return "undefined"
    text = pct(s.relative_mean)
    if s.n_relative_undefined:
        text += f" ({s.n_relative_undefined} undefined)"
    return text


def fmt_p(p: float) -> str:
    return "n/a" if math.isnan(p) else f"{p:.3g}"


def task_hib(an: Analysis, task: str) -> bool:
    """Direction of the headline metric of ``task``."""
    metric = an.headline[task]
    return next(r.higher_is_better for r in an.rows if r.metric == metric)


def heatmap_table(an: Analysis, regime: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows (encoder x task, headline dividends with intervals) of one regime."""
    # the unit is in every cell ("pts" / "%"); the header stays "task (metric)"
    header = ["encoder"] + [f"{t} ({an.headline[t]})" for t in an.tasks]
    rows = []
    for e in an.encoders():
        cells = [fmt_summary(an.head(e, t, regime)) for t in an.tasks]
        if any(c != "—" for c in cells):
            rows.append([an.labels[e], *cells])
    return header, rows


HEADLINE_HEADER = ["encoder", "dividend", "interval / per dataset", "W/T/L", "encoder mean",
                   "baseline mean", "relative gain (seed paper)", "Wilcoxon p", "Holm p",
                   "datasets x seeds"]  # fmt: skip


def headline_table(an: Analysis, task: str, regime: str) -> list[list[str]]:
    """Rows of :data:`HEADLINE_HEADER` for every encoder on one task and regime."""
    out = []
    for e in an.encoders():
        if (s := an.head(e, task, regime)) is None:
            continue
        out.append([an.labels[e], fmt_div(s.mean, s.higher_is_better), fmt_interval(s),
                    fmt_wtl(s), f"{s.score_mean:.4g}", f"{s.baseline_mean:.4g}", fmt_rel(s),
                    fmt_p(s.wilcoxon_p), fmt_p(s.wilcoxon_holm),
                    f"{s.n_datasets} x {s.n_seeds}"])  # fmt: skip
    return out


def dividend_table_text(
    rows: Sequence[ResultRow], n_boot: int = 2000, analysis: Analysis | None = None
) -> str:
    """Plain-text table (one per regime) of the headline mean dividends.

    Args:
        rows: result rows, e.g. ``ResultStore(path).rows()``.
        n_boot: bootstrap replicates of the intervals.
        analysis: ``analyze(rows, headline_only=True)`` when the caller has it already.

    Returns:
        Aligned text ready to print; one line saying so when no pretrained row has a baseline.
    """
    an = analysis or analyze(rows, n_boot=n_boot, headline_only=True)
    if not an.summaries:
        return "No dividend: no pretrained row is paired with a random/scratch baseline row."
    blocks = []
    for regime in an.regimes:
        header, body = heatmap_table(an, regime)
        table = [header, *body]
        widths = [max(len(r[i]) for r in table) for i in range(len(header))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                 for r in table]  # fmt: skip
        lines.insert(1, "  ".join("-" * w for w in widths))
        base = BASELINE_OF.get(regime, "?")
        blocks.append(f"Dividend over {base} ({regime}): mean difference (pts = 100 x score "
                      "difference; % = error reduction) [95% CI over >= 5 datasets]:\n"
                      + "\n".join(lines))  # fmt: skip
    return "\n\n".join(blocks)


def headline_records(an: Analysis) -> list[dict[str, Any]]:
    """The headline summaries as JSON-able records (``run --json``): the encoder's label beside
    every field of :class:`~tsdividend.stats.dividend.DividendSummary`."""
    out = []
    for (encoder_id, task, _regime, metric), s in sorted(an.summaries.items()):
        if an.headline.get(task) != metric:
            continue
        record = {"encoder": an.labels.get(encoder_id, encoder_id), **dataclasses.asdict(s)}
        out.append({k: (None if isinstance(v, float) and math.isnan(v) else v)
                    for k, v in record.items()})  # fmt: skip
    return out


def method_name(row: ResultRow, an: Analysis, multi_depth: set[str]) -> str:
    """Label of a row's encoder: the pretrained label, or the baseline's name (+ its depth when
    one baseline name is used at several depths)."""
    if row.init == "pretrained":
        return an.labels[row.encoder_id]
    if row.encoder_id in multi_depth:
        return f"{row.encoder_id} d{row.depth}"
    return row.encoder_id


def mean_scores(an: Analysis) -> dict[tuple[str, str, str, str, str, str], tuple[float, int]]:
    """(method, init, task, dataset, regime, metric) -> (mean over seeds, number of seeds)."""
    depths: dict[str, set[int | None]] = defaultdict(set)
    for r in an.rows:
        if r.init != "pretrained":
            depths[r.encoder_id].add(r.depth)
    multi_depth = {e for e, ds in depths.items() if len(ds) > 1}
    acc: dict[tuple, list[float]] = defaultdict(list)
    for r in an.rows:
        key = (method_name(r, an, multi_depth), r.init, r.task, r.dataset, r.regime, r.metric)
        acc[key].append(r.value)
    return {k: (sum(v) / len(v), len(v)) for k, v in acc.items()}


def raw_table(an: Analysis) -> tuple[list[str], list[list[str]]]:
    """Mean score of every (encoder, task, dataset, regime, metric)."""
    header = ["encoder", "init", "task", "dataset", "regime", "metric", "mean", "seeds"]
    items = sorted(mean_scores(an).items(), key=lambda kv: (task_sort_key(kv[0][2]), kv[0]))
    return header, [[*k, f"{m:.4g}", str(n)] for k, (m, n) in items]


def summary_table(an: Analysis) -> tuple[list[str], list[list[str]]]:
    """Every dividend summary (all metrics): mean, interval, W/T/L, raw means, relative gain,
    raw and Holm-adjusted Wilcoxon p."""
    header = ["encoder", "task", "regime", "metric", "unit", "dividend", "interval / per dataset",
              "W/T/L", "encoder mean", "baseline mean", "relative gain", "datasets",
              "Wilcoxon p", "Holm p"]  # fmt: skip
    keys = sorted(an.summaries, key=lambda k: (task_sort_key(k[1]), k[2], k[3], an.labels[k[0]]))
    body = []
    for k in keys:
        s = an.summaries[k]
        hib = s.higher_is_better
        body.append([an.labels[k[0]], k[1], k[2], k[3], unit(hib), fmt_div(s.mean, hib, False),
                     fmt_interval(s), fmt_wtl(s), f"{s.score_mean:.4g}",
                     f"{s.baseline_mean:.4g}", fmt_rel(s), str(s.n_datasets),
                     fmt_p(s.wilcoxon_p), fmt_p(s.wilcoxon_holm)])  # fmt: skip
    return header, body


@dataclass(frozen=True)
class RankResult:
    task: str
    regime: str
    metric: str
    ranks: dict[str, float]  # method -> average rank
    n_datasets: int
    friedman: FriedmanResult
    cd: float  # NaN when the protocol gives no CD (see ``why``)
    why: str  # "" when the CD is given, else the reason in words


def rank_results(an: Analysis, alpha: float = 0.05) -> list[RankResult]:
    """Average ranks (headline metric, per-dataset means over seeds) of the pretrained encoders
    and their baseline per (task, regime); the Friedman test, and the Nemenyi CD only when
    Friedman rejects at ``alpha`` over >= 5 datasets (:func:`tsdividend.stats.gated_cd`)."""
    scores = mean_scores(an)
    out = []
    for task in an.tasks:
        metric = an.headline[task]
        hib = task_hib(an, task)
        for regime in an.regimes:
            base = BASELINE_OF.get(regime)
            table: dict[str, dict[str, float]] = defaultdict(dict)
            for (name, init, t, ds, reg, m), (mean, _) in scores.items():
                if (t, reg, m) == (task, regime, metric) and init in ("pretrained", base):
                    table[name][ds] = mean
            if len(table) < 2:
                continue
            common = set.intersection(*(set(v) for v in table.values()))
            if not common:
                continue
            ranks = average_ranks(table, higher_is_better=hib)
            test = friedman(table, higher_is_better=hib)
            cd, why = gated_cd(test, alpha)
            out.append(RankResult(task, regime, metric, ranks, len(common), test, cd, why))
    return out
