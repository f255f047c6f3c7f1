"""Classical references beside every encoder, and the per-dataset table of the headline metric.

No oracle: no encoder is selected per dataset; every classical reference is compared with every
encoder (pretrained and baseline) on the datasets both have. Anomaly scorers name their metrics
``recon/<m>`` and ``knn/<m>`` while classical detectors (matrix profile) report ``<m>``: a
classical metric ``m`` matches an encoder metric ``m`` or ``<scorer>/m``.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from tsdividend.report.tables import Analysis, mean_scores, regime_sort_key, task_sort_key
from tsdividend.results.row import BASELINE_OF


def matches(classical_metric: str, encoder_metric: str) -> bool:
    """True when a classical row's metric compares with an encoder row's metric
    (``vus_pr`` <-> ``vus_pr``, ``recon/vus_pr``, ``knn/vus_pr``)."""
    return encoder_metric == classical_metric or encoder_metric.endswith("/" + classical_metric)


def _base(metric: str) -> str:
    return metric.rsplit("/", 1)[-1]


Scores = dict[tuple[str, str, str, str, str, str], tuple[float, int]]


def _classical_by(scores: Scores, task: str) -> dict[str, dict[tuple[str, str], float]]:
    """classical name -> (dataset, metric) -> mean score."""
    out: dict[str, dict[tuple[str, str], float]] = defaultdict(dict)
    for (name, init, t, ds, _, m), (mean, _) in scores.items():
        if init == "classical" and t == task:
            out[name][(ds, m)] = mean
    return out


def classical_matrix(an: Analysis, task: str) -> tuple[list[str], list[list[str]]] | None:
    """Every encoder (pretrained and baselines) x every classical reference of ``task``.

    Rows: (encoder, init, regime, encoder metric) for the encoder metrics that share the base of
    the task's headline metric (for anomaly: ``recon/vus_pr`` and ``knn/vus_pr``). Cell of a
    reference: ``reference mean vs encoder mean (n=datasets both have)``.
    """
    if task not in an.headline:
        return None
    scores = mean_scores(an)
    refs = _classical_by(scores, task)
    base = _base(an.headline[task])
    per_enc: dict[tuple[str, str, str, str], dict[str, float]] = defaultdict(dict)
    for (name, init, t, ds, reg, m), (mean, _) in scores.items():
        if t == task and init != "classical" and _base(m) == base:
            per_enc[(name, init, reg, m)][ds] = mean
    ref_names = sorted(
        n
        for n, cells in refs.items()
        if any(matches(m, em) for (_, m) in cells for (_, _, _, em) in per_enc)
    )
    if not ref_names:
        return None
    header = ["encoder", "init", "regime", "metric", *[f"{r} vs encoder (n)" for r in ref_names]]
    body = []
    order = sorted(per_enc, key=lambda k: (regime_sort_key(k[2]), k[3], k[1] != "pretrained",
                                           k[0]))  # fmt: skip
    for key in order:
        name, init, reg, metric = key
        enc = per_enc[key]
        row = [name, init, reg, metric]
        for r in ref_names:
            common = [(refs[r][(ds, cm)], enc[ds]) for (ds, cm) in refs[r]
                      if ds in enc and matches(cm, metric)]  # fmt: skip
            if common:
                ref_mean, enc_mean = np.mean(common, axis=0)
                row.append(f"{ref_mean:.4g} vs {enc_mean:.4g} (n={len(common)})")
            else:
                row.append("—")
        body.append(row)
    return header, body


CLASSICAL_CSV_HEADER = ["task", "dataset", "encoder", "init", "regime", "metric", "encoder_score",
                        "reference", "reference_metric", "reference_score"]  # fmt: skip


def classical_rows(an: Analysis) -> list[list[object]]:
    """Long per-dataset form of every (encoder, classical reference) comparison (for the CSV)."""
    scores = mean_scores(an)
    out: list[list[object]] = []
    for task in sorted({r.task for r in an.rows if r.init == "classical"}, key=task_sort_key):
        refs = _classical_by(scores, task)
        for (name, init, t, ds, reg, m), (mean, _) in sorted(scores.items()):
            if t != task or init == "classical":
                continue
            for r, cells in sorted(refs.items()):
                for (rds, cm), ref in sorted(cells.items()):
                    if rds == ds and matches(cm, m):
                        out.append([task, ds, name, init, reg, m, mean, r, cm, ref])
    return out


PER_DATASET_HEADER = ["regime", "task", "metric", "dataset", "encoder", "seeds", "encoder_score",
                      "baseline", "baseline_score", "dividend", "relative_gain"]  # fmt: skip


def per_dataset_rows(an: Analysis) -> tuple[list[str], list[list[object]]]:
    """Headline metric per (regime, task, dataset, pretrained encoder): means over seeds of the
    encoder's and its baseline's scores, the dividend, the relative gain (NaN when undefined at
    any seed) and every classical reference of the task on that dataset (matched metric)."""
    scores = mean_scores(an)
    classical = sorted({r.encoder_id for r in an.rows if r.init == "classical"})
    groups: dict[tuple[str, str, str, str, str], list] = defaultdict(list)
    for p in an.pairs:
        if an.headline.get(p.task) == p.metric:
            groups[(p.regime, p.task, p.metric, p.dataset, p.encoder_id)].append(p)
    body: list[list[object]] = []
    keys = sorted(groups, key=lambda k: (regime_sort_key(k[0]), task_sort_key(k[1]), k[3],
                                         an.labels[k[4]]))  # fmt: skip
    for key in keys:
        regime, task, metric, ds, enc = key
        ps = groups[key]
        rel = [p.relative for p in ps]
        div = [p.dividend for p in ps if not math.isnan(p.dividend)]
        row: list[object] = [
            regime,
            task,
            metric,
            ds,
            an.labels[enc],
            len(ps),
            float(np.mean([p.score for p in ps])),
            BASELINE_OF.get(regime, "?"),
            float(np.mean([p.baseline for p in ps])),
            float(np.mean(div)) if div else math.nan,
            math.nan if any(math.isnan(x) for x in rel) else float(np.mean(rel)),
        ]
        for c in classical:
            vals = [
                v
                for (n, init, t, d, _, m), (v, _) in scores.items()
                if (n, init, t, d) == (c, "classical", task, ds) and matches(m, metric)
            ]
            row.append(vals[0] if vals else "")
        body.append(row)
    return PER_DATASET_HEADER + classical, body
