import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from tsdividend.metrics import (
    METRICS,
    auc_pr,
    auc_roc,
    best_f1,
    dominant_period,
    pa_f1,
    ucr_score_kdd21,
    ucr_score_rewicki23,
    vus,
    vus_max_window,
    vus_pr,
    vus_roc,
)


def _at(i: int, T: int = 2000) -> np.ndarray:
    s = np.zeros(T)
    s[i] = 1.0
    return s


def test_ucr_score_kdd21_window_edges_ties_and_long_anomalies():
    # anomaly [500, 510) (last anomalous index 509), tolerance 100: hits are 400..609
    assert ucr_score_kdd21(_at(400), 500, 510) == 1.0
    assert ucr_score_kdd21(_at(399), 500, 510) == 0.0
    assert ucr_score_kdd21(_at(609), 500, 510) == 1.0
    assert ucr_score_kdd21(_at(610), 500, 510) == 0.0
    assert ucr_score_kdd21(_at(450), 500, 510, tolerance=10) == 0.0
    tie = np.zeros(1000)
    tie[[50, 505]] = 2.0  # the first maximum (50) counts: a miss
    assert ucr_score_kdd21(tie, 500, 510) == 0.0
    # long anomaly [300, 700) (L = 400): inside it always hits, the margin stays 100
    assert ucr_score_kdd21(_at(650), 300, 700) == 1.0
    assert ucr_score_kdd21(_at(200), 300, 700) == 1.0
    assert ucr_score_kdd21(_at(199), 300, 700) == 0.0
    assert ucr_score_kdd21(_at(799), 300, 700) == 1.0
    assert ucr_score_kdd21(_at(800), 300, 700) == 0.0
    with pytest.raises(ValueError, match="begin"):
        ucr_score_kdd21(_at(3), 5, 5)


def test_ucr_score_rewicki23_tolerance_is_max_of_length_and_100():
    # short anomaly [500, 510): max(10, 100) = 100, the same window as the KDD Cup rule
    for i, hit in ((399, 0.0), (400, 1.0), (609, 1.0), (610, 0.0)):
        assert ucr_score_rewicki23(_at(i), 500, 510) == hit == ucr_score_kdd21(_at(i), 500, 510)
    # long anomaly [300, 700): tolerance 400 on each side, hits are -100..1099 -> 0..1099
    assert ucr_score_rewicki23(_at(0), 300, 700) == 1.0
    assert ucr_score_rewicki23(_at(1099), 300, 700) == 1.0
    assert ucr_score_rewicki23(_at(1100), 300, 700) == 0.0
    assert ucr_score_kdd21(_at(1099), 300, 700) == 0.0  # where the two rules differ
    # anomaly [1000, 1150) (L = 150): hits 850..1299
    assert ucr_score_rewicki23(_at(849), 1000, 1150) == 0.0
    assert ucr_score_rewicki23(_at(850), 1000, 1150) == 1.0
    assert ucr_score_rewicki23(_at(1299), 1000, 1150) == 1.0
    assert ucr_score_rewicki23(_at(1300), 1000, 1150) == 0.0
    assert ucr_score_kdd21(_at(850), 1000, 1150) == 0.0
    assert ucr_score_rewicki23(_at(450), 500, 510, min_tolerance=10) == 0.0
    assert ucr_score_rewicki23(_at(490), 500, 510, min_tolerance=0) == 1.0  # max(10, 0) = 10
    assert ucr_score_rewicki23(_at(489), 500, 510, min_tolerance=0) == 0.0
    assert ucr_score_rewicki23(_at(489), 500, 511, min_tolerance=0) == 1.0  # L = 11
    with pytest.raises(ValueError, match="min_tolerance"):
        ucr_score_rewicki23(_at(3), 1, 5, min_tolerance=-1)


def test_dominant_period_and_the_vus_buffer_rules():
    t = np.arange(1000)
    rng = np.random.default_rng(0)
    sine = np.sin(2 * np.pi * t / 80) + 0.1 * rng.normal(size=t.size)
    assert dominant_period(sine) == (80, "period")
    sine[100:120] = np.nan  # unobserved steps are set to the mean
    assert dominant_period(sine)[0] == 80
    assert dominant_period(rng.normal(size=1000)) == (100, "fallback")
    assert dominant_period(np.ones(200)) == (50, "fallback")  # constant: min(100, n // 4)
    # the VUS authors' setting: max buffer = 2 x period; fixed: the given value
    assert vus_max_window("period", sine) == (160, "period")
    assert vus_max_window("period", rng.normal(size=1000)) == (200, "fallback")
    assert vus_max_window("fixed", sine) == (100, "fixed")
    assert vus_max_window("fixed", None, 37) == (37, "fixed")
    with pytest.raises(ValueError, match=r"'window'.*\['fixed', 'period'\]"):
        vus_max_window("window", sine)
    with pytest.raises(ValueError, match="prefix"):
        vus_max_window("period")


def test_vus_averages_buffers_zero_to_max_window_and_reaches_half_of_each():
    """A single flagged point d steps after the anomaly is credited by buffer l iff l // 2 >= d:
    the volume over l = 0..M then differs from the plain AP exactly by the slices l >= 2d."""
    labels = np.zeros(400, int)
    labels[100:110] = 1
    scores = np.zeros(400)
    scores[109 + 5] = 2.0  # 5 steps after the last anomalous point
    scores[100:110] = 1.0
    slices = [vus(labels, scores, max_window=0)[1]]
    for top in range(1, 13):
        now, before = vus(labels, scores, top)[1], vus(labels, scores, top - 1)[1]
        slices.append((top + 1) * now - top * before)  # the slice of buffer l = top
    plain = average_precision_score(labels, scores)
    np.testing.assert_allclose(slices[:10], plain, atol=1e-12)  # l // 2 < 5: not credited
    assert all(v > plain + 1e-3 for v in slices[10:])  # l = 10, 11, 12: credited


def test_auc_roc_and_auc_pr_by_hand():
    labels, scores = np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])
    # ROC: of the 4 (anomaly, normal) pairs only (0.35, 0.4) is mis-ordered.
    assert auc_roc(labels, scores) == pytest.approx(3 / 4)
    # AP: recall 1/2 at precision 1 (0.8), recall 1 at precision 2/3 (0.35).
    assert auc_pr(labels, scores) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    with pytest.raises(ValueError, match="one class"):
        auc_pr(np.zeros(4), scores)


def test_best_f1_and_point_adjusted_f1_by_hand():
    labels = np.array([0, 1, 1, 1, 1, 0, 0, 0])
    scores = np.array([0.0, 0.9, 0.2, 0.2, 0.2, 0.5, 0.0, 0.0])
    # thresholds 0.9: TP1 FP0 FN3 -> 2/5; 0.5: TP1 FP1 FN3 -> 1/3; 0.2: TP4 FP1 -> 8/9;
    # 0.0: TP4 FP4 -> 2/3.  Point-adjusted at 0.9: the one hit credits the whole segment -> 1.
    assert best_f1(labels, scores) == pytest.approx(8 / 9)
    assert pa_f1(labels, scores) == pytest.approx(1.0)
    assert pa_f1(labels, scores) > best_f1(labels, scores)


def _reference_f1s(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """Explicit loops: F1 and point-adjusted F1 at every threshold, maximised."""
    best, best_pa = 0.0, 0.0
    runs, i = [], 0
    while i < len(labels):
        if labels[i]:
            j = i
            while j < len(labels) and labels[j]:
                j += 1
            runs.append((i, j))
            i = j
        else:
            i += 1
    for s in np.unique(scores):
        pred = (scores >= s).astype(int)
        adj = pred.copy()
        for a, b in runs:
            if pred[a:b].any():
                adj[a:b] = 1
        for p, slot in ((pred, 0), (adj, 1)):
            tp = int(np.sum(p & labels))
            fp, fn = int(np.sum(p & (1 - labels))), int(np.sum((1 - p) & labels))
            f1 = 2 * tp / (2 * tp + fp + fn)
            if slot == 0:
                best = max(best, f1)
            else:
                best_pa = max(best_pa, f1)
    return best, best_pa


def test_f1s_match_explicit_loops_on_random_data():
    rng = np.random.default_rng(3)
    for _ in range(20):
        labels = (rng.random(60) < 0.15).astype(int)
        labels[10:16] = 1
        scores = np.round(rng.random(60), 1)  # many ties
        ref = _reference_f1s(labels, scores)
        assert best_f1(labels, scores) == pytest.approx(ref[0])
        assert pa_f1(labels, scores) == pytest.approx(ref[1])


def test_vus_buffer_zero_is_plain_auc_with_one_segment():
    rng = np.random.default_rng(0)
    labels = np.zeros(200, int)
    labels[80:95] = 1
    scores = rng.random(200) + 0.7 * labels * rng.random(200)
    for w in (0, 1):  # a buffer of 1 widens by 1 // 2 = 0 steps: still plain
        roc, pr = vus(labels, scores, max_window=w)
        assert pr == pytest.approx(average_precision_score(labels, scores))
        assert roc == pytest.approx(roc_auc_score(labels, scores))


def test_vus_perfect_detector_is_one():
    labels = np.zeros(300, int)
    labels[[*range(40, 50), 120, *range(200, 260)]] = 1
    assert vus_pr(labels, labels * 3.0 + 1.0, max_window=20) == pytest.approx(1.0)
    assert vus_roc(labels, labels * 3.0 + 1.0, max_window=20) == pytest.approx(1.0)


def test_vus_existence_penalises_a_missed_event_at_buffer_zero():
    labels = np.array([1, 1, 0, 0, 1, 0])
    scores = np.array([0.9, 0.8, 0.1, 0.85, 0.3, 0.0])
    # order: t0 A, t3 N, t1 A, t4 A, t2 N, t5 N; 2 events, P = 3.
    # TPR = recall * (events hit / 2): 1/6, 1/6, 1/3, 1 at precisions 1, 1/2, 2/3, 3/4.
    expected = 1 / 6 * 1 + (1 / 3 - 1 / 6) * 2 / 3 + (1 - 1 / 3) * 3 / 4
    assert vus_pr(labels, scores, max_window=0) == pytest.approx(expected)
    assert expected < average_precision_score(labels, scores)


def test_vus_six_point_example_by_hand():
    labels = np.array([0, 0, 1, 1, 0, 0])
    scores = np.array([0.1, 0.5, 0.9, 0.2, 0.8, 0.3])
    # order: t2 A, t4 N, t1 N, t5 N, t3 A, t0 N; T = 6, P = 2.
    # buffers 0 and 1 (no widening): plain AP = 1/2 * 1 + 1/2 * 2/5; ROC = 5/8.
    ap0, roc0 = 0.5 + 0.5 * 2 / 5, 5 / 8
    # buffer 2: t1 and t4 (distance 1) get weight r = sqrt(1 - 1/2); one merged event [1, 5).
    r = math.sqrt(0.5)
    pts = [  # (TP, flagged buffer mass, flagged) after each threshold
        (1, 0, 1),  # t2
        (1 + r, r, 2),  # t4
        (1 + 2 * r, 2 * r, 3),  # t1
        (1 + 2 * r, 2 * r, 4),  # t5
        (2 + 2 * r, 2 * r, 5),  # t3
        (2 + 2 * r, 2 * r, 6),  # t0
    ]
    tpr, fpr, prec = [], [], []
    for tp, buf, n in pts:
        p_new = 2 + buf / 2
        tpr.append(min(tp / p_new, 1.0))  # the one event is hit from the first threshold on
        fpr.append((n - tp) / (6 - p_new))
        prec.append(tp / n)
    ap2 = sum((b - a) * p for a, b, p in zip([0.0, *tpr[:-1]], tpr, prec, strict=True))
    xs, ys = [0.0, *fpr, 1.0], [0.0, *tpr, 1.0]
    roc2 = sum((xs[i + 1] - xs[i]) * (ys[i + 1] + ys[i]) / 2 for i in range(len(xs) - 1))
    roc, pr = vus(labels, scores, max_window=2)
    assert pr == pytest.approx((2 * ap0 + ap2) / 3)
    assert roc == pytest.approx((2 * roc0 + roc2) / 3)
    assert ap2 == pytest.approx(0.90018, abs=1e-5)  # the hand sum, evaluated


def test_directions_registered_and_errors():
    assert "ucr_score" not in METRICS  # one name per rule, no ambiguous alias
    for name in ("ucr_score_kdd21", "ucr_score_rewicki23", "auc_roc", "auc_pr", "vus_pr",
                 "vus_roc", "best_f1", "pa_f1"):  # fmt: skip
        assert METRICS.get(name).higher_is_better
    with pytest.raises(ValueError, match="NaN"):
        auc_roc(np.array([0, 1]), np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match="0/1"):
        best_f1(np.array([0, 2]), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="max_window"):
        vus(np.array([0, 1]), np.array([0.0, 1.0]), max_window=-1)
