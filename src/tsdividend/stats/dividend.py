"""The pre-training dividend: what a pretrained encoder gains over its paired baseline.

Headline dividend of an encoder on one (task, dataset, regime, metric, seed), in the metric's
direction:

    higher is better (scores):  score - baseline              (the metric's own units)
    lower is better (errors):   (baseline - score) / baseline (relative error reduction)

Scores (accuracy, VUS-PR, NMI, the UCR hit rate, ...) share a scale across datasets, so their
plain difference averages meaningfully: +0.36 and -0.40 accuracy average to -0.02, whereas the
relative gains of the same pair (+360%, -50%) average to +155% while the mean score falls.
Errors (MSE, MAE) have a dataset-specific scale, so they are compared by the relative
reduction. An error baseline of exactly 0 makes the reduction undefined (NaN, counted in
``n_undefined``, never averaged).

Secondary column, the seed paper's relative gain (Razmadze et al. 2026), without any floor:

    scores: (score - baseline) / |baseline|,  undefined when |baseline| < REL_MIN_BASELINE
    errors: (baseline - score) / |baseline|,  undefined when baseline == 0

``REL_MIN_BASELINE`` = 0.01: every score of this package lies in [-1, 1]; below 1 point a ratio
turns noise into thousands of percent (NMI 0.0004 -> 0.46 would read +115,000%), so the ratio is
reported as undefined there instead of being floored to a made-up denominator.

The baseline is the ``random`` (frozen, randomly initialised) encoder for probes and the
``scratch`` (supervised from a random init) encoder for fine-tuning, of the same tokenizer and
depth, at the same seed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.stats import wilcoxon

from tsdividend.results.row import BASELINE_OF, ResultRow
from tsdividend.stats.bootstrap import hierarchical_bootstrap
from tsdividend.stats.multiple import holm

REL_MIN_BASELINE = 0.01  # |baseline| below this: the relative gain of a score is undefined
TIE_TOL = 1e-9  # |per-dataset mean dividend| <= TIE_TOL counts as a tie
MIN_DATASETS_CI = 5  # fewer datasets: no bootstrap interval, per-dataset values instead


def dividend(score: float, baseline: float, higher_is_better: bool) -> float:
    """Headline dividend: ``score - baseline`` for scores, ``(baseline - score) / baseline`` for
    errors (NaN for an error baseline of 0). See the module docstring."""
    if higher_is_better:
        return score - baseline
    if baseline == 0:
        return math.nan
    return (baseline - score) / abs(baseline)


def relative_gain(score: float, baseline: float, higher_is_better: bool) -> float:
    """The seed paper's relative gain without a floor; NaN where |baseline| is too small to divide
    by (scores: < ``REL_MIN_BASELINE``; errors: exactly 0)."""
    if higher_is_better:
        if abs(baseline) < REL_MIN_BASELINE:
            return math.nan
        return (score - baseline) / abs(baseline)
    if baseline == 0:
        return math.nan
    return (baseline - score) / abs(baseline)


def unit_of(higher_is_better: bool) -> str:
    """Unit of the headline dividend: ``pts`` (100 x difference, percentage points of the
    metric) for scores, ``% error reduction`` for errors."""
    return "pts" if higher_is_better else "% error reduction"


@dataclass(frozen=True)
class DividendRow:
    """One pretrained row paired with its baseline at the same seed."""

    encoder_id: str
    objective: str | None
    task: str
    dataset: str
    regime: str
    metric: str
    seed: int
    score: float
    baseline: float
    dividend: float
    relative: float = math.nan
    higher_is_better: bool = True


def _arch(row: ResultRow) -> tuple:
    return (row.task, row.dataset, row.regime, row.metric, row.seed, row.tokenizer, row.depth)


def dividend_rows(rows: Sequence[ResultRow]) -> list[DividendRow]:
    """Pair every pretrained row with its baseline row (same task, dataset, regime, metric, seed,
    tokenizer and depth); pretrained rows without a baseline are left out."""
    baselines: dict[tuple, ResultRow] = {}
    for r in rows:
        if r.init == BASELINE_OF.get(r.regime):
            baselines[_arch(r)] = r
    out = []
    for r in rows:
        if r.init != "pretrained" or (base := baselines.get(_arch(r))) is None:
            continue
        hib = r.higher_is_better
        out.append(DividendRow(r.encoder_id, r.objective, r.task, r.dataset, r.regime, r.metric,
                               r.seed, r.value, base.value, dividend(r.value, base.value, hib),
                               relative_gain(r.value, base.value, hib), hib))  # fmt: skip
    return out


@dataclass(frozen=True)
class DividendSummary:
    """Headline dividend of one encoder on one (task, regime, metric) over datasets and seeds.

    Attributes:
        mean: mean over datasets of the per-dataset mean dividend over seeds (headline units:
            a difference for scores, a relative error reduction for errors).
        ci_low, ci_high: 95% hierarchical bootstrap interval; NaN when ``interval == "none"``.
        interval: "datasets" (>= ``MIN_DATASETS_CI`` datasets), "seeds only" (one dataset,
            >= 2 seeds: the interval covers seed noise only) or "none".
        wins, ties, losses: datasets whose mean dividend is > TIE_TOL, within it, < -TIE_TOL.
        score_mean, baseline_mean: raw mean scores (mean over datasets of means over seeds).
        relative_mean: mean of the per-dataset mean relative gain over the datasets where it is
            defined at every seed; ``n_relative_undefined`` counts the datasets left out.
        wilcoxon_p: two-sided Wilcoxon signed-rank p of the per-dataset dividends against 0
            (NaN with < 2 datasets or all ties); ``wilcoxon_holm`` the Holm-adjusted p over
            every summary of one :func:`summarize_dividends` call.
        per_dataset: dataset -> mean dividend over seeds.
        n_undefined: (dataset, seed) pairs left out (error baseline of exactly 0).
    """

    encoder_id: str
    objective: str | None
    task: str
    regime: str
    metric: str
    n_datasets: int
    mean: float
    ci_low: float
    ci_high: float
    wilcoxon_p: float
    n_undefined: int = 0
    higher_is_better: bool = True
    interval: str = "none"
    n_seeds: int = 0
    wins: int = 0
    ties: int = 0
    losses: int = 0
    score_mean: float = math.nan
    baseline_mean: float = math.nan
    relative_mean: float = math.nan
    n_relative_undefined: int = 0
    wilcoxon_holm: float = math.nan
    per_dataset: dict[str, float] = field(default_factory=dict)


def _mean(xs: Sequence[float]) -> float:
    return float(np.mean(xs)) if len(xs) else math.nan


def _summarize(key: tuple, items: list[DividendRow], n_boot: int, seed: int) -> DividendSummary:
    enc, obj, task, regime, metric = key
    hib = items[0].higher_is_better
    by_ds: dict[str, list[DividendRow]] = defaultdict(list)
    for p in items:
        if not math.isnan(p.dividend):
            by_ds[p.dataset].append(p)
    n_undefined = len(items) - sum(len(ps) for ps in by_ds.values())
    if not by_ds:
        return DividendSummary(enc, obj, task, regime, metric, 0, math.nan, math.nan, math.nan,
                               math.nan, n_undefined, hib)  # fmt: skip
    per_ds = {ds: _mean([p.dividend for p in ps]) for ds, ps in sorted(by_ds.items())}
    n_seeds = max(len(ps) for ps in by_ds.values())
    mean = _mean(list(per_ds.values()))
    low = high = math.nan
    interval = "none"
    if len(by_ds) >= MIN_DATASETS_CI or (len(by_ds) == 1 and n_seeds >= 2):
        values = {ds: [p.dividend for p in ps] for ds, ps in by_ds.items()}
        _, low, high = hierarchical_bootstrap(values, n_boot=n_boot, seed=seed)
        interval = "datasets" if len(by_ds) >= MIN_DATASETS_CI else "seeds only"
    diffs = np.array(list(per_ds.values()))
    wins, losses = int((diffs > TIE_TOL).sum()), int((diffs < -TIE_TOL).sum())
    rel = {ds: [p.relative for p in ps] for ds, ps in by_ds.items()}
    rel_ok = [_mean(v) for v in rel.values() if not any(math.isnan(x) for x in v)]
    pval = math.nan
    if len(diffs) >= 2 and wins + losses > 0:
        pval = float(wilcoxon(diffs).pvalue)
    return DividendSummary(
        enc, obj, task, regime, metric, len(by_ds), mean, low, high, pval, n_undefined, hib,
        interval, n_seeds, wins, len(diffs) - wins - losses, losses,
        _mean([_mean([p.score for p in ps]) for ps in by_ds.values()]),
        _mean([_mean([p.baseline for p in ps]) for ps in by_ds.values()]),
        _mean(rel_ok), len(rel) - len(rel_ok), math.nan, per_ds,
    )  # fmt: skip


def summarize_dividends(
    pairs: Sequence[DividendRow], n_boot: int = 2000, seed: int = 0
) -> list[DividendSummary]:
    """Summarize every (encoder, task, regime, metric) of ``pairs`` (see
    :class:`DividendSummary`).

    The interval is a hierarchical bootstrap (datasets, then seeds) only over >= 5 datasets, or
    over seeds alone (labelled "seeds only") for one dataset with >= 2 seeds; 2-4 datasets get
    no interval. The Wilcoxon test (scipy, zero differences dropped) compares the per-dataset
    dividends with 0 (for scores that is the paired test of scores vs baselines; for errors it is
    scale-free). Every Wilcoxon p of this call forms one Holm family (Holm 1979): pass exactly
    the pairs whose tests a report prints.
    """
    groups: dict[tuple, list[DividendRow]] = defaultdict(list)
    for p in pairs:
        groups[(p.encoder_id, p.objective, p.task, p.regime, p.metric)].append(p)
    out = [_summarize(key, items, n_boot, seed) for key, items in groups.items()]
    adjusted = holm([s.wilcoxon_p for s in out])
    return [replace(s, wilcoxon_holm=a) for s, a in zip(out, adjusted, strict=True)]
