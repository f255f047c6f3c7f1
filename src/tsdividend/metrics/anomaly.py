"""Anomaly-detection metrics on point labels (T,) in {0, 1} and point scores (T,), higher = more
anomalous.

Headline metrics: the UCR score (Wu & Keogh 2021), VUS-PR / VUS-ROC (Paparrizos et al. 2022,
"Volume Under the Surface", VLDB), AUC-PR (average precision), AUC-ROC and the best F1 over all
thresholds WITHOUT point adjustment. ``pa_f1`` (point-adjusted F1) exists only as a clearly named
extra for comparison with the literature: it credits a whole anomaly segment when any one of its
points is flagged, which makes even random scores look good (Kim et al. AAAI 2022).

Every threshold sweep here is exact: prediction = ``scores >= s`` for every distinct score ``s``.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from tsdividend.metrics.base import metric


def _check(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels, scores = np.asarray(labels), np.asarray(scores, np.float64)
    if labels.ndim != 1 or labels.shape != scores.shape or labels.size == 0:
        raise ValueError(
            f"need 1-D labels and scores of one non-empty shape, got {labels.shape} and "
            f"{scores.shape}"
        )
    if not np.isin(labels, (0, 1)).all():
        raise ValueError(f"labels must be 0/1, got values {np.unique(labels)[:5]}")
    if not np.isfinite(scores).all():
        raise ValueError("scores hold NaN or infinite values")
    labels = labels.astype(np.int64)
    if labels.min() == labels.max():
        raise ValueError(f"labels hold one class only ({labels[0]}); need normal and anomalous")
    return labels, scores


def segments(labels: np.ndarray) -> np.ndarray:
    """Half-open ``[start, end)`` runs of ones of a 0/1 vector, as an (S, 2) int64 array."""
    padded = np.concatenate([[0], np.asarray(labels, np.int8), [0]])
    edges = np.flatnonzero(np.diff(padded))
    return edges.reshape(-1, 2).astype(np.int64)


def _sweep(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Descending order of ``scores``, the rank of each point in it, and the positions (in that
    order) of the last point of each distinct score: prediction ``scores >= s_j`` = the first
    ``ends[j] + 1`` points of the order."""
    order = np.argsort(-scores, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    s = scores[order]
    ends = np.append(np.flatnonzero(s[1:] != s[:-1]), s.size - 1)
    return order, rank, ends


def _first_hit(rank: np.ndarray, ranges: np.ndarray) -> np.ndarray:
    """For each inclusive-exclusive range ``[a, b)`` the smallest rank of its points."""
    return np.array([rank[a:b].min() for a, b in ranges], dtype=np.int64)


@metric("ucr_score", higher_is_better=True)
def ucr_score(scores: np.ndarray, begin: int, end: int, tolerance: int = 100) -> float:
    """UCR anomaly archive score (Wu & Keogh 2021): is the top-scored point at the anomaly?

    Rule: with the anomaly at the half-open ``[begin, end)`` of the scored array, the score is 1.0
    when ``begin - tolerance <= argmax(scores) < end + tolerance`` and 0.0 otherwise; ties go to
    the first maximum (``np.argmax``). The window always contains the whole anomaly, so a long
    anomaly is hit anywhere inside it ("within +-100 of the anomaly, or within it if longer").

    Args:
        scores: (T,) point scores, higher = more anomalous.
        begin: first anomalous index (0-based, in ``scores``' coordinates).
        end: one past the last anomalous index (``end > begin``).
        tolerance: allowed distance in steps (100 in the archive's rule).
    """
    scores = np.asarray(scores, np.float64)
    if scores.ndim != 1 or scores.size == 0 or not np.isfinite(scores).all():
        raise ValueError(f"scores must be a finite non-empty 1-D array, got shape {scores.shape}")
    if not 0 <= begin < end <= scores.size or tolerance < 0:
        raise ValueError(
            f"need 0 <= begin < end <= {scores.size} and tolerance >= 0, got begin={begin}, "
            f"end={end}, tolerance={tolerance}"
        )
    top = int(np.argmax(scores))
    return float(begin - tolerance <= top < end + tolerance)


@metric("auc_roc", higher_is_better=True)
def auc_roc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve of point scores (scikit-learn's ``roc_auc_score``)."""
    labels, scores = _check(labels, scores)
    return float(roc_auc_score(labels, scores))


@metric("auc_pr", higher_is_better=True)
def auc_pr(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision ``sum_j (R_j - R_{j-1}) P_j`` over all thresholds (scikit-learn's
    ``average_precision_score``: step-wise, no trapezoid optimism)."""
    labels, scores = _check(labels, scores)
    return float(average_precision_score(labels, scores))


def _f1_curves(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """F1 and point-adjusted F1 at every distinct threshold (arrays over thresholds)."""
    order, rank, ends = _sweep(scores)
    n_pos = labels.sum()
    tp = np.cumsum(labels[order])[ends]
    n_pred = ends + 1
    f1 = 2 * tp / (n_pred + n_pos)  # 2TP / (2TP + FP + FN), FP + TP = n_pred, FN + TP = n_pos
    segs = segments(labels)
    hit = _first_hit(rank, segs)  # a segment is detected once the threshold reaches its best point
    lengths = segs[:, 1] - segs[:, 0]
    by_rank = np.zeros(labels.size, np.int64)
    np.add.at(by_rank, hit, lengths)
    tp_pa = np.cumsum(by_rank)[ends]
    fp = n_pred - tp
    pa = 2 * tp_pa / (2 * tp_pa + fp + (n_pos - tp_pa))
    return f1, pa


@metric("best_f1", higher_is_better=True)
def best_f1(labels: np.ndarray, scores: np.ndarray) -> float:
    """Maximum point-wise F1 over every threshold ``scores >= s`` (no point adjustment).

    An oracle threshold (it reads the labels): an upper bound of any threshold rule, reported
    because the literature does; our tasks choose no threshold on test labels otherwise.
    """
    labels, scores = _check(labels, scores)
    return float(_f1_curves(labels, scores)[0].max())


@metric("pa_f1", higher_is_better=True)
def pa_f1(labels: np.ndarray, scores: np.ndarray) -> float:
    """Point-adjusted F1 at its best threshold (EXTRA for literature comparison only).

    Point adjustment (Xu et al. 2018, used by Anomaly-Transformer/TSLib): when any point of a
    true anomaly segment is flagged, every point of that segment counts as detected; false
    positives are unchanged. Maximised over every threshold ``scores >= s``. It inflates F1 and is
    never a headline number here.
    """
    labels, scores = _check(labels, scores)
    return float(_f1_curves(labels, scores)[1].max())


def _buffer_weights(labels: np.ndarray, segs: np.ndarray, window: int) -> np.ndarray:
    """VUS soft labels for buffer ``window``: 1 inside anomalies, ``sqrt(1 - d / window)`` at
    distance ``d = 1 .. window // 2`` outside each segment (contributions add, clipped at 1)."""
    w = labels.astype(np.float64)
    half, T = window // 2, labels.size
    if half == 0:
        return w
    d = np.arange(1, half + 1)
    ramp = np.sqrt(1.0 - d / window)
    for a, b in segs:
        after = b - 1 + d  # d steps after the last anomalous point
        before = a - d
        w[after[after < T]] += ramp[after < T]
        w[before[before >= 0]] += ramp[before >= 0]
    return np.minimum(w, 1.0)


def _merged_ranges(segs: np.ndarray, window: int, T: int) -> np.ndarray:
    """Segments widened by ``window // 2`` on each side (clipped), overlapping ones merged;
    half-open. Existence (was this event detected at all?) is counted per merged range."""
    half = window // 2
    out: list[list[int]] = []
    for a, b in segs:
        lo, hi = max(a - half, 0), min(b + half, T)
        if out and lo < out[-1][1]:  # strictly overlapping, as the authors' code merges
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return np.array(out, dtype=np.int64)


def _range_curves(
    labels: np.ndarray, scores: np.ndarray, window: int, sweep: tuple[np.ndarray, ...]
) -> tuple[float, float]:
    """Range-AUC-ROC and range-AUC-PR for one buffer ``window`` (one slice of the VUS surface)."""
    order, rank, ends = sweep
    T, P = labels.size, labels.sum()
    segs = segments(labels)
    w = _buffer_weights(labels, segs, window)
    buffer = w * (labels == 0)
    tp = np.cumsum(w[order])[ends]  # anomalies count 1, predicted buffer points their weight
    bsum = np.cumsum(buffer[order])[ends]
    # Positives: the anomalies plus half the predicted buffer mass (Paparrizos et al.: a missed
    # buffer point is no false negative, a flagged one is a partial true positive).
    p_new = P + 0.5 * bsum
    recall = np.minimum(tp / p_new, 1.0)
    ranges = _merged_ranges(segs, window, T)
    hits = np.zeros(T, np.int64)
    np.add.at(hits, _first_hit(rank, ranges), 1)
    existence = np.cumsum(hits)[ends] / len(ranges)
    tpr = recall * existence
    n_pred = ends + 1
    fpr = (n_pred - tp) / (T - p_new)
    precision = tp / n_pred
    x = np.concatenate([[0.0], fpr, [1.0]])
    y = np.concatenate([[0.0], tpr, [1.0]])
    roc = float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2))
    pr = float(np.sum(np.diff(np.concatenate([[0.0], tpr])) * precision))
    return roc, pr


def vus(labels: np.ndarray, scores: np.ndarray, max_window: int = 100) -> tuple[float, float]:
    """Volume under the range-ROC and range-PR surfaces (Paparrizos et al. 2022).

    For each buffer length ``l = 0, 1, ..., max_window`` the labels become soft: 1 inside an
    anomaly, ``sqrt(1 - d / l)`` at distance ``d <= l // 2`` outside it. At each threshold
    ``scores >= s``: ``TP = sum of soft labels of flagged points``; ``P_l = P + (flagged buffer
    mass) / 2``; ``TPR = min(TP / P_l, 1) * existence`` (existence = fraction of widened, merged
    events with a flagged point); ``FPR = (flagged - TP) / (T - P_l)``; ``precision = TP /
    flagged``. Range-AUC-ROC is the trapezoid from (0, 0) to (1, 1); range-AUC-PR the step sum
    ``sum_j (TPR_j - TPR_{j-1}) precision_j``; VUS is their mean over ``l``. This follows the
    authors' ``RangeAUC_volume_opt`` (TheDatumOrg/VUS) except that every distinct score is a
    threshold (exact) instead of 250 sampled ones. With ``max_window = 0`` and one anomaly
    segment, VUS-PR equals average precision and VUS-ROC equals AUC-ROC.

    Returns:
        (vus_roc, vus_pr).
    """
    labels, scores = _check(labels, scores)
    if isinstance(max_window, bool) or not isinstance(max_window, int) or max_window < 0:
        raise ValueError(f"max_window must be an int >= 0, got {max_window!r}")
    sweep = _sweep(scores)
    surf = np.array([_range_curves(labels, scores, w, sweep) for w in range(max_window + 1)])
    return float(surf[:, 0].mean()), float(surf[:, 1].mean())


@metric("vus_pr", higher_is_better=True)
def vus_pr(labels: np.ndarray, scores: np.ndarray, max_window: int = 100) -> float:
    """Volume under the range-PR surface, buffers 0..``max_window`` (see :func:`vus`)."""
    return vus(labels, scores, max_window)[1]


@metric("vus_roc", higher_is_better=True)
def vus_roc(labels: np.ndarray, scores: np.ndarray, max_window: int = 100) -> float:
    """Volume under the range-ROC surface, buffers 0..``max_window`` (see :func:`vus`)."""
    return vus(labels, scores, max_window)[0]
