"""Settings of the classification protocol and its task record (torch-free).

The protocol itself is :func:`tsdividend.tasks.classification.evaluate_classification`; the
probe's classifier names and C grid live here so that this module (read by the task registry, the
study spec and the report) imports neither torch nor the probe code.
"""

from __future__ import annotations

from dataclasses import dataclass

from tsdividend.config import ConfigError, check_int
from tsdividend.results.row import STUDY_REGIMES
from tsdividend.tasks.budget import StepBudget
from tsdividend.tasks.registry import TaskSpec, register_task

CLASSIFIERS = ("logistic", "svm", "ts2vec")
C_GRID = tuple(10.0**k for k in range(-4, 5))  # 1e-4 .. 1e4, the TS2Vec SVM grid (Yue et al. 2022)


@dataclass(frozen=True)
class ClassificationConfig:
    """Settings of the classification protocol (defaults and their sources).

    Attributes:
        regime: "probe" (frozen encoder) or "finetune" (end to end).
        classifier: probe classifier: "logistic", "svm" (standardised RBF SVM) or "ts2vec"
            (TS2Vec's ``fit_svm`` as published; it ignores ``c_grid``, ``fixed_C``,
            ``probe_folds`` and ``probe_repeats`` and uses its own grid with C = inf).
        c_grid: C values searched (TS2Vec's 1e-4..1e4, powers of ten).
        probe_folds: at most this many stratified CV folds for the probe's C (5, as TS2Vec); k =
            min(probe_folds, smallest class count), ``fixed_C`` when that is < 2.
        probe_repeats: fold draws averaged by the full-train probe's search (1; 5 made the chosen
            C depend less on the fold draw at ~3.5x the probe time, docs/protocols.md).
        val_fraction: share of each class of TRAIN held out for selection (0.2, a common choice;
            classes with one member stay in the fitting part).
        fixed_C: probe C when no selection is possible (1-shot, a class with one series): 1.0,
            the scikit-learn default.
        max_iter: lbfgs iterations (2000: enough for standardised 128..3072-d features).
        shots: few-shot k values (NuTime / TS2Vec-style 1, 5, 10); () turns few-shot off.
        draws: few-shot draws per k (10, the issue's minimum).
        embed_batch_size: series per forward pass when embedding.
        lr, weight_decay: AdamW for fine-tuning (1e-3; 0.05 from NuTime's fine-tune config).
        batch_size: fine-tune mini-batch (32: small UCR training sets still get several steps).
        steps, warmup, eval_every, patience, grad_clip: the fine-tune's step budget
            (:class:`~tsdividend.tasks.finetune.StepBudget`; defaults and the rule that chose
            them: docs/protocols.md, "Fine-tune budgets").
        folds: at most this many stratified folds of TRAIN select the step and the LP head's C
            (k = min(folds, smallest class count)); repeats: repeated stratified splits
            (``val_fraction``) when a class has a single member.
        lp: LP-FT (Kumar et al. 2022): start from the logistic probe's head (True), or a random
            head (False, the plain fine-tune).
    """

    regime: str = "probe"
    classifier: str = "logistic"
    c_grid: tuple[float, ...] = C_GRID
    val_fraction: float = 0.2
    fixed_C: float = 1.0
    probe_folds: int = 5
    probe_repeats: int = 1
    max_iter: int = 2000
    shots: tuple[int, ...] = (1, 5, 10)
    draws: int = 10
    embed_batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.05
    batch_size: int = 32
    steps: int = 1000
    warmup: int = 50
    eval_every: int = 10
    patience: int = 300
    grad_clip: float | None = 1.0
    folds: int = 5
    repeats: int = 5
    lp: bool = True

    def __post_init__(self) -> None:
        if self.regime not in STUDY_REGIMES:
            raise ConfigError(f"regime {self.regime!r} unknown; valid: {list(STUDY_REGIMES)}")
        if self.classifier not in CLASSIFIERS:
            raise ConfigError(f"classifier {self.classifier!r} unknown; valid: {list(CLASSIFIERS)}")
        if not self.c_grid or any(not c > 0 for c in self.c_grid):
            raise ConfigError(f"c_grid must hold positive values, got {self.c_grid}")
        if not 0.0 < self.val_fraction < 1.0:
            raise ConfigError(f"val_fraction must be in (0, 1), got {self.val_fraction}")
        if not self.fixed_C > 0 or not self.lr > 0 or self.weight_decay < 0:
            raise ConfigError("fixed_C and lr must be > 0 and weight_decay >= 0, got "
                              f"{self.fixed_C}, {self.lr}, {self.weight_decay}")  # fmt: skip
        for k in self.shots:
            check_int("shots", k, 1)
        check_int("probe_folds", self.probe_folds, 2)
        check_int("probe_repeats", self.probe_repeats, 1)
        for name, low in (("draws", 1), ("max_iter", 1), ("embed_batch_size", 1),
                          ("batch_size", 1), ("folds", 2), ("repeats", 1)):  # fmt: skip
            check_int(name, getattr(self, name), low)
        if not isinstance(self.lp, bool):
            raise ConfigError(f"lp must be a bool, got {self.lp!r}")
        StepBudget(self.steps, self.warmup, self.eval_every, self.patience, self.grad_clip)


TASK = register_task(TaskSpec(
    "classification", ClassificationConfig,
    "tsdividend.tasks.classification:evaluate_classification",
    data_task="classification", headline=("accuracy",),
    description="UCR/UEA classification: frozen probe (+ few-shot) or LP-FT fine-tune",
))  # fmt: skip
