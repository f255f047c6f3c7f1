"""Frozen-embedding probes: C chosen by stratified k-fold CV on TRAIN, invariant to row order.

* :func:`canonical_order`: a content-based order of the training rows (by label, then
  lexicographically by feature). Every probe puts its training set into it first, so the same
  set of rows in any order gives bit-identical folds, fits and predictions (and the few-shot
  draws, made from that order, the same support sets).
* :func:`fit_probe`: "logistic" (default; standardised, lbfgs) or "svm" (standardised RBF SVM):
  C from ``C_GRID`` by stratified ``k = min(5, smallest class)``-fold CV on train (optionally
  repeated), ties to the smallest C, a documented fixed C when k < 2; refit on all of train; test
  predicted once. "ts2vec": the TS2Vec evaluation SVM as published (Yue et al. 2022,
  ``tasks/_eval_protocols.py::fit_svm``): RBF SVM with gamma "scale" on raw features, C grid
  1e-4..1e4 and inf (hard margin), 5-fold CV; C = inf without search when N // classes < 5 or
  N < 50; a stratified, seeded subsample of 10000 beyond that size.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import (
    RepeatedStratifiedKFold,
    StratifiedKFold,
    train_test_split,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from threadpoolctl import threadpool_limits

from tsdividend.tasks.classification_config import C_GRID, CLASSIFIERS

__all__ = ["C_GRID", "CLASSIFIERS", "MAX_FOLDS", "TS2VEC_C_GRID", "TS2VEC_MAX_SAMPLES", "ProbeFit",
           "TrainedProbe", "canonical_order", "few_shot_indices", "fit_few_shot", "fit_probe",
           "make_classifier", "train_probe"]  # fmt: skip
# TS2Vec's fit_svm grid: the same powers of ten plus C = inf (a hard-margin SVM).
TS2VEC_C_GRID = (*C_GRID, float("inf"))
TS2VEC_MAX_SAMPLES = 10_000  # TS2Vec searches (and fits) on a stratified subsample beyond this
MAX_FOLDS = 5  # probe CV folds: k = min(MAX_FOLDS, smallest class count)


def canonical_order(Z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Content-based order of a training set's rows: sorted by ``(y, Z[:, 0], Z[:, 1], ...)``.

    The same SET of rows given in any order comes out in the same order, so everything after it
    (fold assignment, solver, few-shot draws) is bit-identical: the probe is invariant to row
    order by construction. Exact duplicate rows with the same label are interchangeable.

    Args:
        Z: (N, F) features; y: (N,) labels.

    Returns:
        (N,) int64 permutation.
    """
    Z, y = np.asarray(Z), np.asarray(y)
    if Z.ndim != 2 or Z.shape[0] != y.shape[0]:
        raise ValueError(f"need Z (N, F) and y (N,), got {Z.shape} and {y.shape}")
    if Z.shape[1] == 0:
        return np.argsort(y, kind="stable")
    # Fast path: the first feature almost always separates every row of a class; the full
    # lexsort (F keys) gives the same order then and only runs on a tie (NaN counts as one).
    order = np.lexsort((Z[:, 0], y))
    ys, first = y[order], Z[order, 0]
    if np.any((ys[1:] == ys[:-1]) & ~(first[1:] > first[:-1])):
        order = np.lexsort((*Z.T[::-1], y))
    return order.astype(np.int64)


@dataclass(frozen=True)
class ProbeChoice:
    """What a probe's selection chose (shared by :class:`ProbeFit` and :class:`TrainedProbe`).

    Attributes:
        C: the chosen regularisation constant (``inf`` = hard margin, ts2vec only).
        cv_score: mean cross-validated accuracy of the chosen C (NaN when C was not searched).
        cv_folds: number of stratified folds of the search (0 when C was not searched).
        cv_repeats: times the k-fold split was redrawn (0 when C was not searched).
        selection: "cv" (k-fold search), "fixed" (too few series per class to cross-validate;
            ts2vec: TS2Vec's small-train rule) or "constant" (one class).
        n_fit: training rows of the final model (ts2vec: at most 10000, the search subsample).
    """

    C: float
    cv_score: float
    cv_folds: int
    cv_repeats: int
    selection: str
    n_fit: int


@dataclass(frozen=True)
class ProbeFit(ProbeChoice):
    """Outcome of :func:`fit_probe`: the choice (:class:`ProbeChoice`) and ``pred``, the
    (N_test,) predicted class ids."""

    pred: np.ndarray


def make_classifier(kind: str, C: float, max_iter: int = 2000) -> Pipeline:
    """The probe model with constant ``C``: a pipeline whose last step is named "clf".

    "logistic": standardise (train statistics) -> logistic regression (lbfgs); "svm":
    standardise -> RBF SVM (gamma "scale"); "ts2vec": RBF SVM (gamma "scale") on the raw
    features, no scaler, at most 1e7 libsvm iterations, as TS2Vec's ``fit_svm`` (Yue et al. 2022).
    """
    if kind == "logistic":
        clf = LogisticRegression(C=C, solver="lbfgs", max_iter=max_iter)
        return Pipeline([("scale", StandardScaler()), ("clf", clf)])
    if kind == "svm":
        return Pipeline([("scale", StandardScaler()),
                         ("clf", SVC(C=C, kernel="rbf", gamma="scale"))])  # fmt: skip
    if kind == "ts2vec":
        return Pipeline([("clf", SVC(C=C, kernel="rbf", gamma="scale", max_iter=10_000_000))])
    raise ValueError(f"classifier {kind!r} unknown; valid: {list(CLASSIFIERS)}")


@contextmanager
def quiet() -> Iterator[None]:
    """The conditions of every probe fit: one BLAS thread and the expected warnings silenced.

    One BLAS thread: these fits are small, and multi-threaded BLAS made them ~10x slower on a
    busy 2-core machine (measured). At C = 1e4 lbfgs may stop at max_iter: the CV score judges
    that C like any other, so the warning is noise; so is StratifiedKFold's warning about a
    class smaller than the fold count (ts2vec's rule lets one through, as TS2Vec did).
    """
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", message="The least populated class")
        yield


def quiet_fit(model: BaseEstimator, Z: np.ndarray, y: np.ndarray) -> None:
    """``model.fit(Z, y)`` under :func:`quiet`."""
    with quiet():
        model.fit(Z, y)


def _cv_select(
    kind: str, grid: tuple[float, ...], max_iter: int, Z: np.ndarray, y: np.ndarray,
    folds: int, repeats: int, seed: int,
) -> tuple[float, float]:  # fmt: skip
    """(C, mean CV accuracy): stratified ``folds``-fold search over ``grid`` on (Z, y) only.

    ``repeats`` > 1 redraws the folds that many times (``RepeatedStratifiedKFold``) and averages
    over all of them: the choice then depends less on one fold draw.

    Ties (equal mean accuracy) go to the smallest C, the strongest regularisation; the grid is
    searched in ascending order, as TS2Vec's GridSearchCV over its ascending grid does.
    """
    grid = tuple(sorted(grid))
    cv: StratifiedKFold | RepeatedStratifiedKFold
    if repeats == 1:
        cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    else:
        cv = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)
    # What GridSearchCV(pipeline, {"clf__C": grid}, scoring="accuracy", refit=False) computes,
    # bit for bit, without its per-candidate overhead: each fold's preprocessing (the scaler) is
    # fitted once and shared by every C, as its output does not depend on C.
    splits = list(cv.split(Z, y))
    scores = np.empty((len(grid), len(splits)), np.float64)
    with quiet():
        for f, (tr, te) in enumerate(splits):
            steps = make_classifier(kind, 1.0, max_iter).steps
            Z_tr, Z_te = Z[tr], Z[te]
            for _, step in steps[:-1]:
                Z_tr = step.fit_transform(Z_tr, y[tr])
                Z_te = step.transform(Z_te)
            for c, value in enumerate(grid):
                clf = clone(steps[-1][1]).set_params(C=value).fit(Z_tr, y[tr])
                scores[c, f] = accuracy_score(y[te], clf.predict(Z_te))
    means = np.average(scores, axis=1)
    best = int(np.flatnonzero(means == means.max())[0])
    return float(grid[best]), float(means[best])


@dataclass(frozen=True)
class TrainedProbe(ProbeChoice):
    """A probe fitted by :func:`train_probe`, reusable on new features (the estimators' model):
    the choice (:class:`ProbeChoice`), ``model`` (the fitted pipeline; None when training had one
    class) and ``constant`` (that one class id, else None)."""

    model: Pipeline | None = None
    constant: int | None = None

    def choice(self) -> dict[str, Any]:
        """The :class:`ProbeChoice` fields."""
        return {f.name: getattr(self, f.name) for f in fields(ProbeChoice)}

    def predict(self, Z: np.ndarray) -> np.ndarray:
        """(N, F) features -> (N,) class ids."""
        if self.model is None:
            return np.full(len(Z), self.constant, dtype=np.int64)
        return self.model.predict(Z)

    def predict_proba(self, Z: np.ndarray) -> np.ndarray:
        """(N, F) -> (N, classes) probabilities (logistic only; one class: all ones)."""
        if self.model is None:
            return np.ones((len(Z), 1))
        if not hasattr(self.model, "predict_proba"):
            raise ValueError("predict_proba needs the logistic probe (the SVMs give no "
                             "probabilities)")  # fmt: skip
        return self.model.predict_proba(Z)

    def outcome(self, Z_test: np.ndarray) -> ProbeFit:
        """The test predictions (read once) with the selection's record."""
        return ProbeFit(**self.choice(), pred=self.predict(Z_test))


def train_probe(
    Z_train: np.ndarray, y_train: np.ndarray, *, classifier: str = "logistic",
    grid: tuple[float, ...] = C_GRID, max_folds: int = MAX_FOLDS, repeats: int = 1,
    seed: int = 0, fixed_C: float = 1.0, max_iter: int = 2000,
) -> TrainedProbe:  # fmt: skip
    """Choose C by stratified k-fold CV on TRAIN and refit on all of train (see
    :func:`fit_probe`, which predicts a test set with the result)."""
    if classifier not in CLASSIFIERS:
        raise ValueError(f"classifier {classifier!r} unknown; valid: {list(CLASSIFIERS)}")
    if max_folds < 2 or repeats < 1:
        raise ValueError(f"need max_folds >= 2 and repeats >= 1, got {max_folds}, {repeats}")
    order = canonical_order(Z_train, y_train)
    Z, y = np.asarray(Z_train)[order], np.asarray(y_train)[order]
    classes, counts = np.unique(y, return_counts=True)
    if classes.size < 2:
        return TrainedProbe(float("nan"), float("nan"), 0, 0, "constant", int(y.size),
                            constant=int(y[0]))  # fmt: skip
    if classifier == "ts2vec":
        if y.size // classes.size < 5 or y.size < 50:
            return _final(classifier, float("inf"), max_iter, Z, y, float("nan"), 0, 0)
        if y.size > TS2VEC_MAX_SAMPLES:
            keep, _ = train_test_split(np.arange(y.size), train_size=TS2VEC_MAX_SAMPLES,
                                       random_state=seed, stratify=y)  # fmt: skip
            Z, y = Z[np.sort(keep)], y[np.sort(keep)]
        folds, repeats, grid = 5, 1, TS2VEC_C_GRID
    else:
        folds = min(max_folds, int(counts.min()))
        if folds < 2:
            return _final(classifier, fixed_C, max_iter, Z, y, float("nan"), 0, 0)
    C, score = _cv_select(classifier, grid, max_iter, Z, y, folds, repeats, seed)
    return _final(classifier, C, max_iter, Z, y, score, folds, repeats)


def fit_probe(
    Z_train: np.ndarray, y_train: np.ndarray, Z_test: np.ndarray, *, classifier: str = "logistic",
    grid: tuple[float, ...] = C_GRID, max_folds: int = MAX_FOLDS, repeats: int = 1,
    seed: int = 0, fixed_C: float = 1.0, max_iter: int = 2000,
) -> ProbeFit:  # fmt: skip
    """Choose C by stratified k-fold CV on TRAIN, refit on all of train, predict test once.

    The training rows are first put into :func:`canonical_order`, so a permutation of them
    changes neither C nor a prediction. "logistic" / "svm": ``k = min(max_folds, smallest class
    count)`` stratified folds (shuffled by ``seed``; ``repeats`` draws of them) over ``grid``;
    with k < 2 (a class with one member) C = ``fixed_C``, selection "fixed". "ts2vec": TS2Vec's
    ``fit_svm`` (Yue et al. 2022): grid ``TS2VEC_C_GRID`` (1e-4..1e4 and inf), 5 folds; when
    ``N // n_classes < 5`` or ``N < 50`` no search and C = inf (selection "fixed"); when N >
    10000 a stratified subsample of 10000 (seeded) is searched AND refit on, as in TS2Vec;
    ``grid``, ``fixed_C``, ``max_folds`` and ``repeats`` are ignored. A
    training set with a single class predicts it everywhere (selection "constant").

    Args:
        Z_train: (N_train, F) features; y_train: (N_train,) class ids; Z_test: (N_test, F).

    Returns:
        A :class:`ProbeFit`.
    """
    probe = train_probe(Z_train, y_train, classifier=classifier, grid=grid, max_folds=max_folds,
                        repeats=repeats, seed=seed, fixed_C=fixed_C, max_iter=max_iter)  # fmt: skip
    if probe.model is None:  # one class: keep its label dtype
        pred = np.full(len(Z_test), np.asarray(y_train)[0], dtype=np.asarray(y_train).dtype)
        return ProbeFit(**probe.choice(), pred=pred)
    return probe.outcome(Z_test)


def _final(
    kind: str, C: float, max_iter: int, Z: np.ndarray, y: np.ndarray,
    score: float, folds: int, repeats: int,
) -> TrainedProbe:  # fmt: skip
    """Fit with the chosen C on (Z, y)."""
    model = make_classifier(kind, C, max_iter)
    quiet_fit(model, Z, y)
    return TrainedProbe(C, score, folds, repeats, "cv" if folds else "fixed", int(y.size),
                        model=model)  # fmt: skip


def few_shot_indices(y: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Exactly ``k`` distinct indices per class of ``y`` (sorted), drawn by ``rng``.

    Draw from a training set in :func:`canonical_order` so that the draw (as a set of series)
    does not depend on the order the rows came in.

    Raises:
        ValueError: when a class has fewer than ``k`` members (naming it).
    """
    picks = []
    for cls in np.unique(y):
        members = np.flatnonzero(y == cls)
        if members.size < k:
            raise ValueError(f"class {cls} has {members.size} training series, fewer than k={k}")
        picks.append(rng.choice(members, size=k, replace=False))
    return np.sort(np.concatenate(picks))


def fit_few_shot(
    Z_support: np.ndarray, y_support: np.ndarray, Z_test: np.ndarray, k: int, *,
    classifier: str = "logistic", grid: tuple[float, ...] = C_GRID, seed: int = 0,
    fixed_C: float = 1.0, max_iter: int = 2000, max_folds: int = MAX_FOLDS,
) -> ProbeFit:  # fmt: skip
    """Probe on a k-shot support set only (:func:`fit_probe`): ``min(k, max_folds)`` folds.

    k <= 5 is leave-one-per-class-out; k = 1 leaves nothing to hold out, so C = ``fixed_C``
    (ts2vec: TS2Vec's small-train rule, C = inf, whenever k < 5 or k * classes < 50).
    """
    del k  # the support set itself says how many series each class has
    return fit_probe(Z_support, y_support, Z_test, classifier=classifier, grid=grid, seed=seed,
                     max_folds=max_folds, fixed_C=fixed_C, max_iter=max_iter)  # fmt: skip
