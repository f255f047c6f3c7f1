"""Compute curves: each task's score against the pretraining samples seen, one line per
objective, with the random / scratch baselines and every classical reference as levels.

The dividend curves answer "how much over the baseline"; these answer "where does each
objective stand, and is it still rising": the headline score (not its difference) of every
pretraining budget of a study with a ``budgets`` axis, on the datasets every budget of every
objective has; a baseline or reference is drawn as a horizontal level over the same datasets
(one that lacks some of them is left out, and the section says so).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from tsdividend.report import plots
from tsdividend.report.document import Block, Heading, Image, Para
from tsdividend.report.references import matches
from tsdividend.report.tables import Analysis, is_external
from tsdividend.results.row import BASELINE_OF

Panel = tuple[str, dict[str, list[tuple[float, float]]], dict[str, float]]


def _mean(per_dataset: dict[str, list[float]], datasets: set[str]) -> float:
    return float(np.mean([np.mean(per_dataset[d]) for d in sorted(datasets)]))


def panels(an: Analysis, regime: str) -> tuple[dict[str, Panel], list[str]]:
    """task -> (y label, objective -> [(samples, mean score)], level label -> mean score), and
    notes on left-out references."""
    out: dict[str, Panel] = {}
    notes: list[str] = []
    for task in an.tasks:
        metric = an.headline.get(task)
        if metric is None:
            continue
        higher = True
        lines: dict[str, dict[int, dict[str, list[float]]]] = defaultdict(dict)
        levels: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        for r in an.rows:
            if r.task != task:
                continue
            info = an.infos.get(r.encoder_id)
            if (r.init == "pretrained" and r.regime == regime and r.metric == metric and info
                    and not is_external(info) and info.pretrain_samples):  # fmt: skip
                per = lines[info.objective].setdefault(info.pretrain_samples, defaultdict(list))
                per[r.dataset].append(r.value)
                higher = r.higher_is_better
            elif (r.init == BASELINE_OF.get(regime) and r.regime == regime and r.metric == metric
                  and not (r.tokenizer or "").startswith("external:")):  # fmt: skip
                levels[f"{r.init} (baseline)"][r.dataset].append(r.value)
            elif r.init == "classical" and matches(r.metric, metric):
                levels[r.encoder_id][r.dataset].append(r.value)
        budgets = [per for budgets in lines.values() for per in budgets.values()]
        if len({s for b in lines.values() for s in b}) < 2 or not budgets:
            continue
        common = set.intersection(*(set(per) for per in budgets))
        if not common:
            continue
        curve = {obj: sorted((float(s), _mean(per, common)) for s, per in b.items())
                 for obj, b in sorted(lines.items())}  # fmt: skip
        flat = {}
        for name, per in sorted(levels.items()):
            if common <= set(per):
                flat[name] = _mean(per, common)
            else:
                notes.append(f"{task}: {name} left out (it lacks {len(common - set(per))} of the "
                             f"{len(common)} datasets)")  # fmt: skip
        better = "higher" if higher else "lower"
        ylabel = f"{metric}, mean over {len(common)} datasets ({better} is better)"
        out[task] = (ylabel, curve, flat)
    return out, notes


def section(an: Analysis, plot_dir: Path, files: dict[str, Path]) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Compute curves")]
    drawn = False
    for regime in an.regimes:
        found, notes = panels(an, regime)
        if not found:
            continue
        drawn = True
        path = plots.score_curves(found, f"Score vs pretraining samples ({regime})",
                                  plot_dir / f"compute_{regime}.png")  # fmt: skip
        files[f"compute_{regime}"] = path
        blocks += [Heading(3, regime), Image(f"plots/{path.name}", f"compute curves, {regime}"),
                   Para("Headline score (mean over the datasets every budget of every objective "
                        "has) against the samples seen in pretraining (steps x batch, log "
                        "axis), one line per objective; dashed: the baseline of the regime and "
                        "every classical reference on the same datasets."
                        + (" " + "; ".join(notes) + "." if notes else ""))]  # fmt: skip
    if not drawn:
        blocks.append(Para("Skipped: the pretrained encoders do not vary in the samples seen "
                           "(a study with a budgets axis draws them)."))  # fmt: skip
    return blocks
