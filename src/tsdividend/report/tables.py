"""The numbers of the report, computed from result rows with :mod:`tsdividend.stats`.

Pure functions of :class:`~tsdividend.results.ResultRow` lists: no plotting, no torch.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from tsdividend.results.row import ResultRow
from tsdividend.stats import average_ranks, dividend_rows, nemenyi_cd, summarize_dividends
from tsdividend.stats.dividend import BASELINE_FOR, DividendRow, DividendSummary

TASK_ORDER = ("classification", "anomaly", "forecasting", "clustering")
# Headline metric per task, first present wins. Forecasting falls back to the shortest mse@H.
HEADLINE = {
    "classification": ("accuracy",),
    "anomaly": ("recon/vus_pr", "knn/vus_pr"),
    "forecasting": ("mse@96",),
    "clustering": ("nmi",),
}
HEADLINE_DOC = (
    "Headline metric per task: classification = accuracy; anomaly = recon/vus_pr (reconstruction "
    "scorer, VUS-PR; knn/vus_pr when there is no reconstruction scorer); forecasting = mse@96 "
    "(the shortest mse@H horizon when 96 is absent); clustering = nmi. Every other metric is in "
    "the full dividend table."
)
# Few-shot draw details and their CIs are not separate measurements of the encoder.
_AUX = re.compile(r"/(ci_low|ci_high|draw\d+)$")


def is_aux(metric: str) -> bool:
    """True for the per-draw and CI-bound rows beside a metric (``accuracy@5shot/draw3``)."""
    return _AUX.search(metric) is not None


def headline_metric(task: str, metrics: set[str]) -> str | None:
    """The headline metric of ``task`` among ``metrics`` (see :data:`HEADLINE_DOC`), or None."""
    for m in HEADLINE.get(task, ()):
        if m in metrics:
            return m
    if task == "forecasting":
        horizons = sorted((int(m[4:]), m) for m in metrics if re.fullmatch(r"mse@\d+", m))
        if horizons:
            return horizons[0][1]
    return None


def task_sort_key(task: str) -> tuple[int, str]:
    return (TASK_ORDER.index(task) if task in TASK_ORDER else len(TASK_ORDER), task)


def regime_sort_key(regime: str) -> tuple[int, str]:
    order = ("probe", "finetune")  # frozen probes first, as in the papers' tables
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


def encoder_infos(rows: Sequence[ResultRow]) -> dict[str, EncoderInfo]:
    """encoder_id -> :class:`EncoderInfo` of every pretrained encoder in ``rows``."""
    out: dict[str, EncoderInfo] = {}
    for r in rows:
        if r.init == "pretrained" and r.encoder_id not in out:
            size = r.extra.get("pretrain_size")
            out[r.encoder_id] = EncoderInfo(r.encoder_id, r.objective or r.encoder_id,
                                            r.tokenizer, r.depth, r.pretrain_data,
                                            None if size is None else int(size))  # fmt: skip
    return out


VARIANT_FIELDS = ("tokenizer", "depth", "pretrain_data", "pretrain_size")


def varying_fields(infos: dict[str, EncoderInfo]) -> list[str]:
    """The variant fields that take more than one value among the pretrained encoders."""
    return [f for f in VARIANT_FIELDS if len({getattr(i, f) for i in infos.values()}) > 1]


def encoder_label(info: EncoderInfo, fields: Sequence[str]) -> str:
    """``objective`` plus the given variant fields, e.g. ``mae d4 synthetic``."""
    parts = [info.objective]
    for f in fields:
        v = getattr(info, f)
        parts.append({"depth": f"d{v}", "pretrain_size": f"n={v}"}.get(f, str(v)))
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
    fields = varying_fields(infos)
    labels = {e: encoder_label(i, fields) for e, i in infos.items()}
    counts: dict[str, int] = defaultdict(int)
    for lab in labels.values():
        counts[lab] += 1
    labels = {e: lab if counts[lab] == 1 else f"{lab} [{e[:8]}]" for e, lab in labels.items()}
    return Analysis(list(rows), pairs, summaries, infos, labels, headline)


def pct(x: float) -> str:
    """A dividend as a signed percentage with one decimal (``+12.3%``), ``n/a`` for NaN."""
    return "n/a" if math.isnan(x) else f"{100 * x:+.1f}%"


def has_ci(s: DividendSummary) -> bool:
    """False for a summary of one (dataset, seed): the bootstrap has nothing to resample."""
    return not (s.n_datasets == 1 and s.ci_low == s.ci_high)


def fmt_summary(s: DividendSummary | None) -> str:
    """``+12.3% [+5.0%, +20.1%]``, ``+12.3% (n=1)`` without a CI, or an em dash when absent."""
    if s is None:
        return "—"
    if not has_ci(s):
        return f"{pct(s.mean)} (n=1)"
    return f"{pct(s.mean)} [{pct(s.ci_low)}, {pct(s.ci_high)}]"


def fmt_p(p: float) -> str:
    return "n/a" if math.isnan(p) else f"{p:.3g}"


def heatmap_table(an: Analysis, regime: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows (encoder x task, headline dividends with CIs) of one regime."""
    header = ["encoder"] + [f"{t} ({an.headline[t]})" for t in an.tasks]
    rows = []
    for e in an.encoders():
        cells = [fmt_summary(an.head(e, t, regime)) for t in an.tasks]
        if any(c != "—" for c in cells):
            rows.append([an.labels[e], *cells])
    return header, rows


def dividend_table_text(rows: Sequence[ResultRow], n_boot: int = 2000) -> str:
    """Plain-text table (one per regime) of the headline mean dividends with 95% CIs.

    Args:
        rows: result rows, e.g. ``ResultStore(path).rows()``.
        n_boot: bootstrap replicates of the CIs.

    Returns:
        Aligned text ready to print; one line saying so when no pretrained row has a baseline.
    """
    an = analyze(rows, n_boot=n_boot, headline_only=True)
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
        base = BASELINE_FOR.get(regime, "?")
        blocks.append(f"Dividend over {base} ({regime}), mean [95% CI]:\n" + "\n".join(lines))
    return "\n\n".join(blocks)


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
    """Every dividend summary (all metrics): mean, CI, datasets, Wilcoxon p."""
    header = ["encoder", "task", "regime", "metric", "dividend [95% CI]", "datasets", "Wilcoxon p"]
    keys = sorted(an.summaries, key=lambda k: (task_sort_key(k[1]), k[2], k[3], an.labels[k[0]]))
    return header, [[an.labels[k[0]], k[1], k[2], k[3], fmt_summary(s := an.summaries[k]),
                     str(s.n_datasets), fmt_p(s.wilcoxon_p)] for k in keys]  # fmt: skip


@dataclass(frozen=True)
class RankResult:
    task: str
    regime: str
    metric: str
    ranks: dict[str, float]  # method -> average rank
    n_datasets: int
    cd: float  # NaN when the Nemenyi table does not cover the number of methods


def rank_results(an: Analysis) -> list[RankResult]:
    """Average ranks (headline metric, per-dataset means over seeds) of the pretrained encoders
    and their baseline, per (task, regime), with the Nemenyi critical difference."""
    scores = mean_scores(an)
    out = []
    for task in an.tasks:
        metric = an.headline[task]
        hib = next(r.higher_is_better for r in an.rows if r.metric == metric)
        for regime in an.regimes:
            base = BASELINE_FOR.get(regime)
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
            k, n = len(table), len(common)
            cd = nemenyi_cd(k, n) if 2 <= k <= 10 else math.nan
            out.append(RankResult(task, regime, metric, ranks, n, cd))
    return out


def classical_table(an: Analysis, task: str) -> tuple[list[str], list[list[str]]] | None:
    """Raw scores of the classical references next to the baselines and the best pretrained
    encoder per regime, for the metrics the classical rows share with the neural rows."""
    scores = mean_scores(an)
    classical = sorted({k[0] for k in scores if k[1] == "classical" and k[2] == task})
    if not classical:
        return None
    regimes = sorted(
        {k[4] for k in scores if k[2] == task and k[1] != "classical"}, key=regime_sort_key
    )
    neural_metrics = {k[5] for k in scores if k[2] == task and k[1] != "classical"}
    cells = sorted(
        {
            (k[3], k[5])
            for k in scores
            if k[1] == "classical" and k[2] == task and k[5] in neural_metrics
        }
    )
    if not cells:
        return None
    hib = {r.metric: r.higher_is_better for r in an.rows}
    header = ["dataset", "metric", *classical]
    for reg in regimes:
        header += [f"{BASELINE_FOR.get(reg, 'baseline')} ({reg})", f"best pretrained ({reg})"]
    body = []
    for ds, metric in cells:
        row = [ds, metric]
        row += [f"{scores[k][0]:.4g}" if (k := (c, "classical", task, ds, "classical", metric))
                in scores else "—" for c in classical]  # fmt: skip
        for reg in regimes:
            base = [
                (k[0], v[0])
                for k, v in scores.items()
                if k[1] == BASELINE_FOR.get(reg) and k[2:] == (task, ds, reg, metric)
            ]
            # Name the baselines only when there are several (e.g. one per depth).
            row.append(" / ".join(f"{b:.4g}" + (f" ({n})" if len(base) > 1 else "")
                                  for n, b in sorted(base)) or "—")  # fmt: skip
            pre = [(v[0], k[0]) for k, v in scores.items()
                   if k[1] == "pretrained" and k[2:] == (task, ds, reg, metric)]  # fmt: skip
            if pre:
                best = max(pre) if hib[metric] else min(pre)
                row.append(f"{best[0]:.4g} ({best[1]})")
            else:
                row.append("—")
        body.append(row)
    return header, body
