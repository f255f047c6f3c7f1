"""Average ranks across datasets and the Nemenyi critical difference (Demsar 2006, JMLR 7)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from scipy.stats import rankdata

# Studentized range statistic / sqrt(2) at alpha = 0.05 for k = 2..10 methods (Demsar 2006,
# Table 5a).
_Q05 = {2: 1.960, 3: 2.343, 4: 2.569, 5: 2.728, 6: 2.850, 7: 2.949, 8: 3.031, 9: 3.102,
        10: 3.164}  # fmt: skip


def average_ranks(
    scores: Mapping[str, Mapping[str, float]], higher_is_better: bool = True
) -> dict[str, float]:
    """Mean rank (1 = best, ties averaged) of each method over the datasets all methods have.

    Args:
        scores: method -> dataset -> score.
        higher_is_better: the metric's direction.
    """
    methods = list(scores)
    common = set.intersection(*(set(v) for v in scores.values())) if scores else set()
    if not common:
        raise ValueError("no dataset is scored by every method")
    ranks = []
    for ds in sorted(common):
        vals = np.array([scores[m][ds] for m in methods], np.float64)
        ranks.append(rankdata(-vals if higher_is_better else vals))  # average ranks for ties
    mean = np.mean(ranks, axis=0)
    return {m: float(r) for m, r in zip(methods, mean, strict=True)}


def nemenyi_cd(k: int, n: int) -> float:
    """Critical difference of average ranks at alpha 0.05 for ``k`` methods on ``n`` datasets:
    ``q_0.05 * sqrt(k (k + 1) / (6 n))``."""
    if k not in _Q05:
        raise ValueError(f"k must be in [2, 10] methods, got {k}")
    if n < 1:
        raise ValueError(f"n must be >= 1 datasets, got {n}")
    return _Q05[k] * math.sqrt(k * (k + 1) / (6 * n))
