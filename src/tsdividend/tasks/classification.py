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

import numpy as np

from tsdividend.data import Dataset
from tsdividend.metrics import accuracy, balanced_accuracy
from tsdividend.results.row import ResultRow
from tsdividend.stats.intervals import t_interval
from tsdividend.tasks.base import EncoderLike, Identified, check_init
from tsdividend.tasks.classification_config import ClassificationConfig
from tsdividend.tasks.classification_finetune import (
    WindowedClassifier,
    finetune,
    finetune_rows,
)
from tsdividend.tasks.probe import (
    DEFAULT_CACHE,
    EmbeddingCache,
    canonical_order,
    few_shot_indices,
    fit_few_shot,
    fit_probe,
    result_rows,
)  # fmt: skip

__all__ = ["ClassificationConfig", "WindowedClassifier", "evaluate_classification", "finetune",
           "finetune_rows"]  # fmt: skip


def evaluate_classification(
    encoder: EncoderLike, dataset: Dataset, cfg: ClassificationConfig, seed: int, *,
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
    assert dataset.y is not None  # checked by _check_inputs: a labelled dataset
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


def _check_inputs(encoder: Identified, dataset: Dataset, regime: str) -> None:
    if dataset.task != "classification":
        raise ValueError(f"{dataset.name} is a {dataset.task!r} dataset; classification needs "
                         "labelled series (ucr/..., uea/...)")  # fmt: skip
    missing = {"train", "test"} - set(dataset.splits)
    if missing:
        raise ValueError(f"{dataset.name} lacks split(s) {sorted(missing)}; has "
                         f"{sorted(dataset.splits)}")  # fmt: skip
    check_init(encoder, regime, "classification")


def _few_shot_rows(
    encoder: Identified, dataset: Dataset, cfg: ClassificationConfig, seed: int, k: int,
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
