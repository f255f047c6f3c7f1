"""Probe selection: k-fold C on train only, row-order invariance, the TS2Vec SVM protocol."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedKFold, cross_val_score
from sklearn.svm import SVC

from tsdividend.config import ConfigError
from tsdividend.data import Dataset
from tsdividend.encoder import EncoderConfig
from tsdividend.tasks import probe_fit
from tsdividend.tasks.base import EncoderUnderTest
from tsdividend.tasks.classification import ClassificationConfig, evaluate_classification
from tsdividend.tasks.probe import (
    C_GRID,
    TS2VEC_C_GRID,
    EmbeddingCache,
    canonical_order,
    fit_probe,
    make_classifier,
)

TINY = EncoderConfig(d_model=32, depth=2, n_heads=4, dropout=0.0)
RANDOM = EncoderUnderTest("random", TINY)


@pytest.fixture(scope="module")
def gun_features(gunpoint: Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(Z_train, y_train, Z_test, y_test): the tiny random encoder's GunPoint embeddings."""
    Z = RANDOM.embedder(0, device="cpu").embed(gunpoint.X, gunpoint.mask)
    tr, te = gunpoint.splits["train"], gunpoint.splits["test"]
    return Z[tr], gunpoint.y[tr], Z[te], gunpoint.y[te]


def blobs(n_per_class: tuple[int, ...], dim: int = 6, seed: int = 0, spread: float = 1.5):
    """Gaussian classes with means ``spread`` apart along a random direction each."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(n_per_class)), n_per_class)
    means = spread * rng.normal(size=(len(n_per_class), dim))
    return means[y] + rng.normal(size=(y.size, dim)), y


def permute_train(ds: Dataset, seed: int) -> Dataset:
    """The same dataset with its training series listed in another order (test untouched)."""
    tr, te = ds.splits["train"], ds.splits["test"]
    idx = np.concatenate([np.random.default_rng(seed).permutation(tr), te])
    splits = {"train": np.arange(tr.size), "test": np.arange(tr.size, idx.size)}
    return replace(ds, X=ds.X[idx], mask=ds.mask[idx], y=ds.y[idx], splits=splits)


def test_canonical_order_depends_on_content_only() -> None:
    Z, y = blobs((7, 5))
    Z[3, 0] = Z[9, 0] = Z[4, 0]  # ties on the first feature (one within class 0, one across)
    order = canonical_order(Z, y)
    perm = np.random.default_rng(1).permutation(y.size)
    again = canonical_order(Z[perm], y[perm])
    np.testing.assert_array_equal(Z[perm][again], Z[order])
    np.testing.assert_array_equal(y[perm][again], y[order])
    assert np.all(np.diff(y[order]) >= 0)  # grouped by label first
    with pytest.raises(ValueError, match="need Z"):
        canonical_order(Z, y[:-1])


@pytest.mark.parametrize("classifier", ["logistic", "ts2vec"])
def test_row_order_changes_neither_C_nor_predictions(classifier: str, gun_features) -> None:
    Z_tr, y_tr, Z_te, _ = gun_features
    fits = []
    for seed in range(3):
        perm = np.random.default_rng(seed).permutation(y_tr.size)
        fits.append(fit_probe(Z_tr[perm], y_tr[perm], Z_te, classifier=classifier, seed=0))
    for fit in fits[1:]:
        assert (fit.C, fit.cv_score, fit.cv_folds) == (fits[0].C, fits[0].cv_score, 5)
        np.testing.assert_array_equal(fit.pred, fits[0].pred)
    assert fits[0].selection == "cv"


@pytest.mark.parametrize("classifier", ["logistic", "ts2vec"])
def test_evaluate_is_invariant_to_training_row_order(classifier: str, gunpoint: Dataset) -> None:
    cfg = ClassificationConfig(classifier=classifier, shots=(5,), draws=2)
    runs = [{r.metric: r for r in evaluate_classification(RANDOM, ds, cfg, 0, device="cpu",
                                                          cache=EmbeddingCache())}
            for ds in (gunpoint, permute_train(gunpoint, 1))]  # fmt: skip
    assert runs[0].keys() == runs[1].keys()
    for name, row in runs[0].items():  # full-train probe AND the few-shot draws
        assert runs[1][name].value == row.value, name
        assert runs[1][name].extra.get("C") == row.extra.get("C"), name
    assert runs[0]["accuracy"].extra["cv_folds"] == 5
    assert runs[0]["accuracy"].extra["cv_repeats"] == 1


def test_cv_score_is_the_stratified_k_fold_mean(gun_features) -> None:
    Z_tr, y_tr, Z_te, _ = gun_features
    keep = np.r_[np.flatnonzero(y_tr == 0), np.flatnonzero(y_tr == 1)[:3]]  # smallest class: 3
    fit = fit_probe(Z_tr[keep], y_tr[keep], Z_te, seed=4)
    assert fit.cv_folds == 3 and fit.selection == "cv" and fit.C in C_GRID
    # independent reference: the same folds on the canonical order, scored per C
    order = canonical_order(Z_tr[keep], y_tr[keep])
    Z, y = Z_tr[keep][order], y_tr[keep][order]
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=4)
    means = [cross_val_score(make_classifier("logistic", c), Z, y, cv=cv).mean() for c in C_GRID]
    assert fit.cv_score == pytest.approx(max(means))
    assert fit.C == C_GRID[int(np.argmax(means))]  # first maximum = smallest C


def test_repeated_folds_average_every_draw(gun_features) -> None:
    Z_tr, y_tr, Z_te, _ = gun_features
    fit = fit_probe(Z_tr, y_tr, Z_te, repeats=3, seed=2, grid=(0.1, 1.0, 10.0))
    assert (fit.cv_folds, fit.cv_repeats) == (5, 3)
    order = canonical_order(Z_tr, y_tr)
    cv = RepeatedStratifiedKFold(n_splits=5, n_repeats=3, random_state=2)
    means = [cross_val_score(make_classifier("logistic", c), Z_tr[order], y_tr[order], cv=cv)
             .mean() for c in (0.1, 1.0, 10.0)]  # fmt: skip
    assert fit.cv_score == pytest.approx(max(means))
    assert fit_probe(Z_tr, y_tr, Z_te, classifier="ts2vec", repeats=3).cv_repeats == 1


def test_ties_go_to_the_smallest_C_whatever_the_grid_order() -> None:
    Z, y = blobs((10, 10), spread=50.0)  # every C separates these perfectly
    Zt, _ = blobs((3, 3), spread=50.0)
    for grid in (C_GRID, C_GRID[::-1]):
        fit = fit_probe(Z, y, Zt, grid=grid)
        assert fit.cv_score == 1.0 and fit.C == min(C_GRID)


def test_tiny_classes_fall_back_to_fixed_C() -> None:
    Z, y = blobs((6, 1, 4))  # one class has a single series: no stratified 2-fold split
    fit = fit_probe(Z, y, Z[:3], fixed_C=0.5)
    assert (fit.selection, fit.C, fit.cv_folds, fit.n_fit) == ("fixed", 0.5, 0, 11)
    assert np.isnan(fit.cv_score)
    two = fit_probe(*blobs((6, 2)), Z[:3, :6])  # smallest class 2 -> 2 folds
    assert two.cv_folds == 2 and two.selection == "cv"
    const = fit_probe(Z[:6], y[:6], Z[:4])
    assert const.selection == "constant" and np.all(const.pred == 0)
    with pytest.raises(ValueError, match="need max_folds >= 2 and repeats >= 1"):
        fit_probe(Z, y, Z, max_folds=1)


def test_ts2vec_grid_is_tsvecs() -> None:
    assert TS2VEC_C_GRID[-1] == np.inf and len(TS2VEC_C_GRID) == 10
    assert TS2VEC_C_GRID[:-1] == tuple(10.0**k for k in range(-4, 5))
    model = make_classifier("ts2vec", np.inf)
    assert [name for name, _ in model.steps] == ["clf"]  # no scaler
    assert model[-1].gamma == "scale" and model[-1].kernel == "rbf"


@pytest.mark.parametrize("sizes", [(20, 20), (4,) * 15])  # N < 50; N // classes = 4 < 5
def test_ts2vec_small_train_uses_hard_margin(sizes: tuple[int, ...]) -> None:
    Z, y = blobs(sizes, seed=2)
    Zt, _ = blobs(sizes, seed=3)
    fit = fit_probe(Z, y, Zt, classifier="ts2vec", fixed_C=0.5, grid=(1.0,))  # both ignored
    assert (fit.selection, fit.C, fit.cv_folds) == ("fixed", np.inf, 0)
    order = canonical_order(Z, y)  # reference: TS2Vec's SVC(C=inf, gamma="scale"), raw features
    ref = SVC(C=np.inf, gamma="scale").fit(Z[order], y[order]).predict(Zt)
    np.testing.assert_array_equal(fit.pred, ref)


def test_ts2vec_searches_its_grid_with_five_folds() -> None:
    Z, y = blobs((30, 30), seed=5, spread=0.6)
    fit = fit_probe(Z, y, Z[:5], classifier="ts2vec", grid=(1.0,))
    assert fit.selection == "cv" and fit.cv_folds == 5 and fit.C in TS2VEC_C_GRID


def test_ts2vec_subsamples_large_training_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probe_fit, "TS2VEC_MAX_SAMPLES", 60)  # stands in for TS2Vec's 10000
    Z, y = blobs((70, 30), seed=6)
    fit = fit_probe(Z, y, Z[:5], classifier="ts2vec", seed=1)
    assert fit.n_fit == 60 and fit.selection == "cv"


@pytest.mark.parametrize("classifier", ["logistic", "svm", "ts2vec"])
def test_poisoned_test_data_leaves_C_unchanged(classifier: str, gunpoint: Dataset) -> None:
    cfg = ClassificationConfig(classifier=classifier, shots=())
    cache = EmbeddingCache()
    y = gunpoint.y.copy()
    te = gunpoint.splits["test"]
    y[te] = 1 - y[te]
    clean, bad = (evaluate_classification(RANDOM, ds, cfg, 0, device="cpu", cache=cache)[0]
                  for ds in (gunpoint, replace(gunpoint, y=y)))  # fmt: skip
    for key in ("C", "cv_accuracy", "cv_folds", "selection"):
        assert clean.extra[key] == bad.extra[key], key
    assert bad.value == pytest.approx(1.0 - clean.value)  # the poison did reach the score


def test_config_checks_probe_fields() -> None:
    assert ClassificationConfig(classifier="ts2vec").classifier == "ts2vec"
    for bad in ({"probe_folds": 1}, {"probe_repeats": 0}, {"classifier": "knn"}):
        with pytest.raises(ConfigError):
            ClassificationConfig(**bad)
