"""Anomaly-detection metrics on point labels (T,) in {0, 1} and point scores (T,), higher = more
anomalous.

Headline metrics: the UCR score under two named rules (``ucr_score_kdd21``: Wu & Keogh 2021 /
KDD Cup 2021, +-100 steps; ``ucr_score_rewicki23``: +-max(anomaly length, 100), Rewicki et al.
2023), VUS-PR / VUS-ROC (Paparrizos et al. 2022, "Volume Under the Surface", VLDB) with the
buffer rule of :func:`vus_max_window`, AUC-PR (average precision), AUC-ROC and the best F1 over
all thresholds WITHOUT point adjustment. ``pa_f1`` (point-adjusted F1) exists only as a clearly
named extra for comparison with the literature: it credits a whole anomaly segment when any one
of its points is flagged, which makes even random scores look good (Kim et al. AAAI 2022).

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


UCR_TOLERANCE = 100  # steps; the UCR archive's rule (Wu & Keogh 2021)


def _ucr_hit(scores: np.ndarray, begin: int, end: int, tolerance: int) -> float:
    """1.0 when the first argmax of ``scores`` lies in ``[begin - tolerance, end + tolerance)``."""
    scores = np.asarray(scores, np.float64)
    if scores.ndim != 1 or scores.size == 0 or not np.isfinite(scores).all():
        raise ValueError(f"scores must be a finite non-empty 1-D array, got shape {scores.shape}")
    if not 0 <= begin < end <= scores.size or tolerance < 0:
        raise ValueError(
            f"need 0 <= begin < end <= {scores.size} and tolerance >= 0, got begin={begin}, "
            f"end={end}, tolerance={tolerance}"
        )
    top = int(np.argmax(scores))  # ties: the first maximum
    return float(begin - tolerance <= top < end + tolerance)


@metric("ucr_score_kdd21", higher_is_better=True)
def ucr_score_kdd21(
    scores: np.ndarray, begin: int, end: int, tolerance: int = UCR_TOLERANCE
) -> float:
    """UCR score, KDD Cup 2021 rule (Wu & Keogh 2021): is the top-scored point at the anomaly?

    1.0 when the first argmax of ``scores`` (``np.argmax``: ties go to the first maximum) lies
    within ``tolerance`` steps of the anomaly, i.e. ``begin - tolerance <= argmax <= (end - 1) +
    tolerance`` with the anomaly at the half-open ``[begin, end)`` (the competition's
    ``[begin - 100, end + 100]`` with an inclusive end); 0.0 otherwise. The window always holds
    the whole anomaly, whatever its length; the tolerance outside it is fixed.

    Args:
        scores: (T,) point scores, higher = more anomalous.
        begin: first anomalous index (0-based, in ``scores``' coordinates).
        end: one past the last anomalous index (``end > begin``).
        tolerance: steps allowed on each side (100 in the competition's rule).
    """
    return _ucr_hit(scores, begin, end, tolerance)


@metric("ucr_score_rewicki23", higher_is_better=True)
def ucr_score_rewicki23(
    scores: np.ndarray, begin: int, end: int, min_tolerance: int = UCR_TOLERANCE
) -> float:
    """UCR score with a length-scaled tolerance (Rewicki et al. 2023, Applied Sciences).

    As :func:`ucr_score_kdd21` but the tolerance on each side is ``max(end - begin,
    min_tolerance)``: a long anomaly (L > 100 steps) also widens the window by L on each side,
    so a detector whose scores peak one anomaly length early or late still counts.

    Args:
        scores: (T,) point scores, higher = more anomalous.
        begin: first anomalous index (0-based, in ``scores``' coordinates).
        end: one past the last anomalous index (``end > begin``).
        min_tolerance: the smallest tolerance (100).
    """
    if min_tolerance < 0:
        raise ValueError(f"min_tolerance must be >= 0, got {min_tolerance}")
    return _ucr_hit(scores, begin, end, max(end - begin, min_tolerance))


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

    ``max_window`` is the authors' ``windowSize``; choose it with :func:`vus_max_window`.
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


VUS_BUFFERS = ("fixed", "period")
VUS_FIXED_MAX_WINDOW = 100


def dominant_period(
    x: np.ndarray,
    min_lag: int = 8,
    max_lag: int = 1000,
    min_acf: float = 0.1,
    fallback: int = 100,
) -> tuple[int, str]:
    """Dominant period of a series: the lag of the highest local maximum of its autocorrelation.

    The idea of TSB-UAD's ``find_length`` (Paparrizos et al. 2022), with other bounds: lags
    ``[min_lag, min(max_lag, n // 4)]`` (at least four periods in ``x``; ``find_length`` uses
    3..300 on the first 20,000 points), a local maximum = ``acf[k] > acf[k-1]`` and ``acf[k] >=
    acf[k+1]``; when there is none, or the best is below ``min_acf``, the period is
    ``min(fallback, n // 4)`` (``find_length``: 125). The linear (zero-padded) autocorrelation
    is computed by FFT. The single home of this rule: the matrix-profile window and the VUS
    "period" buffer both call it.

    Args:
        x: (n,) values; NaN = unobserved (set to the mean of the observed ones).
        min_lag, max_lag: searched lags.
        min_acf: weakest autocorrelation peak accepted as a period.
        fallback: period when none is found.

    Returns:
        (period, rule) with rule "period" or "fallback".
    """
    x = np.asarray(x, np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"need a non-empty 1-D series, got shape {x.shape}")
    n = x.size
    fallback_out = max(1, min(fallback, n // 4)), "fallback"
    x = np.nan_to_num(x - np.nanmean(x)) if np.isfinite(x).any() else np.zeros(n)
    top = min(max_lag, n // 4)
    if top <= min_lag or not np.any(x):
        return fallback_out
    spec = np.fft.rfft(x, 2 * n)  # zero-padded: linear, not circular, autocorrelation
    acf = np.fft.irfft(spec * np.conj(spec))[: top + 2]
    acf = acf / acf[0]
    lags = np.arange(min_lag, top + 1)
    peaks = lags[(acf[lags] > acf[lags - 1]) & (acf[lags] >= acf[lags + 1])]
    if peaks.size == 0:
        return fallback_out
    best = int(peaks[np.argmax(acf[peaks])])
    return (best, "period") if acf[best] >= min_acf else fallback_out


def vus_max_window(
    rule: str, prefix: np.ndarray | None = None, fixed: int = VUS_FIXED_MAX_WINDOW
) -> tuple[int, str]:
    """The largest VUS buffer ``max_window`` (the authors' ``windowSize``) under a named rule.

    With ``max_window = M`` :func:`vus` averages buffers ``l = 0..M``; buffer ``l`` gives soft
    labels to the ``l // 2`` steps on each side of an anomaly, so the reach is ``M // 2`` steps.

    - ``"fixed"``: ``M = fixed`` (100: reach 50 steps) for every series and method. One buffer
      that depends on no estimate, so a dataset's metric never changes with a period estimator's
      choice (a fallback or a harmonic); the default of this package, fixed before any score.
    - ``"period"``: the VUS authors' setting, ``M = 2 x period`` with the period from
      :func:`dominant_period` of ``prefix`` (the normal training part), as TheDatumOrg/VUS calls
      ``RangeAUC_volume_opt(windowSize=2 * slidingWindow)`` with ``slidingWindow =
      find_length(series)``; the authors estimate on the whole series, we read only the
      training part (no value of the scored test part defines its metric). Reach = one period.

    Args:
        rule: "fixed" or "period".
        prefix: (n,) values of the normal training part (NaN = unobserved); needed for "period".
        fixed: ``M`` of the "fixed" rule.

    Returns:
        (M, how) with how "fixed", or the period's rule ("period" / "fallback": no period found,
        ``M = 2 x min(100, n // 4)``).
    """
    if rule == "fixed":
        if isinstance(fixed, bool) or not isinstance(fixed, int) or fixed < 0:
            raise ValueError(f"fixed must be an int >= 0, got {fixed!r}")
        return fixed, "fixed"
    if rule == "period":
        if prefix is None:
            raise ValueError("the 'period' VUS buffer needs the training part (prefix)")
        period, how = dominant_period(prefix)
        return 2 * period, how
    raise ValueError(f"VUS buffer rule {rule!r} unknown; valid: {list(VUS_BUFFERS)}")
