"""What the report reads besides the store: pretraining logs and corpora of ``OUT/encoders``, and
the convergence flags of fine-tune rows."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tsdividend.report.tables import Analysis, method_name, task_sort_key

ENCODER_META = "encoder.json"  # tsdividend.encoder.embedder.ENCODER_META (no torch import here)
METRICS_LOG = "metrics.jsonl"  # written by tsdividend.train.trainer


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def encoder_labels(out_dir: Path, an: Analysis) -> dict[str, str]:
    """Pretraining folder name (config hash) -> report label of its encoder.

    The study names an encoder ``<objective>-<hash>`` after its folder ``encoders/<hash>``
    (``study.json`` records the map); folders no row refers to get ``<objective> [<hash>]``.
    """
    known = dict(an.labels)
    study = _read_json(out_dir / "study.json") or {}
    by_key = {k: v.get("encoder_id") for k, v in (study.get("encoders") or {}).items()
              if isinstance(v, dict)}  # fmt: skip
    out = {}
    for folder in sorted((out_dir / "encoders").glob("*/")):
        key = folder.name
        eid = by_key.get(key) or next((e for e in known if e == key or e.endswith("-" + key)),
                                      None)  # fmt: skip
        if eid in known:
            out[key] = known[eid]
        else:
            meta = _read_json(folder / ENCODER_META) or {}
            out[key] = f"{meta.get('objective', 'encoder')} [{key[:8]}]"
    return out


def loss_curves(out_dir: Path, an: Analysis) -> dict[str, tuple[list[int], list[float]]]:
    """label -> (steps, losses) of every ``OUT/encoders/*/metrics.jsonl`` (rows with ``step``
    and ``loss``; diagnostic rows without a loss are skipped)."""
    labels = encoder_labels(out_dir, an)
    out = {}
    for key, label in labels.items():
        path = out_dir / "encoders" / key / METRICS_LOG
        if not path.is_file():
            continue
        steps, losses = [], []
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue  # a line cut by a kill mid-write
            if isinstance(row, dict) and "step" in row and "loss" in row:
                steps.append(int(row["step"]))
                losses.append(float(row["loss"]))
        if steps:
            out[label] = (steps, losses)
    return out


def corpora(out_dir: Path, an: Analysis) -> list[tuple[list[str], dict[str, Any]]]:
    """The ``corpus`` dicts of the encoders' meta JSON, each with the labels of the encoders that
    share it (identical corpora are listed once)."""
    labels = encoder_labels(out_dir, an)
    groups: dict[str, tuple[list[str], dict[str, Any]]] = {}
    for key, label in labels.items():
        meta = _read_json(out_dir / "encoders" / key / ENCODER_META) or {}
        corpus = meta.get("corpus")
        if isinstance(corpus, dict) and corpus:
            text = json.dumps(corpus, sort_keys=True, default=str)
            groups.setdefault(text, ([], corpus))[0].append(label)
    return [(sorted(labs), corpus) for labs, corpus in groups.values()]


@dataclass(frozen=True)
class Convergence:
    """Fine-tune cells (dataset, seed) of one (task, method) with a ``converged`` flag."""

    task: str
    method: str
    init: str
    flagged: int  # cells carrying the flag
    not_converged: list[tuple[str, int, int | None, int | None]]  # (dataset, seed, best, budget)


def convergence(an: Analysis) -> list[Convergence]:
    """Per (task, method) of the fine-tune regime: how many cells have ``extra["converged"]``
    and which are False (selected step = the budget's last evaluation point)."""
    depths: dict[str, set[int | None]] = defaultdict(set)
    for r in an.rows:
        if r.init != "pretrained":
            depths[r.encoder_id].add(r.depth)
    multi = {e for e, ds in depths.items() if len(ds) > 1}
    cells: dict[tuple[str, str, str], dict[tuple[str, int], Any]] = defaultdict(dict)
    for r in an.rows:
        if r.regime != "finetune" or "converged" not in r.extra:
            continue
        key = (r.task, method_name(r, an, multi), r.init)
        cells[key][(r.dataset, r.seed)] = r.extra
    out = []
    for (task, method, init), by_cell in sorted(
        cells.items(), key=lambda kv: (task_sort_key(kv[0][0]), kv[0])
    ):
        bad = [
            (ds, seed, ex.get("best_step"), ex.get("budget_steps"))
            for (ds, seed), ex in sorted(by_cell.items())
            if ex.get("converged") is False
        ]
        out.append(Convergence(task, method, init, len(by_cell), bad))
    return out
