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

import numpy as np
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler

from tsdividend.data import Dataset
from tsdividend.encoder.embedder import Embedder
from tsdividend.metrics import ari, nmi
from tsdividend.results.row import ResultRow
from tsdividend.tasks.base import EncoderLike, check_init
from tsdividend.tasks.classification_finetune import finetune
from tsdividend.tasks.clustering_config import ClusteringConfig
from tsdividend.tasks.probe import (
    DEFAULT_CACHE,
    EmbeddingCache,
    embed_series,
    result_rows,
)


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
    encoder: EncoderLike, dataset: Dataset, cfg: ClusteringConfig, seed: int, *,
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
    check_init(encoder, cfg.regime, "clustering")
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
        Z = embed_series(tuned, dataset.X[idx], dataset.mask[idx], model.encoder.max_length)
        extra.update({k: v for k, v in summary.items() if k != "val_curve"})
    assert dataset.y is not None  # checked above: a labelled classification dataset
    y = dataset.y[idx]
    k = int(np.unique(y).size)
    labels = cluster_features(Z, k, seed, n_init=cfg.n_init, max_iter=cfg.max_iter,
                              standardize=cfg.standardize)  # fmt: skip
    values = {"nmi": nmi(y, labels), "ari": ari(y, labels)}
    extra.update(k=k, n=int(idx.size))
    return result_rows(encoder, "clustering", dataset.name, cfg.regime, seed, values,
                       wall_seconds=time.perf_counter() - start, eval_config=cfg,
                       extra=extra)  # fmt: skip
