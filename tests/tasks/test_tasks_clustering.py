"""Clustering protocol: k-means on frozen test-set embeddings, NMI/ARI rows per seed."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from tsdividend.config import ConfigError
from tsdividend.data import Dataset, load_dataset
from tsdividend.encoder import EncoderConfig
from tsdividend.tasks.base import EncoderUnderTest
from tsdividend.tasks.classification import ClassificationConfig, evaluate_classification
from tsdividend.tasks.classification_finetune import clear_finetune_cache
from tsdividend.tasks.clustering import ClusteringConfig, cluster_features, evaluate_clustering
from tsdividend.tasks.probe import EmbeddingCache

TINY = EncoderConfig(d_model=32, depth=2, n_heads=4, dropout=0.0)
RANDOM = EncoderUnderTest("random", TINY)


def shapes(n_per_class: int, seed: int) -> Dataset:
    """Three clearly different shapes (slow sine, fast square wave, ramp), little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(128) / 128
    protos = [np.sin(2 * np.pi * t), np.sign(np.sin(2 * np.pi * 8 * t)), 2 * t - 1]
    y = np.repeat(np.arange(3), n_per_class)
    X = np.stack([protos[c] for c in y]) + 0.05 * rng.normal(size=(y.size, 128))
    X = X[:, None].astype(np.float32)
    n = y.size
    perm = rng.permutation(n)
    splits = {"train": np.sort(perm[: n // 3]), "test": np.sort(perm[n // 3 :])}
    return Dataset("synthetic/shapes", "classification", X, np.ones_like(X, bool),
                   y.astype(np.int64), ("sine", "square", "ramp"), splits=splits)  # fmt: skip


def test_separated_blobs_are_recovered() -> None:
    rng = np.random.default_rng(0)
    centres = 10.0 * rng.normal(size=(4, 6))
    y = np.repeat(np.arange(4), 25)
    Z = centres[y] + 0.1 * rng.normal(size=(100, 6))
    labels = cluster_features(Z, 4, seed=0)
    assert normalized_mutual_info_score(y, labels) == pytest.approx(1.0)
    assert adjusted_rand_score(y, labels) == pytest.approx(1.0)
    noise = cluster_features(rng.normal(size=(100, 6)), 4, seed=0)
    assert normalized_mutual_info_score(y, noise) < 0.2  # the check can fail


def test_clustering_on_separated_shapes_gives_nmi_one() -> None:
    rows = evaluate_clustering(RANDOM, shapes(30, 0), ClusteringConfig(), 0, device="cpu")
    values = {r.metric: r.value for r in rows}
    assert values["nmi"] > 0.95 and values["ari"] > 0.95
    assert rows[0].extra["k"] == 3 and rows[0].extra["n"] == 60  # the test split only


def test_rows_per_seed_and_fields() -> None:
    ds = load_dataset("ucr/GunPoint")
    cache = EmbeddingCache()
    by_seed = {s: evaluate_clustering(RANDOM, ds, ClusteringConfig(), s, device="cpu",
                                      cache=cache) for s in (0, 1)}  # fmt: skip
    for seed, rows in by_seed.items():
        assert [r.metric for r in rows] == ["nmi", "ari"]
        for r in rows:
            assert (r.task, r.dataset, r.regime, r.seed, r.init) == (
                "clustering",
                "ucr/GunPoint",
                "probe",
                seed,
                "random",
            )
            assert r.higher_is_better is True and r.extra["n"] == 150
    # the values are NMI/ARI of scikit-learn k-means on the standardised test embeddings
    Z = cache.get(RANDOM, 0, ds).Z[ds.splits["test"]]
    labels = cluster_features(Z, 2, seed=0)
    y = ds.y[ds.splits["test"]]
    assert by_seed[0][0].value == pytest.approx(normalized_mutual_info_score(y, labels))
    again = evaluate_clustering(RANDOM, ds, ClusteringConfig(), 0, device="cpu", cache=cache)
    assert [r.value for r in again] == [r.value for r in by_seed[0]]  # seeded: reproducible


def test_cache_shared_with_classification() -> None:
    ds = shapes(10, 1)
    cache = EmbeddingCache()
    evaluate_classification(RANDOM, ds, ClassificationConfig(shots=()), 0, device="cpu",
                            cache=cache)  # fmt: skip
    evaluate_clustering(RANDOM, ds, ClusteringConfig(), 0, device="cpu", cache=cache)
    assert (cache.misses, cache.hits) == (1, 1)  # one embedding pass per (encoder, dataset)
    evaluate_clustering(RANDOM, ds, ClusteringConfig(), 1, device="cpu", cache=cache)
    assert cache.misses == 2  # a random encoder of another seed is another encoder


def test_bad_inputs_rejected() -> None:
    with pytest.raises(ValueError, match=r"'scratch' does not apply to clustering regime 'probe'"):
        evaluate_clustering(EncoderUnderTest("scratch", TINY), shapes(5, 0), ClusteringConfig(), 0)
    with pytest.raises(ValueError, match=r"'random' does not apply to clustering regime 'fine"):
        evaluate_clustering(RANDOM, shapes(5, 0), ClusteringConfig(regime="finetune"), 0)
    with pytest.raises(ConfigError, match="regime 'zero' unknown"):
        ClusteringConfig(regime="zero")
    with pytest.raises(ConfigError, match="split 'val' unknown"):
        ClusteringConfig(split="val")
    with pytest.raises(ValueError, match="n_clusters must be in"):
        cluster_features(np.zeros((3, 2)), 4, seed=0)


def test_finetune_regime_from_scratch_ignores_test_labels() -> None:
    """scratch + finetune trains on train labels only: shuffling the test labels changes the
    scores (read at the end) but not the fine-tune (best epoch, validation accuracy)."""
    ds = shapes(12, 2)
    tune = ClassificationConfig(regime="finetune", steps=6, warmup=1, eval_every=2)
    cfg = ClusteringConfig(regime="finetune", finetune=tune)
    rows = evaluate_clustering(EncoderUnderTest("scratch", TINY), ds, cfg, 0, device="cpu")
    assert {r.metric for r in rows} == {"nmi", "ari"}
    assert all(r.regime == "finetune" and r.init == "scratch" for r in rows)
    poisoned_y = ds.y.copy()
    test = ds.splits["test"]
    poisoned_y[test] = np.random.default_rng(0).permutation(poisoned_y[test])
    poisoned = Dataset(ds.name, ds.task, ds.X, ds.mask, poisoned_y, ds.classes, ds.splits)
    clear_finetune_cache()  # the second fine-tune really runs again
    rows2 = evaluate_clustering(EncoderUnderTest("scratch", TINY), poisoned, cfg, 0, device="cpu")
    for a, b in zip(rows, rows2, strict=True):
        assert a.extra["best_step"] == b.extra["best_step"]
        assert a.extra["val_accuracy"] == b.extra["val_accuracy"]
    assert rows[0].value != pytest.approx(rows2[0].value)  # test labels are read at the end
