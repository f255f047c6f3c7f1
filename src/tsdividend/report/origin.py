"""Does an encoder pretrained on real data fall short because of its corpus or its objective?

When a study pretrains the same objective (same tokenizer, depth and corpus size) on synthetic
and on real (or mixed) data, every non-synthetic encoder is set beside its synthetic twin on each
task's headline metric: both dividends against the shared baseline, and their per-dataset
difference with a Wilcoxon signed-rank test (a member of the report's one Holm family). The
report adds each run's loss health and reads a real-data deficit as one of three cases (issue 9,
deliverable 8): its pretraining did not train (a defect), the synthetic twin is below the
baseline too (the objective's deficit at this budget, not the corpus's), or only the real-data
encoder is below it (the corpus's).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy.stats import wilcoxon

from tsdividend.report.document import Block, Heading, Para, Table
from tsdividend.stats.dividend import TIE_TOL, DividendSummary

SYNTHETIC = "synthetic"


@dataclass(frozen=True)
class OriginCheck:
    """One non-synthetic encoder beside its synthetic twin on one (task, regime, metric).

    ``diff`` is the mean over the datasets both have of (real dividend - synthetic dividend), in
    the headline's units; ``wins`` etc. count datasets where the real-data encoder is above /
    level with / below its twin; ``p`` is the two-sided Wilcoxon p of the per-dataset
    differences (NaN with < 2 datasets or all ties), ``holm`` its Holm-adjusted value.
    """

    encoder_id: str
    twin_id: str
    origin: str
    task: str
    regime: str
    metric: str
    real: DividendSummary
    synthetic: DividendSummary
    n_datasets: int
    diff: float
    wins: int
    ties: int
    losses: int
    p: float
    holm: float = math.nan


def _twin_key(info: Any) -> tuple:
    return tuple(getattr(info, f) for f in ("objective", "tokenizer", "depth", "pretrain_size"))


def origin_checks(
    summaries: Mapping[tuple[str, str, str, str], DividendSummary],
    infos: Mapping[str, Any],
    headline: Mapping[str, str],
) -> list[OriginCheck]:
    """Every (non-synthetic encoder, synthetic twin, task, regime) on the headline metric.

    Args:
        summaries: (encoder, task, regime, metric) -> summary (``Analysis.summaries``).
        infos: encoder id -> ``EncoderInfo`` (objective, tokenizer, depth, pretrain_data,
            pretrain_size).
        headline: task -> headline metric.

    Returns:
        Checks with raw Wilcoxon p (``holm`` NaN: the caller adjusts them with the report's
        other tests).
    """
    twins = {_twin_key(i): e for e, i in infos.items() if i.pretrain_data == SYNTHETIC}
    out = []
    for (enc, task, regime, metric), s_real in sorted(summaries.items()):
        info = infos.get(enc)
        origin = None if info is None else info.pretrain_data
        if metric != headline.get(task) or origin in (None, SYNTHETIC):
            continue
        twin = twins.get(_twin_key(info))
        s_syn = summaries.get((twin, task, regime, metric)) if twin else None
        if twin is None or s_syn is None:
            continue
        common = sorted(set(s_real.per_dataset) & set(s_syn.per_dataset))
        d = np.array([s_real.per_dataset[k] - s_syn.per_dataset[k] for k in common])
        if d.size == 0:
            continue
        wins, losses = int((d > TIE_TOL).sum()), int((d < -TIE_TOL).sum())
        p = float(wilcoxon(d).pvalue) if d.size >= 2 and wins + losses else math.nan
        out.append(OriginCheck(enc, twin, str(origin), task, regime, metric, s_real, s_syn,
                               int(d.size), float(d.mean()), wins, d.size - wins - losses,
                               losses, p))  # fmt: skip
    return out


def with_holm(checks: list[OriginCheck], adjusted: list[float]) -> list[OriginCheck]:
    return [replace(c, holm=a) for c, a in zip(checks, adjusted, strict=True)]


@dataclass(frozen=True)
class LossHealth:
    """A pretraining run's loss: first logged value, median of the last 20 logs, maximum."""

    first: float
    last20: float
    peak: float

    @property
    def fell(self) -> bool:
        return self.last20 < self.first

    def text(self) -> str:
        return f"{self.first:.3g} -> {self.last20:.3g} (max {self.peak:.3g})"


def loss_health(losses: list[float]) -> LossHealth:
    return LossHealth(losses[0], float(np.median(losses[-20:])), max(losses))


def _pts(x: float, hib: bool) -> str:
    if math.isnan(x):
        return "n/a"
    return f"{100 * x:+.1f} {'pts' if hib else '%'}"


def _p(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.3g}"


def reading(c: OriginCheck, health: LossHealth | None, twin_health: LossHealth | None,
            label: str, alpha: float = 0.05) -> str | None:  # fmt: skip
    """One sentence on a non-synthetic encoder whose headline dividend is below 0 (None if it
    is not): which of the three cases the evidence points to, with its numbers."""
    hib = c.real.higher_is_better
    if not c.real.mean < 0:
        return None
    head = (f"{label} ({c.task}, {c.regime}) is {_pts(c.real.mean, hib)} against its baseline "
            f"({c.real.wins}/{c.real.ties}/{c.real.losses} W/T/L)")  # fmt: skip
    if health is None:
        return head + "; its pretraining log is missing, so no reason can be read."
    if not health.fell:
        return (head + f"; its pretraining loss did not fall ({health.text()}): the run did "
                "not train, and this dividend measures that defect.")  # fmt: skip
    tested = (f"the real - synthetic difference {_pts(c.diff, hib)} is significant (Holm p "
              f"{_p(c.holm)})" if c.holm < alpha else f"the real - synthetic difference "
              f"{_pts(c.diff, hib)} is not supported by a test (Holm p {_p(c.holm)})")  # fmt: skip
    twin = f"its synthetic twin is {_pts(c.synthetic.mean, hib)}"
    if twin_health is not None:
        twin += f" (loss {twin_health.text()})"
    if c.synthetic.mean < 0:
        return (head + f"; its loss fell ({health.text()}) and {twin}: the objective is below "
                f"the baseline on either corpus at this budget, so the deficit is not the real "
                f"corpus's alone; {tested}.")  # fmt: skip
    return (
        head + f"; its loss fell ({health.text()}) but {twin}: the deficit comes with the "
        f"{c.origin} corpus (its composition: Pretraining corpus below); {tested}."
    )


def section(checks: list[OriginCheck], labels: Mapping[str, str],
            health: Mapping[str, LossHealth]) -> list[Block]:  # fmt: skip
    """The report's "Pretraining origin check" blocks (nothing when no check exists)."""
    if not checks:
        return []
    blocks: list[Block] = [Heading(2, "Pretraining origin check"), Para(
        "Each encoder pretrained on non-synthetic data beside its synthetic twin (same "
        "objective, tokenizer, depth and corpus size), headline metric: both dividends against "
        "the same baseline, the mean per-dataset difference (real - synthetic, headline units), "
        "datasets where the real-data encoder is above / level / below, and the Wilcoxon "
        "signed-rank test of those differences (Holm-adjusted with the report's other tests). "
        "Loss: first logged value -> median of the last 20 logs (max).")]  # fmt: skip
    rows = []
    for c in checks:
        hib = c.real.higher_is_better
        h, th = health.get(c.encoder_id), health.get(c.twin_id)
        rows.append([labels.get(c.encoder_id, c.encoder_id), c.task, c.regime,
                     _pts(c.real.mean, hib), _pts(c.synthetic.mean, hib), _pts(c.diff, hib),
                     f"{c.wins}/{c.ties}/{c.losses}", _p(c.p), _p(c.holm),
                     h.text() if h else "—", th.text() if th else "—"])  # fmt: skip
    blocks.append(Table(["encoder", "task", "regime", "dividend", "synthetic twin's dividend",
                         "real - synthetic", "W/T/L vs twin", "Wilcoxon p", "Holm p",
                         "loss", "twin's loss"], rows))  # fmt: skip
    notes = [
        t
        for c in checks
        if (
            t := reading(
                c,
                health.get(c.encoder_id),
                health.get(c.twin_id),
                labels.get(c.encoder_id, c.encoder_id),
            )
        )
    ]
    blocks.append(
        Para(
            " ".join(notes)
            if notes
            else "No non-synthetic encoder is below its baseline on a headline metric."
        )
    )
    return blocks
