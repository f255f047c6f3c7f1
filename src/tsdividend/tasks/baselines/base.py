"""The baseline registry and the one entry point that turns a baseline run into result rows.

A classical reference is a :class:`Baseline`: the task it serves, a frozen config dataclass (its
defaults documented with their source) and a function ``fit_and_score(dataset, cfg, seed) ->
(values, extra)`` that fits on the training part only and reads the test part once, at the end.
:func:`run_baseline` validates the names, times the call and writes one :class:`ResultRow` per
metric with ``init = regime = "classical"`` and ``encoder_id`` = the baseline's name.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tsdividend import __version__
from tsdividend.config import config_hash, from_dict, to_dict
from tsdividend.data import Dataset
from tsdividend.metrics import METRICS
from tsdividend.registry import Registry
from tsdividend.results.row import ResultRow
from tsdividend.tasks.probe import base_metric
from tsdividend.tasks.registry import TASKS

FitAndScore = Callable[[Dataset, Any, int], tuple[dict[str, float], dict[str, Any]]]


@dataclass(frozen=True)
class Baseline:
    """A registered classical reference.

    Attributes:
        name: registry name, also the rows' ``encoder_id``.
        task: the task it serves (a name in :data:`tsdividend.tasks.registry.TASKS`).
        config_cls: frozen dataclass of its settings (built from ``run_baseline``'s ``**cfg``).
        fit_and_score: ``(dataset, cfg, seed) -> ({metric: value}, extra)``.
    """

    name: str
    task: str
    config_cls: type
    fit_and_score: FitAndScore


BASELINES: Registry[Baseline] = Registry("baseline")


def register_baseline(
    name: str, task: str, config_cls: type
) -> Callable[[FitAndScore], FitAndScore]:
    """Decorator registering ``fit_and_score`` as baseline ``name`` for ``task``."""
    if task not in TASKS:
        raise ValueError(f"task {task!r} unknown; valid: {TASKS.names()}")

    def deco(fn: FitAndScore) -> FitAndScore:
        BASELINES.register(name)(Baseline(name, task, config_cls, fn))
        return fn

    return deco


def run_baseline(name: str, task: str, dataset: Dataset, seed: int, **cfg: Any) -> list[ResultRow]:
    """Run classical reference ``name`` on ``dataset``; one row per metric.

    Args:
        name: a registered baseline (``BASELINES.names()``: minirocket, matrix_profile, dlinear,
            seasonal_naive, raw_kmeans).
        task: the task the rows belong to; must be the baseline's task.
        dataset: a dataset of the matching kind (clustering takes a classification dataset).
        seed: seed of the stochastic parts (MiniRocket biases, k-means restarts); recorded.
        **cfg: fields of the baseline's config dataclass; unknown keys are rejected.

    Returns:
        Rows with ``init = regime = "classical"``, ``encoder_id = name``, the metric's direction
        from ``METRICS``, the wall time of the whole fit + score, and in ``extra`` the resolved
        config plus the baseline's choices (e.g. the ridge alpha, the matrix-profile window).

    Raises:
        KeyError: unknown baseline (listing the valid ones).
        ValueError: ``task`` is not the baseline's, or the dataset is of the wrong kind.
        ConfigError: a bad or unknown config key.
    """
    baseline = BASELINES.get(name)
    if task != baseline.task:
        same = [b for b in BASELINES.names() if BASELINES.get(b).task == task]
        raise ValueError(
            f"baseline {name!r} serves task {baseline.task!r}, not {task!r}; baselines for "
            f"{task!r}: {same or '(none)'}"
        )
    data_task = TASKS.get(task).data_task
    if dataset.task != data_task:
        raise ValueError(
            f"{dataset.name}: baseline {name!r} ({task}) needs a {data_task!r} dataset, "
            f"got task {dataset.task!r}"
        )
    config: Any = from_dict(baseline.config_cls, cfg, where=f"baseline {name}")
    start = time.perf_counter()
    values, extra = baseline.fit_and_score(dataset, config, seed)
    wall = time.perf_counter() - start
    resolved = to_dict(config)
    return [
        ResultRow(
            encoder_id=name,
            init="classical",
            task=task,
            dataset=dataset.name,
            regime="classical",
            seed=seed,
            metric=metric,
            value=value,
            higher_is_better=METRICS.get(base_metric(metric)).higher_is_better,
            config_hash=config_hash({"baseline": name, "config": resolved}),
            package_version=__version__,
            wall_seconds=wall,
            extra={**extra, "baseline_config": resolved},
        )
        for metric, value in values.items()
    ]
