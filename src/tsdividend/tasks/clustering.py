"""Clustering protocol: k-means on frozen embeddings of a labelled test set; NMI and ARI.

Protocol (issue 4 item 4; NuTime lists clustering without published code, so this is ours): embed
the series of the TEST split of a UCR/UEA dataset with the frozen encoder (the same cached
embeddings as the classification probe), standardise each feature over those series (clustering
is unsupervised: no labels are used before scoring, so using the test series' own statistics
leaks nothing), run scikit-learn k-means with k = number of classes present, ``n_init`` restarts
and ``random_state=seed``, and score the partition against the labels with NMI and ARI. One row
per metric and seed; repeat seeds to measure the k-means variance.

Regimes: ``probe`` clusters the frozen embeddings (its baseline is the frozen ``random``
encoder). ``finetune`` first fine-tunes the encoder with the classification protocol's fine-tune
on the TRAIN split (train labels only; LP-FT, step chosen by k-fold CV on train), then clusters the
test embeddings of the fine-tuned encoder; its baseline is ``scratch`` (the same from a random
init). It measures how well a supervised fine-tune from each start organises unseen series.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler

from tsdividend.config import ConfigError, check_int
from tsdividend.data import Dataset
from tsdividend.encoder.embedder import Embedder
from tsdividend.metrics import ari, nmi
from tsdividend.results.row import ResultRow
from tsdividend.tasks.base import EncoderUnderTest
from tsdividend.tasks.classification import ClassificationConfig, finetune
from tsdividend.tasks.probe import (
    DEFAULT_CACHE,
    EmbeddingCache,
    embed_series,
    max_window,
    result_rows,
)


@dataclass(frozen=True)
class ClusteringConfig:
    """Settings of the clustering protocol.

    Attributes:
        split: which split is clustered ("test", as the issue asks; "train" is allowed).
        n_init: k-means restarts (10, scikit-learn's classic default).
        max_iter: Lloyd iterations per restart (300, scikit-learn's default).
        standardize: z-score each embedding feature before k-means (True).
        embed_batch_size: series per forward pass when embedding.
        regime: "probe" (frozen encoder) or "finetune" (classification fine-tune on train first).
        finetune: the fine-tune settings (the classification protocol's defaults; the rows
            carry its best_step, budget_steps and converged).
    """

    split: str = "test"
    n_init: int = 10
    max_iter: int = 300
    standardize: bool = True
    embed_batch_size: int = 256
    regime: str = "probe"
    finetune: ClassificationConfig = field(
        default_factory=lambda: ClassificationConfig(regime="finetune")
    )

    def __post_init__(self) -> None:
        if self.regime not in ("probe", "finetune"):
            raise ConfigError(f"regime {self.regime!r} unknown; valid: ['probe', 'finetune']")
        if self.regime == "finetune" and self.split != "test":
            raise ConfigError("regime 'finetune' trains on the train split: cluster split 'test'")
        if self.split not in ("train", "test"):
            raise ConfigError(f"split {self.split!r} unknown; valid: ['train', 'test']")
        check_int("n_init", self.n_init, 1)
        check_int("max_iter", self.max_iter, 1)
        check_int("embed_batch_size", self.embed_batch_size, 1)
        if not isinstance(self.standardize, bool):
            raise ConfigError(f"standardize must be a bool, got {self.standardize!r}")


def cluster_features(
    Z: np.ndarray, n_clusters: int, seed: int, *, n_init: int = 10, max_iter: int = 300,
    standardize: bool = True,
) -> np.ndarray:  # fmt: skip
    """k-means cluster ids of (N, F) features (also used for the raw-series baseline).

    Returns:
        int (N,) cluster ids.
    """
    if not 1 <= n_clusters <= len(Z):
        raise ValueError(f"n_clusters must be in [1, {len(Z)}], got {n_clusters}")
    X = StandardScaler().fit_transform(Z) if standardize else np.asarray(Z, np.float64)
    km = KMeans(n_clusters=n_clusters, n_init=n_init, max_iter=max_iter, random_state=seed)
    return km.fit_predict(X)


def evaluate_clustering(
    encoder: EncoderUnderTest, dataset: Dataset, cfg: ClusteringConfig, seed: int, *,
    device: str = "auto", cache: EmbeddingCache | None = None,
) -> list[ResultRow]:  # fmt: skip
    """k-means on the frozen embeddings of ``dataset``'s ``cfg.split``; NMI and ARI rows.

    Args:
        encoder: the encoder under test (probe: pretrained or "random"; finetune: pretrained
            or "scratch").
        dataset: a classification :class:`Dataset` with the split ``cfg.split``.
        cfg: protocol settings.
        seed: k-means seed (and the init seed of a random encoder).
        device: "auto", "cpu" or "cuda".
        cache: embedding cache (default: the process-wide ``probe.DEFAULT_CACHE``).
    """
    if dataset.task != "classification" or cfg.split not in dataset.splits:
        raise ValueError(f"{dataset.name}: clustering needs a labelled dataset with a "
                         f"{cfg.split!r} split; got task {dataset.task!r}, splits "
                         f"{sorted(dataset.splits)}")  # fmt: skip
    if cfg.regime == "probe" and encoder.kind == "scratch":
        raise ValueError("encoder kind 'scratch' is the fine-tune baseline: use regime "
                         "'finetune', or 'random' as the probe baseline")  # fmt: skip
    if cfg.regime == "finetune" and encoder.kind == "random":
        raise ValueError("a frozen 'random' encoder is the probe baseline; the fine-tune "
                         "baseline is 'scratch'")  # fmt: skip
    start = time.perf_counter()
    idx = dataset.splits[cfg.split]
    extra: dict = {"split": cfg.split}
    if cfg.regime == "probe":
        emb = (DEFAULT_CACHE if cache is None else cache).get(
            encoder, seed, dataset, device=device, batch_size=cfg.embed_batch_size
        )
        Z = emb.Z[idx]
        extra["embed_seconds"] = emb.seconds
    else:
        model, summary = finetune(encoder, dataset.subset("train"), cfg.finetune, seed, device)
        tuned = Embedder(model.encoder, device=device, batch_size=cfg.embed_batch_size)
        Z = embed_series(tuned, dataset.X[idx], dataset.mask[idx], max_window(model.encoder))
        extra.update({k: v for k, v in summary.items() if k != "val_curve"})
    y = dataset.y[idx]
    k = int(np.unique(y).size)
    labels = cluster_features(Z, k, seed, n_init=cfg.n_init, max_iter=cfg.max_iter,
                              standardize=cfg.standardize)  # fmt: skip
    values = {"nmi": nmi(y, labels), "ari": ari(y, labels)}
    extra.update(k=k, n=int(idx.size))
    return result_rows(encoder, "clustering", dataset.name, cfg.regime, seed, values,
                       wall_seconds=time.perf_counter() - start, eval_config=cfg,
                       extra=extra)  # fmt: skip
