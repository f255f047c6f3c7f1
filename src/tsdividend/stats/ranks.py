"""Average ranks, the Friedman test and the Nemenyi critical difference (Demsar 2006, JMLR 7).

Protocol (Demsar 2006, section 3.2.2): the Friedman test of equal average ranks comes first;
only when it rejects at ``alpha`` is the Nemenyi post-hoc critical difference computed, and only
over at least ``MIN_DATASETS_CD`` datasets (with fewer, average ranks move by whole ranks per
dataset and the normal approximation behind the CD is meaningless). The Friedman test needs at
least 3 methods (scipy's ``friedmanchisquare``); with 2 methods it is not run (it would reduce
to a sign test) and the paired Wilcoxon test of the encoder against its baseline is the
comparison instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.stats import friedmanchisquare, rankdata, studentized_range

MIN_DATASETS_CD = 5
MIN_METHODS_FRIEDMAN = 3


def _common(scores: Mapping[str, Mapping[str, float]]) -> list[str]:
    common = set.intersection(*(set(v) for v in scores.values())) if scores else set()
    if not common:
        raise ValueError("no dataset is scored by every method")
    return sorted(common)


def rank_matrix(
    scores: Mapping[str, Mapping[str, float]], higher_is_better: bool = True
) -> np.ndarray:
    """Ranks (1 = best, ties averaged), shape (n_datasets, k_methods), over the datasets every
    method has, methods in ``scores`` order.

    Args:
        scores: method -> dataset -> score.
        higher_is_better: the metric's direction.
    """
    methods = list(scores)
    rows = []
    for ds in _common(scores):
        vals = np.array([scores[m][ds] for m in methods], np.float64)
        rows.append(rankdata(-vals if higher_is_better else vals))  # average ranks for ties
    return np.array(rows)


def average_ranks(
    scores: Mapping[str, Mapping[str, float]], higher_is_better: bool = True
) -> dict[str, float]:
    """Mean rank (1 = best, ties averaged) of each method over the datasets all methods have.

    Args:
        scores: method -> dataset -> score.
        higher_is_better: the metric's direction.
    """
    mean = rank_matrix(scores, higher_is_better).mean(axis=0)
    return {m: float(r) for m, r in zip(scores, mean, strict=True)}


@dataclass(frozen=True)
class FriedmanResult:
    """Friedman chi-square test of equal average ranks (NaN statistic / p when not run)."""

    statistic: float
    pvalue: float
    k: int  # methods
    n: int  # datasets (blocks)


def friedman(
    scores: Mapping[str, Mapping[str, float]], higher_is_better: bool = True
) -> FriedmanResult:
    """Friedman test (scipy's ``friedmanchisquare``, with its tie correction) over the datasets
    every method has. Not run (NaN) with fewer than 3 methods or fewer than 2 datasets.

    Without ties the statistic is ``12 n / (k (k + 1)) * sum_j R_j^2 - 3 n (k + 1)`` with R_j the
    average rank of method j (Friedman 1937; Demsar 2006, eq. 3).

    Args:
        scores: method -> dataset -> score.
        higher_is_better: the metric's direction (the test itself does not depend on it).
    """
    common = _common(scores)
    k, n = len(scores), len(common)
    if k < MIN_METHODS_FRIEDMAN or n < 2:
        return FriedmanResult(math.nan, math.nan, k, n)
    columns = [[scores[m][ds] for ds in common] for m in scores]
    if all(len(set(col)) == 1 for col in zip(*columns, strict=True)):
        return FriedmanResult(0.0, 1.0, k, n)  # every dataset a full tie: nothing to test
    res = friedmanchisquare(*columns)
    return FriedmanResult(float(res.statistic), float(res.pvalue), k, n)


def q_alpha(k: int, alpha: float = 0.05) -> float:
    """Two-tailed Nemenyi critical value for ``k`` methods: the studentized range quantile with
    infinite degrees of freedom divided by sqrt(2) (Demsar 2006, Table 5a for k <= 10)."""
    if k < 2:
        raise ValueError(f"k must be >= 2 methods, got {k}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    return float(studentized_range.ppf(1.0 - alpha, k, np.inf) / math.sqrt(2.0))


def nemenyi_cd(k: int, n: int, alpha: float = 0.05) -> float:
    """Critical difference of average ranks for ``k`` methods on ``n`` datasets:
    ``q_alpha(k) * sqrt(k (k + 1) / (6 n))`` (Demsar 2006, section 3.2.2)."""
    if n < 1:
        raise ValueError(f"n must be >= 1 datasets, got {n}")
    return q_alpha(k, alpha) * math.sqrt(k * (k + 1) / (6 * n))


def gated_cd(test: FriedmanResult, alpha: float = 0.05) -> tuple[float, str]:
    """The Nemenyi CD when the protocol allows it, else NaN, with the reason in words.

    Returns:
        (cd, why): ``why`` is "" when the CD is given.
    """
    if test.n < MIN_DATASETS_CD:
        return math.nan, f"no CD: {test.n} datasets < {MIN_DATASETS_CD}"
    if math.isnan(test.pvalue):
        return math.nan, f"no CD: Friedman needs >= {MIN_METHODS_FRIEDMAN} methods"
    if test.pvalue >= alpha:
        return math.nan, f"no CD: Friedman does not reject (p={test.pvalue:.3g} >= {alpha})"
    return nemenyi_cd(test.k, test.n, alpha), ""
