"""The task registry: one :class:`TaskSpec` record per downstream task (torch-free).

A record says everything the study, the CLI, the statistics and the report need to know about a
task: its config class, its evaluate function, which kind of dataset it reads, its headline metric
and the regimes it runs in (each regime's baseline comes from the one mapping
:data:`tsdividend.results.row.BASELINE_OF`). Each built-in task registers its record in the
torch-free module of its config (``tasks/classification_config.py``, ``tasks/anomaly/config.py``,
``tasks/forecasting/config.py``, ``tasks/clustering_config.py``), imported at the end of this
module, so ``import tsdividend.tasks.registry`` lists all four without importing torch. A new task
registers itself from its own module (a test module included)::

    register_task(TaskSpec("toy", ToyConfig, toy_evaluate, data_task="classification",
                           headline=("accuracy",)))

The evaluate contract every record shares::

    evaluate(encoder, dataset: Dataset, cfg: <config>, seed: int, *, device: str = "auto")
        -> list[ResultRow]

``encoder`` is an :class:`~tsdividend.tasks.base.EncoderUnderTest` (or anything with the narrow
interface of :mod:`tsdividend.tasks.base`); the rows carry ``task`` = the record's name,
``regime`` = ``cfg.regime``, ``dataset`` = ``dataset.name``, ``seed`` and the encoder's
``row_fields()``. Every config class has a ``regime: str`` field.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tsdividend.config import ConfigError, from_dict
from tsdividend.registry import Registry
from tsdividend.results.row import BASELINE_OF, STUDY_REGIMES, ResultRow

Evaluate = Callable[..., list[ResultRow]]

__all__ = ["TASKS", "Evaluate", "TaskSpec", "register_task"]


@dataclass(frozen=True)
class TaskSpec:
    """What the package knows about one downstream task.

    Attributes:
        name: the task name in rows, specs and the CLI (e.g. "classification").
        config: the task's frozen config dataclass; it must have a ``regime: str`` field.
        evaluate: the evaluate function (the contract in the module docstring), or its import
            path ``"package.module:function"``, imported on first use (so the record stays
            torch-free while the function needs torch).
        data_task: the :attr:`Dataset.task` of the datasets it reads (clustering reads
            "classification" data).
        headline: headline metric candidates; the first one present in a set of rows wins.
        headline_pattern: fallback when no candidate is present: a regex with one integer
            group, matched in full; the matching metric with the smallest number wins
            (forecasting: ``r"mse@(\\d+)"``, the shortest horizon).
        regimes: the regimes a study may run the task in (each one a key of ``BASELINE_OF``).
        description: one line for help texts.
    """

    name: str
    config: type
    evaluate: Evaluate | str
    data_task: str
    headline: tuple[str, ...] = ()
    headline_pattern: str | None = None
    regimes: tuple[str, ...] = STUDY_REGIMES
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "headline", tuple(self.headline))
        object.__setattr__(self, "regimes", tuple(self.regimes))
        if not self.name:
            raise ValueError("a task needs a non-empty name")
        if not dataclasses.is_dataclass(self.config) or "regime" not in {
            f.name for f in dataclasses.fields(self.config)
        }:
            raise TypeError(f"task {self.name!r}: config {self.config!r} must be a dataclass with "
                            "a 'regime' field")  # fmt: skip
        if isinstance(self.evaluate, str) and self.evaluate.count(":") != 1:
            raise ValueError(f"task {self.name!r}: evaluate {self.evaluate!r} must be a callable "
                             "or 'package.module:function'")  # fmt: skip
        if not isinstance(self.evaluate, str) and not callable(self.evaluate):
            raise TypeError(f"task {self.name!r}: evaluate must be callable, got "
                            f"{self.evaluate!r}")  # fmt: skip
        if not self.regimes:
            raise ValueError(f"task {self.name!r} needs at least one regime")
        for regime in self.regimes:
            if regime not in BASELINE_OF:
                raise ValueError(f"task {self.name!r}: regime {regime!r} has no baseline; valid: "
                                 f"{list(BASELINE_OF)}")  # fmt: skip
        if self.headline_pattern is not None and re.compile(self.headline_pattern).groups != 1:
            raise ValueError(f"task {self.name!r}: headline_pattern {self.headline_pattern!r} "
                             "needs exactly one (integer) group")  # fmt: skip

    def evaluator(self) -> Evaluate:
        """The evaluate function (imported now when given as ``"module:function"``)."""
        if not isinstance(self.evaluate, str):
            return self.evaluate
        module, _, name = self.evaluate.partition(":")
        fn = getattr(importlib.import_module(module), name, None)
        if not callable(fn):
            raise ImportError(f"task {self.name!r}: {self.evaluate!r} is not a function")
        return fn

    def baseline(self, regime: str) -> str:
        """The init of the baseline a pretrained encoder is compared with in ``regime``.

        Raises:
            ValueError: naming the regime and the task's regimes when it does not run there.
        """
        if regime not in self.regimes:
            raise ValueError(f"task {self.name!r} has no regime {regime!r}; valid: "
                             f"{list(self.regimes)}")  # fmt: skip
        return BASELINE_OF[regime]

    def make_config(
        self, regime: str, overrides: Mapping[str, Any] | None = None, where: str = ""
    ) -> Any:
        """The task's config at ``regime`` with ``overrides`` (field -> value, nested dicts for
        nested configs), checked by :func:`tsdividend.config.from_dict`.

        Raises:
            ConfigError: for a regime the task does not take, ``regime`` among the overrides,
                or a bad field/value (named).
        """
        where = where or f"eval.{self.name}"
        overrides = dict(overrides or {})
        if "regime" in overrides:
            raise ConfigError(f"{where}.regime is set by the regime argument, not an override")
        if regime not in self.regimes:
            raise ConfigError(f"{where}: task {self.name!r} has no regime {regime!r}; valid: "
                              f"{list(self.regimes)}")  # fmt: skip
        return from_dict(self.config, {**overrides, "regime": regime}, where=where)

    def headline_metric(self, metrics: Iterable[str]) -> str | None:
        """The headline metric among ``metrics`` (see ``headline``/``headline_pattern``), or
        None when none of them qualifies."""
        present = set(metrics)
        for name in self.headline:
            if name in present:
                return name
        if self.headline_pattern is None:
            return None
        pattern = re.compile(self.headline_pattern)
        numbered = [(int(m.group(1)), name) for name in present
                    if (m := pattern.fullmatch(name)) is not None]  # fmt: skip
        return min(numbered)[1] if numbered else None


TASKS: Registry[TaskSpec] = Registry("task")


def register_task(spec: TaskSpec) -> TaskSpec:
    """Register ``spec`` under ``spec.name`` (a duplicate name is an error) and return it."""
    return TASKS.register(spec.name)(spec)


# The built-in tasks register themselves next to their (torch-free) configs; importing them here
# makes every import of this module see all four, in this order.
BUILTIN_MODULES = ("classification_config", "anomaly.config", "forecasting.config",
                   "clustering_config")  # fmt: skip
for _module in BUILTIN_MODULES:
    importlib.import_module(f"tsdividend.tasks.{_module}")
