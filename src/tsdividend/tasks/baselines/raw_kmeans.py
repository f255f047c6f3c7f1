"""Raw-series k-means: the clustering reference.

The clustering protocol (:mod:`tsdividend.tasks.clustering`) on the series themselves instead of
embeddings: every (series, channel) of the clustered split (the test split by default) is
z-normalised over its OBSERVED values (a constant channel is only centred), unobserved steps
(right padding of shorter series, gaps) are set to 0 = that channel's mean, channels are
concatenated, and scikit-learn k-means (k = number of classes present, ``n_init`` restarts,
``random_state=seed``; no feature standardisation, the series are already on one scale) clusters
the flat vectors. Variable-length series are compared position by position on their common
(padded) grid, never resampled. NMI and ARI against the labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tsdividend.config import ConfigError, check_int
from tsdividend.data import Dataset
from tsdividend.metrics import ari, nmi
from tsdividend.tasks.baselines.base import register_baseline
from tsdividend.tasks.clustering import cluster_features


@dataclass(frozen=True)
class RawKMeansConfig:
    """Raw k-means settings (as :class:`~tsdividend.tasks.clustering.ClusteringConfig`).

    Attributes:
        split: the clustered split ("test", as the clustering protocol; "train" allowed).
        n_init: k-means restarts (10).
        max_iter: Lloyd iterations per restart (300, scikit-learn's default).
    """

    split: str = "test"
    n_init: int = 10
    max_iter: int = 300

    def __post_init__(self) -> None:
        if self.split not in ("train", "test"):
            raise ConfigError(f"split {self.split!r} unknown; valid: ['train', 'test']")
        check_int("n_init", self.n_init, 1)
        check_int("max_iter", self.max_iter, 1)


def znormalise(X: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per (series, channel) z-score over observed steps; 0 at unobserved steps.

    Args:
        X: (N, C, T) values; mask: (N, C, T) bool, True = observed.

    Returns:
        float64 (N, C*T) flat vectors.
    """
    w = mask.astype(np.float64)
    count = np.maximum(w.sum(axis=-1, keepdims=True), 1.0)
    mean = (X * w).sum(axis=-1, keepdims=True) / count
    std = np.sqrt((((X - mean) * w) ** 2).sum(axis=-1, keepdims=True) / count)
    z = np.where(mask, (X - mean) / np.where(std > 0, std, 1.0), 0.0)
    return z.reshape(len(X), -1)


@register_baseline("raw_kmeans", "clustering", RawKMeansConfig)
def raw_kmeans(
    dataset: Dataset, cfg: RawKMeansConfig, seed: int
) -> tuple[dict[str, float], dict[str, Any]]:
    """k-means on z-normalised raw series of ``cfg.split``; NMI and ARI."""
    if cfg.split not in dataset.splits:
        raise ValueError(f"{dataset.name}: no split {cfg.split!r}; valid: "
                         f"{sorted(dataset.splits)}")  # fmt: skip
    part = dataset.subset(cfg.split)
    assert part.y is not None  # a labelled classification dataset (run_baseline checks the task)
    k = int(np.unique(part.y).size)  # as the clustering protocol: the classes present
    labels = cluster_features(znormalise(part.X.astype(np.float64), part.mask), k, seed,
                              n_init=cfg.n_init, max_iter=cfg.max_iter,
                              standardize=False)  # fmt: skip
    return {"nmi": nmi(part.y, labels), "ari": ari(part.y, labels)}, {"k": k, "n": len(part)}
