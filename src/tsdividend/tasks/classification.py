"""Classification protocol (UCR univariate, UEA multivariate): probe, few-shot and fine-tune.

* ``regime="probe"``: frozen embeddings (computed once per (encoder, dataset), see
  :mod:`tsdividend.tasks.probe`); the training rows are put into a content-based canonical order
  (row order cannot matter); standardised logistic regression (lbfgs, default) or RBF SVM
  (``classifier="svm"``) with C from 1e-4..1e4 chosen by stratified k-fold CV on TRAIN (k =
  min(5, smallest class)), or ``classifier="ts2vec"``: TS2Vec's SVM protocol as published (Yue et
  al. 2022: no scaler, C grid with inf, 5-fold CV, C = inf for tiny train sets); refit on all of
  train, test scored once. Few-shot rows come with it: k in ``shots`` series per class,
  ``draws`` seeded draws (from the canonical order), probe on the k-shot support set only,
  scored on the full test set.
* ``regime="finetune"``: LP-FT of the encoder module (pretrained weights, or a random init for
  ``scratch``) plus a linear head on THE pooled embedding, on a step budget with the step chosen
  by stratified k-fold cross-validation on TRAIN, refit on all of train, test scored once
  (:mod:`tsdividend.tasks.classification_finetune`).

Multivariate data: the encoder is channel-independent and THE pooling concatenates channels.
Series longer than the encoder's context are windowed and pooled (``probe.max_window``).
Metrics: accuracy and balanced accuracy. Row metric names: ``accuracy`` / ``balanced_accuracy``
(full training set); few-shot ``accuracy@5shot`` (mean over draws, the value stats should use),
``accuracy@5shot/ci_low`` and ``/ci_high`` (95% Student-t interval over draws) and
``accuracy@5shot/draw3`` (one draw; every row name is unique per (dataset, seed)).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np

from tsdividend.config import ConfigError, check_int
from tsdividend.data import Dataset
from tsdividend.metrics import accuracy, balanced_accuracy
from tsdividend.results.row import ResultRow
from tsdividend.tasks.base import EncoderUnderTest
from tsdividend.tasks.classification_finetune import (  # noqa: F401 (re-exported)
    WindowedClassifier,
    finetune,
    finetune_rows,
)
from tsdividend.tasks.finetune import StepBudget
from tsdividend.tasks.probe import (
    C_GRID,
    CLASSIFIERS,
    DEFAULT_CACHE,
    EmbeddingCache,
    canonical_order,
    few_shot_indices,
    fit_few_shot,
    fit_probe,
    result_rows,
    t_interval,
)  # fmt: skip

REGIMES = ("probe", "finetune")


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
        if self.regime not in REGIMES:
            raise ConfigError(f"regime {self.regime!r} unknown; valid: {list(REGIMES)}")
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


def evaluate_classification(
    encoder: EncoderUnderTest, dataset: Dataset, cfg: ClassificationConfig, seed: int, *,
    device: str = "auto", cache: EmbeddingCache | None = None,
) -> list[ResultRow]:  # fmt: skip
    """Run the classification protocol of ``cfg.regime`` on one dataset.

    Args:
        encoder: the encoder under test; "random" is the probe baseline, "scratch" the fine-tune
            one (each is rejected in the other regime, where it would mean something else).
        dataset: a classification :class:`Dataset` with "train" and "test" splits.
        cfg: protocol settings.
        seed: seeds the validation split, few-shot draws, random inits and fine-tune shuffling.
        device: "auto", "cpu" or "cuda".
        cache: embedding cache (default: the process-wide ``probe.DEFAULT_CACHE``).

    Returns:
        Result rows (see the module docstring for metric names).
    """
    _check_inputs(encoder, dataset, cfg.regime)
    if cfg.regime == "finetune":
        return finetune_rows(encoder, dataset, cfg, seed, device)
    start = time.perf_counter()
    emb = (DEFAULT_CACHE if cache is None else cache).get(encoder, seed, dataset, device=device,
                                       batch_size=cfg.embed_batch_size)  # fmt: skip
    tr, te = dataset.splits["train"], dataset.splits["test"]
    # Canonical (content-based) order: the probe AND the few-shot draws see the same rows in the
    # same order however the dataset listed them.
    tr = tr[canonical_order(emb.Z[tr], dataset.y[tr])]
    Z_train, y_train, Z_test, y_test = emb.Z[tr], dataset.y[tr], emb.Z[te], dataset.y[te]
    fit = fit_probe(Z_train, y_train, Z_test, classifier=cfg.classifier, grid=cfg.c_grid,
                    max_folds=cfg.probe_folds, repeats=cfg.probe_repeats, seed=seed,
                    fixed_C=cfg.fixed_C, max_iter=cfg.max_iter)  # fmt: skip
    values = {"accuracy": accuracy(y_test, fit.pred),
              "balanced_accuracy": balanced_accuracy(y_test, fit.pred)}  # fmt: skip
    extra = {"C": fit.C, "cv_accuracy": fit.cv_score, "cv_folds": fit.cv_folds,
             "cv_repeats": fit.cv_repeats, "selection": fit.selection,
             "classifier": cfg.classifier, "n_train": int(tr.size), "n_fit": fit.n_fit,
             "n_test": int(te.size), "embed_seconds": emb.seconds}  # fmt: skip
    rows = result_rows(encoder, "classification", dataset.name, "probe", seed, values,
                       wall_seconds=time.perf_counter() - start, eval_config=cfg,
                       extra=extra)  # fmt: skip
    for k in cfg.shots:
        rows += _few_shot_rows(encoder, dataset, cfg, seed, k, (Z_train, y_train, Z_test, y_test))
    return rows


def _check_inputs(encoder: EncoderUnderTest, dataset: Dataset, regime: str) -> None:
    if dataset.task != "classification":
        raise ValueError(f"{dataset.name} is a {dataset.task!r} dataset; classification needs "
                         "labelled series (ucr/..., uea/...)")  # fmt: skip
    missing = {"train", "test"} - set(dataset.splits)
    if missing:
        raise ValueError(f"{dataset.name} lacks split(s) {sorted(missing)}; has "
                         f"{sorted(dataset.splits)}")  # fmt: skip
    wrong = {"probe": "scratch", "finetune": "random"}[regime]
    if encoder.kind == wrong:
        raise ValueError(f"encoder kind {wrong!r} does not apply to regime {regime!r}: 'random' is "
                         "the frozen probe baseline, 'scratch' the fine-tune baseline")  # fmt: skip


def _few_shot_rows(
    encoder: EncoderUnderTest, dataset: Dataset, cfg: ClassificationConfig, seed: int, k: int,
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> list[ResultRow]:  # fmt: skip
    """Rows of ``cfg.draws`` k-shot draws plus their mean and 95% t-interval."""
    Z_train, y_train, Z_test, y_test = data
    smallest = int(np.unique(y_train, return_counts=True)[1].min())
    if smallest < k:
        warnings.warn(f"{dataset.name}: a class has {smallest} training series, fewer than "
                      f"k={k}; {k}-shot rows skipped", stacklevel=3)  # fmt: skip
        return []
    start = time.perf_counter()
    scores: dict[str, list[float]] = {"accuracy": [], "balanced_accuracy": []}
    values: dict[str, float] = {}
    per_metric: dict[str, dict] = {}
    for draw in range(cfg.draws):
        idx = few_shot_indices(y_train, k, np.random.default_rng([seed, k, draw]))
        fit = fit_few_shot(Z_train[idx], y_train[idx], Z_test, k, classifier=cfg.classifier,
                           grid=cfg.c_grid, seed=seed, fixed_C=cfg.fixed_C, max_iter=cfg.max_iter,
                           max_folds=cfg.probe_folds)  # fmt: skip
        pred = fit.pred
        for name, fn in (("accuracy", accuracy), ("balanced_accuracy", balanced_accuracy)):
            scores[name].append(fn(y_test, pred))
            values[f"{name}@{k}shot/draw{draw}"] = scores[name][-1]
            info = {"C": fit.C, "cv_folds": fit.cv_folds, "selection": fit.selection}
            per_metric[f"{name}@{k}shot/draw{draw}"] = {**info, "draw": draw}
    for name, vals in scores.items():
        mean, low, high = t_interval(np.asarray(vals))
        values[f"{name}@{k}shot"] = mean
        values[f"{name}@{k}shot/ci_low"] = low
        values[f"{name}@{k}shot/ci_high"] = high
    extra = {"k": k, "draws": cfg.draws, "classifier": cfg.classifier, "n_test": int(y_test.size)}
    return result_rows(encoder, "classification", dataset.name, "probe", seed, values,
                       wall_seconds=time.perf_counter() - start, eval_config=cfg, extra=extra,
                       per_metric_extra=per_metric)  # fmt: skip
