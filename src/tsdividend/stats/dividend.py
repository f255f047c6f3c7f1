"""The pre-training dividend: relative gain of a pretrained encoder over its baseline.

Dividend of an encoder on a (task, dataset, regime, metric) at one seed, with the metric's
direction:

    higher is better:  (score - baseline) / max(|baseline|, SCORE_FLOOR)
    lower is better:   (baseline - score) / |baseline|

Every higher-is-better metric of this package is a score in [-1, 1] (accuracy, NMI, ARI, VUS,
AUC, F1, UCR score) and several sit near 0 for a random encoder (NMI on GunPoint ~0.001, VUS-PR
of a short anomaly, a UCR score of 0), where the plain relative gain explodes (0.001 -> 0.013 NMI
would be +1,200%) or is undefined. Their denominator is therefore floored at ``SCORE_FLOOR`` =
0.05: a gain on a near-zero baseline counts as a gain over 0.05. Baselines above 0.05 (every
accuracy above 5%) are untouched. Errors (MSE, MAE) are positive; an error baseline of exactly 0
gives NaN, which summaries count in ``n_undefined``, never silently.

The baseline is the ``random`` (frozen, randomly initialised) encoder for probes and the
``scratch`` (supervised from a random init) encoder for fine-tuning, of the same tokenizer and
depth, at the same seed (Razmadze et al. 2026 report relative gains over a random-init encoder).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from scipy.stats import wilcoxon

from tsdividend.results.row import ResultRow
from tsdividend.stats.bootstrap import hierarchical_bootstrap

BASELINE_FOR = {"probe": "random", "finetune": "scratch"}
SCORE_FLOOR = 0.05


def dividend(score: float, baseline: float, higher_is_better: bool) -> float:
    """Relative gain of ``score`` over ``baseline`` in the metric's direction (module docstring:
    scores divide by ``max(|baseline|, SCORE_FLOOR)``; an error baseline of 0 gives NaN)."""
    if higher_is_better:
        return (score - baseline) / max(abs(baseline), SCORE_FLOOR)
    if baseline == 0:
        return math.nan
    return (baseline - score) / abs(baseline)


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


def _arch(row: ResultRow) -> tuple:
    return (row.task, row.dataset, row.regime, row.metric, row.seed, row.tokenizer, row.depth)


def dividend_rows(rows: Sequence[ResultRow]) -> list[DividendRow]:
    """Pair every pretrained row with its baseline row (same task, dataset, regime, metric, seed,
    tokenizer and depth); pretrained rows without a baseline are left out."""
    baselines: dict[tuple, ResultRow] = {}
    for r in rows:
        if r.init == BASELINE_FOR.get(r.regime):
            baselines[_arch(r)] = r
    out = []
    for r in rows:
        if r.init != "pretrained" or (base := baselines.get(_arch(r))) is None:
            continue
        out.append(DividendRow(r.encoder_id, r.objective, r.task, r.dataset, r.regime, r.metric,
                               r.seed, r.value, base.value,
                               dividend(r.value, base.value, r.higher_is_better)))  # fmt: skip
    return out


@dataclass(frozen=True)
class DividendSummary:
    """Mean dividend of one encoder on one (task, regime, metric) over datasets and seeds."""

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
    n_undefined: int = 0  # (dataset, seed) pairs left out: error baseline of exactly 0


def summarize_dividends(
    pairs: Sequence[DividendRow], n_boot: int = 2000, seed: int = 0
) -> list[DividendSummary]:
    """Per (encoder, task, regime, metric): mean over datasets of the per-dataset mean dividend
    over seeds, a hierarchical bootstrap 95% CI over (dataset, seed), and the two-sided paired
    Wilcoxon signed-rank p-value of per-dataset mean scores vs baselines (NaN with < 2 datasets
    or when every difference is zero)."""
    groups: dict[tuple, list[DividendRow]] = defaultdict(list)
    for p in pairs:
        groups[(p.encoder_id, p.objective, p.task, p.regime, p.metric)].append(p)
    out = []
    for (enc, obj, task, regime, metric), items in groups.items():
        by_ds: dict[str, list[DividendRow]] = defaultdict(list)
        for p in items:
            if not math.isnan(p.dividend):
                by_ds[p.dataset].append(p)
        n_undefined = len(items) - sum(len(ps) for ps in by_ds.values())
        if not by_ds:
            out.append(DividendSummary(enc, obj, task, regime, metric, 0, math.nan, math.nan,
                                       math.nan, math.nan, n_undefined))  # fmt: skip
            continue
        values = {ds: [p.dividend for p in ps] for ds, ps in by_ds.items()}
        mean, low, high = hierarchical_bootstrap(values, n_boot=n_boot, seed=seed)
        scores = [sum(p.score for p in ps) / len(ps) for ps in by_ds.values()]
        bases = [sum(p.baseline for p in ps) / len(ps) for ps in by_ds.values()]
        diffs = [s - b for s, b in zip(scores, bases, strict=True)]
        pval = math.nan
        if len(diffs) >= 2 and any(d != 0 for d in diffs):
            pval = float(wilcoxon(scores, bases).pvalue)
        out.append(DividendSummary(enc, obj, task, regime, metric, len(by_ds), mean, low, high,
                                   pval, n_undefined))  # fmt: skip
    return out
