"""Classification protocol: probe selection on train only, SVM option, few-shot, fine-tune."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from safetensors.torch import save_file
from scipy import stats
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from tsdividend.config import ConfigError, to_dict
from tsdividend.data import Dataset, load_dataset
from tsdividend.encoder import EncoderConfig
from tsdividend.stats.intervals import t_interval
from tsdividend.tasks.base import EncoderUnderTest
from tsdividend.tasks.classification import (
    ClassificationConfig,
    evaluate_classification,
    finetune,
)
from tsdividend.tasks.classification_finetune import clear_finetune_cache
from tsdividend.tasks.probe import (
    C_GRID,
    EmbeddingCache,
    embed_series,
    few_shot_indices,
    fit_probe,
)

TINY = EncoderConfig(d_model=32, depth=2, n_heads=4, dropout=0.0)
RANDOM = EncoderUnderTest("random", TINY)
NO_SHOTS = ClassificationConfig(shots=())


def sines(n: int, length: int, seed: int, *, test_fraction: float = 0.5) -> Dataset:
    """Two classes: 3 vs 4 cycles per ``length`` steps, random phase, noise sd 0.5."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    freq = np.where(y == 0, 3.0, 4.0) / length
    phase = rng.uniform(0, 2 * np.pi, n)
    t = np.arange(length)
    X = np.sin(2 * np.pi * freq[:, None] * t + phase[:, None]) + 0.5 * rng.normal(size=(n, length))
    X = X[:, None].astype(np.float32)
    n_test = int(n * test_fraction)
    splits = {"train": np.arange(n - n_test), "test": np.arange(n - n_test, n)}
    if n_test == 0:
        splits = {"train": np.arange(n)}
    return Dataset("synthetic/sines", "classification", X, np.ones_like(X, bool),
                   y.astype(np.int64), ("3", "4"), splits=splits)  # fmt: skip


def poison_test_labels(ds: Dataset) -> Dataset:
    """Same data, test labels shifted to another class (train labels untouched)."""
    y = ds.y.copy()
    te = ds.splits["test"]
    y[te] = (y[te] + 1) % len(ds.classes)
    return replace(ds, y=y)


def test_probe_rows_carry_fields(gunpoint: Dataset) -> None:
    rows = evaluate_classification(RANDOM, gunpoint, NO_SHOTS, 3, device="cpu")
    assert [r.metric for r in rows] == ["accuracy", "balanced_accuracy"]
    for r in rows:
        assert (r.task, r.dataset, r.regime, r.seed, r.init) == (
            "classification",
            "ucr/GunPoint",
            "probe",
            3,
            "random",
        )
        assert r.higher_is_better is True and 0.0 <= r.value <= 1.0
        assert r.depth == 2 and r.tokenizer == "patch" and r.wall_seconds > 0
        assert r.extra["C"] in C_GRID and r.extra["n_test"] == 150
        assert r.extra["selection"] == "cv" and r.extra["cv_folds"] == 5
        json.dumps(r.to_json())


def test_selection_reads_training_rows_only(gunpoint: Dataset) -> None:
    tr, te = gunpoint.splits["train"], gunpoint.splits["test"]
    Z = np.random.default_rng(0).normal(size=(len(gunpoint), 8))
    fit = fit_probe(Z[tr], gunpoint.y[tr], Z[te], seed=0)
    # the CV search sees the 50 training rows only: dropping the test set changes nothing
    alone = fit_probe(Z[tr], gunpoint.y[tr], Z[te][:1], seed=0)
    assert (fit.C, fit.cv_score, fit.cv_folds, fit.n_fit) == (alone.C, alone.cv_score, 5, 50)


def test_poisoned_test_data_leaves_selection_unchanged(gunpoint: Dataset) -> None:
    cache = EmbeddingCache()
    clean = evaluate_classification(RANDOM, gunpoint, NO_SHOTS, 0, device="cpu", cache=cache)
    bad = evaluate_classification(RANDOM, poison_test_labels(gunpoint), NO_SHOTS, 0,
                                  device="cpu", cache=cache)  # fmt: skip
    assert clean[0].extra["C"] == bad[0].extra["C"]
    assert clean[0].extra["cv_accuracy"] == bad[0].extra["cv_accuracy"]
    # the labels did reach the score: binary flip -> accuracy becomes 1 - accuracy
    assert bad[0].value == pytest.approx(1.0 - clean[0].value)
    # garbage test FEATURES cannot move the choice either
    tr, te = gunpoint.splits["train"], gunpoint.splits["test"]
    Z = np.random.default_rng(1).normal(size=(len(gunpoint), 8))
    a = fit_probe(Z[tr], gunpoint.y[tr], Z[te], seed=0)
    b = fit_probe(Z[tr], gunpoint.y[tr], 1e6 * Z[te][::-1], seed=0)
    assert (a.C, a.cv_score) == (b.C, b.cv_score)


def test_svm_option_matches_sklearn_reference(gunpoint: Dataset) -> None:
    cfg = ClassificationConfig(classifier="svm", shots=())
    rows = evaluate_classification(RANDOM, gunpoint, cfg, 0, device="cpu")
    C = rows[0].extra["C"]
    assert rows[0].extra["classifier"] == "svm" and C in C_GRID
    # independent reference: standardise with train statistics, RBF SVC with the chosen C
    Z = RANDOM.embedder(0, device="cpu").embed(gunpoint.X, gunpoint.mask)
    tr, te = gunpoint.splits["train"], gunpoint.splits["test"]
    scaler = StandardScaler().fit(Z[tr])
    svc = SVC(C=C, kernel="rbf", gamma="scale").fit(scaler.transform(Z[tr]), gunpoint.y[tr])
    expected = np.mean(svc.predict(scaler.transform(Z[te])) == gunpoint.y[te])
    assert rows[0].value == pytest.approx(expected)


def test_probe_handles_singleton_and_single_class_training_sets() -> None:
    rng = np.random.default_rng(0)
    Z, Zt = rng.normal(size=(3, 4)), rng.normal(size=(5, 4))
    fixed = fit_probe(Z, np.array([0, 1, 2]), Zt, fixed_C=0.5)  # every class a singleton
    assert fixed.selection == "fixed" and fixed.C == 0.5 and fixed.cv_folds == 0
    const = fit_probe(Z, np.array([2, 2, 2]), Zt)
    assert const.selection == "constant" and np.all(const.pred == 2)


def test_few_shot_draws_have_k_per_class_and_differ() -> None:
    y = np.repeat(np.arange(3), 12)
    draws = [few_shot_indices(y, 5, np.random.default_rng([7, 5, d])) for d in range(10)]
    for idx in draws:
        assert np.array_equal(np.bincount(y[idx]), [5, 5, 5]) and np.unique(idx).size == 15
    assert len({tuple(d) for d in draws}) == 10
    with pytest.raises(ValueError, match="fewer than k=13"):
        few_shot_indices(y, 13, np.random.default_rng(0))


def test_few_shot_rows_summarise_draws(gunpoint: Dataset) -> None:
    cfg = ClassificationConfig(shots=(1, 5), draws=4)
    rows = {r.metric: r for r in evaluate_classification(RANDOM, gunpoint, cfg, 0, device="cpu")}
    for k in (1, 5):
        draws = [rows[f"accuracy@{k}shot/draw{d}"].value for d in range(4)]
        assert len(set(draws)) > 1  # different support sets, different scores
        low, high = stats.t.interval(0.95, df=3, loc=np.mean(draws), scale=stats.sem(draws))
        assert rows[f"accuracy@{k}shot"].value == pytest.approx(np.mean(draws))
        assert rows[f"accuracy@{k}shot/ci_low"].value == pytest.approx(low)
        assert rows[f"accuracy@{k}shot/ci_high"].value == pytest.approx(high)
        assert rows[f"balanced_accuracy@{k}shot"].higher_is_better
    assert rows["accuracy@1shot/draw0"].extra["C"] == cfg.fixed_C  # 1-shot: C fixed
    assert t_interval(np.array([0.5, 0.5])) == (0.5, 0.5, 0.5)


def test_few_shot_skips_k_larger_than_a_class() -> None:
    ds = sines(16, 32, 0)  # 4 training series per class
    with pytest.warns(UserWarning, match="10-shot rows skipped"):
        rows = evaluate_classification(RANDOM, ds, ClassificationConfig(shots=(10,)), 0,
                                       device="cpu")  # fmt: skip
    assert [r.metric for r in rows] == ["accuracy", "balanced_accuracy"]


def test_long_series_are_windowed_and_pooled() -> None:
    small = replace(TINY, max_len=5)  # 4 tokens of 16 -> windows of 64 steps
    embedder = EncoderUnderTest("random", small).embedder(0, device="cpu")
    assert embedder.encoder.max_length == 64
    X = np.random.default_rng(0).normal(size=(3, 2, 150)).astype(np.float32)
    mask = np.ones_like(X, bool)
    mask[1, :, 100:] = False  # a shorter series in the batch
    X[~mask] = 0.0
    Z = embed_series(embedder, X, mask, 64)
    # independent reference: embed each window, weight by observed steps per channel
    parts = [embedder.embed(X[..., a : a + 64], mask[..., a : a + 64]) for a in (0, 64, 128)]
    counts = np.stack([mask[..., a : a + 64].sum(-1) for a in (0, 64, 128)], 1)  # (N, W, C)
    w = counts / counts.sum(1, keepdims=True)
    ref = np.einsum("nwc,nwcd->ncd", w, np.stack(parts, 1).reshape(3, 3, 2, 32)).reshape(3, 64)
    np.testing.assert_allclose(Z, ref, rtol=1e-5, atol=1e-6)
    # within the context nothing is windowed: the embedder's own output
    np.testing.assert_array_equal(embed_series(embedder, X[..., :64], mask[..., :64], 64),
                                  parts[0])  # fmt: skip


def test_multivariate_probe_concatenates_channels() -> None:
    ds = load_dataset("uea/BasicMotions")
    cache = EmbeddingCache()
    rows = evaluate_classification(RANDOM, ds, NO_SHOTS, 0, device="cpu", cache=cache)
    Z = cache.get(RANDOM, 0, ds).Z
    assert Z.shape == (len(ds), ds.n_channels * TINY.d_model) and cache.hits == 1
    # channel-independent encoder: block c of the features is channel c embedded alone
    embedder = RANDOM.embedder(0, device="cpu")
    for c in (0, 5):
        alone = embedder.embed(ds.X[:, [c]], ds.mask[:, [c]])
        np.testing.assert_allclose(Z[:, c * 32 : (c + 1) * 32], alone, rtol=1e-4, atol=1e-5)
    assert rows[0].extra["n_test"] == 40 and 0.0 <= rows[0].value <= 1.0


def test_finetune_selection_ignores_test_labels() -> None:
    ds = sines(48, 32, 0)
    cfg = ClassificationConfig(regime="finetune", steps=8, warmup=1, eval_every=2, patience=4,
                               batch_size=16)  # fmt: skip
    scratch = EncoderUnderTest("scratch", TINY)
    clean = evaluate_classification(scratch, ds, cfg, 0, device="cpu")
    clear_finetune_cache()  # the second fine-tune really runs again
    bad = evaluate_classification(scratch, poison_test_labels(ds), cfg, 0, device="cpu")
    for key in ("best_step", "val_accuracy", "steps_run", "val_curve", "lp_C"):
        assert clean[0].extra[key] == bad[0].extra[key]
    assert bad[0].value == pytest.approx(1.0 - clean[0].value)
    assert clean[0].regime == "finetune" and clean[0].init == "scratch"


def test_regime_and_kind_mismatch_rejected(gunpoint: Dataset) -> None:
    with pytest.raises(ValueError, match="'scratch' does not apply"):
        evaluate_classification(EncoderUnderTest("scratch", TINY), gunpoint, NO_SHOTS, 0)
    with pytest.raises(ConfigError, match="classifier 'knn' unknown"):
        ClassificationConfig(classifier="knn")


def test_pretrained_like_encoder_beats_random(tmp_path) -> None:
    """Supervised 'pretraining' on other draws of the problem: its probe must beat random."""
    pre = sines(64, 64, 1, test_fraction=0.0)
    cfg = ClassificationConfig(regime="finetune", steps=20, warmup=2, eval_every=2, lr=1e-2,
                               batch_size=64, lp=False)  # fmt: skip
    model, summary = finetune(EncoderUnderTest("scratch", TINY), pre, cfg, 0, "cpu")
    assert summary["val_accuracy"] > 0.9  # fine-tuning itself learns the task
    state = {k: v.contiguous() for k, v in model.encoder.state_dict().items()}
    save_file(state, str(tmp_path / "encoder.safetensors"))
    meta = {"encoder_config": to_dict(TINY), "objective": "supervised"}
    (tmp_path / "encoder.json").write_text(json.dumps(meta))
    pretrained = EncoderUnderTest.from_arg(str(tmp_path))
    target = sines(160, 64, 0)
    acc = {e.init: np.mean([evaluate_classification(e, target, NO_SHOTS, s, device="cpu")[0].value
                            for s in (0, 1)]) for e in (pretrained, RANDOM)}  # fmt: skip
    assert acc["pretrained"] > acc["random"] + 0.2, acc
