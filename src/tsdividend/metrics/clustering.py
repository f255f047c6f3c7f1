"""Clustering agreement metrics (scikit-learn's implementations, with their direction)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from tsdividend.metrics.base import metric


@metric("nmi", higher_is_better=True)
def nmi(labels_true: np.ndarray, labels_pred: np.ndarray) -> float:
    """Normalised mutual information (arithmetic normalisation), in [0, 1]."""
    return float(normalized_mutual_info_score(labels_true, labels_pred))


@metric("ari", higher_is_better=True)
def ari(labels_true: np.ndarray, labels_pred: np.ndarray) -> float:
    """Adjusted Rand index, 0 for random labelings, 1 for identical partitions."""
    return float(adjusted_rand_score(labels_true, labels_pred))
