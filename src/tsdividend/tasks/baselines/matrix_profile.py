"""Matrix-profile discords (Yeh et al. 2016; stumpy, Law 2019): the anomaly-detection reference.

Protocol (UCR anomaly archive, Wu & Keogh 2021: the training prefix is normal):

1. **Window** ``m`` from the TRAINING PREFIX only: the dominant period, i.e. the lag of the
   highest local maximum of the prefix's autocorrelation among lags ``[min_window, min(max_window,
   n_train // 4)]`` (the idea of TSB-UAD's ``find_length``, Paparrizos et al. 2022). When there is
   no such peak or it is weak (autocorrelation < ``min_acf``), ``m = min(fallback_window,
   n_train // 4)`` (100: the usual fixed choice). A configured ``window`` overrides both.
2. **Left matrix profile** of the whole series (train prefix + test) with ``stumpy.stump``
   (z-normalised Euclidean distance, stumpy's exclusion zone ``m / 4``): the score of a
   subsequence is the distance to its nearest neighbour among the subsequences that START EARLIER
   (the train prefix, the reference of normality, and the test seen so far), so a pattern
   repeated later in the test is still a discord the first time it appears, and nothing after a
   point influences its score. stumpy returns the left neighbour's index; its distance is
   recomputed here from the two subsequences. Every subsequence overlapping the test span is
   scored (those straddling the border too, so the first test points get scores).
3. **Point scores**: a test point gets the maximum score of the scored subsequences covering it.
   Subsequences holding an unobserved value get score 0 (stumpy excludes them as neighbours).
4. **Metrics** once every score exists: UCR-archive series: ``ucr_score`` (+-``tolerance``),
   ``vus_pr``, ``auc_pr``, ``auc_roc``; other univariate archives (NAB): ``vus_pr``, ``auc_pr``,
   ``auc_roc``, ``best_f1`` (no point adjustment). Nothing is fitted on labels.

Univariate only (a multichannel series, e.g. MSL, is refused). Cost: stumpy's first call in a
process JIT-compiles for 10-30 s; afterwards O(T^2) (about 0.5 s for T = 7,500 on one CPU core).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import stumpy
from numpy.lib.stride_tricks import sliding_window_view

from tsdividend.config import ConfigError, check_int
from tsdividend.data import Dataset
from tsdividend.metrics.anomaly import auc_pr, auc_roc, best_f1, segments, ucr_score, vus_pr
from tsdividend.tasks.baselines.base import register_baseline

STD_THRESHOLD = 1e-7  # below this a subsequence is constant (stumpy's STUMPY_STDDEV_THRESHOLD)
_CHUNK = 4096  # subsequence pairs per distance batch (bounds memory on long series)


@dataclass(frozen=True)
class MatrixProfileConfig:
    """Matrix-profile settings.

    Attributes:
        window: subsequence length m; None = estimated from the training prefix (see module).
        min_window, max_window: period search range of the estimate (8, 1000 steps).
        min_acf: weakest autocorrelation peak accepted as a period (0.1).
        fallback_window: m when no period is found (100).
        tolerance: UCR score tolerance in steps (100, Wu & Keogh 2021).
        vus_max_window: largest VUS buffer (100, as the anomaly protocol).
    """

    window: int | None = None
    min_window: int = 8
    max_window: int = 1000
    min_acf: float = 0.1
    fallback_window: int = 100
    tolerance: int = 100
    vus_max_window: int = 100

    def __post_init__(self) -> None:
        if self.window is not None:
            check_int("window", self.window, 3)
        check_int("min_window", self.min_window, 3)
        check_int("max_window", self.max_window, self.min_window)
        check_int("fallback_window", self.fallback_window, 3)
        check_int("tolerance", self.tolerance, 0)
        check_int("vus_max_window", self.vus_max_window, 0)
        if not -1.0 <= self.min_acf <= 1.0:
            raise ConfigError(f"min_acf must be in [-1, 1], got {self.min_acf}")


def estimate_window(train: np.ndarray, cfg: MatrixProfileConfig) -> tuple[int, str]:
    """Subsequence length from the training prefix only.

    Args:
        train: (n_train,) observed values of the prefix (NaN = unobserved).

    Returns:
        (m, rule) with rule "config", "period" or "fallback".

    Raises:
        ValueError: the prefix is too short for a window of at least 3 steps (needs 12 steps).
    """
    n = train.size
    if n // 4 < 3:
        raise ValueError(f"training prefix of {n} steps is too short for a matrix profile "
                         "(need >= 12 steps: m <= n_train // 4 and m >= 3)")  # fmt: skip
    if cfg.window is not None:
        if cfg.window > n // 4:
            raise ValueError(f"window {cfg.window} exceeds n_train // 4 = {n // 4}")
        return cfg.window, "config"
    fallback = min(cfg.fallback_window, n // 4), "fallback"
    x = np.nan_to_num(train - np.nanmean(train))
    max_lag = min(cfg.max_window, n // 4)
    if max_lag <= cfg.min_window or not np.any(x):
        return fallback
    spec = np.fft.rfft(x, 2 * n)  # zero-padded: linear, not circular, autocorrelation
    acf = np.fft.irfft(spec * np.conj(spec))[: max_lag + 2]
    acf = acf / acf[0]
    lags = np.arange(cfg.min_window, max_lag + 1)
    peaks = lags[(acf[lags] > acf[lags - 1]) & (acf[lags] >= acf[lags + 1])]
    if peaks.size == 0:
        return fallback
    best = int(peaks[np.argmax(acf[peaks])])
    return (best, "period") if acf[best] >= cfg.min_acf else fallback


def pair_distances(series: np.ndarray, a: np.ndarray, b: np.ndarray, m: int) -> np.ndarray:
    """z-normalised Euclidean distance between subsequences ``a[k]`` and ``b[k]`` of length m.

    Constant subsequences follow stumpy's convention: two constants are at distance 0, a
    constant and a non-constant one at ``sqrt(m)``.

    Returns:
        float64 (len(a),) distances.
    """
    view = sliding_window_view(series, m)
    out = np.empty(a.size)
    for lo in range(0, a.size, _CHUNK):
        sa, sb = view[a[lo : lo + _CHUNK]], view[b[lo : lo + _CHUNK]]
        sd_a, sd_b = sa.std(axis=1), sb.std(axis=1)
        flat_a, flat_b = sd_a < STD_THRESHOLD, sd_b < STD_THRESHOLD
        za = (sa - sa.mean(axis=1, keepdims=True)) / np.where(flat_a, 1.0, sd_a)[:, None]
        zb = (sb - sb.mean(axis=1, keepdims=True)) / np.where(flat_b, 1.0, sd_b)[:, None]
        d = np.sqrt(np.sum((za - zb) ** 2, axis=1))
        out[lo : lo + _CHUNK] = np.where(flat_a | flat_b, np.where(flat_a & flat_b, 0.0,
                                                                   np.sqrt(m)), d)  # fmt: skip
    return out


def spread_max(sub_scores: np.ndarray, m: int) -> np.ndarray:
    """Subsequence scores (T - m + 1,) -> point scores (T,): max over the subsequences covering
    each point (``-inf`` entries count as unscored)."""
    pad = np.full(m - 1, -np.inf)
    return sliding_window_view(np.concatenate([pad, sub_scores, pad]), m).max(axis=1)


def discord_scores(series: np.ndarray, n_train: int, m: int) -> np.ndarray:
    """Left-matrix-profile point scores of the test span ``series[n_train:]``.

    Args:
        series: (T,) float64 values, NaN = unobserved.
        n_train: length of the normal prefix.
        m: subsequence length.

    Returns:
        float64 (T - n_train,) point scores, higher = more anomalous.
    """
    T = series.size
    if not 2 * m <= n_train < T:
        raise ValueError(f"need 2 * m <= n_train < T, got m={m}, n_train={n_train}, T={T}")
    profile = stumpy.stump(series, m)  # columns: P, I, left I, right I
    left = profile[:, 2].astype(np.int64)
    scored = np.arange(n_train - m + 1, T - m + 1)
    finite = np.isfinite(sliding_window_view(series, m)[scored]).all(axis=1)
    usable = finite & (left[scored] >= 0)
    sub = np.full(T - m + 1, -np.inf)
    sub[scored] = 0.0
    idx = scored[usable]
    sub[idx] = pair_distances(series, idx, left[idx], m)
    return spread_max(sub, m)[n_train:]


@register_baseline("matrix_profile", "anomaly", MatrixProfileConfig)
def matrix_profile(
    dataset: Dataset, cfg: MatrixProfileConfig, seed: int
) -> tuple[dict[str, float], dict[str, Any]]:
    """Discord scores of the test span with the training prefix as normal reference.

    ``seed`` is unused (the method is deterministic); it is recorded in the rows.

    Returns:
        ({metric: value}, {"window": m, "window_rule": ..., "top_index": ...}).
    """
    if len(dataset) != 1 or dataset.n_channels != 1:
        raise ValueError(f"{dataset.name}: the matrix-profile baseline takes one univariate "
                         f"series, got X of shape {dataset.X.shape}")  # fmt: skip
    (a, n_train), (b, end) = dataset.time_splits["train"], dataset.time_splits["test"]
    if a != 0 or b != n_train:
        raise ValueError(f"{dataset.name}: expected train = [0, t) followed by test = [t, T), "
                         f"got {dataset.time_splits}")  # fmt: skip
    series = np.where(dataset.mask[0, 0, :end], dataset.X[0, 0, :end], np.nan).astype(np.float64)
    m, rule = estimate_window(series[:n_train], cfg)
    scores = discord_scores(series, n_train, m)
    # labels are read here, after every score exists
    labels = dataset.y[0, n_train:end].astype(np.int64)
    values = {
        "vus_pr": vus_pr(labels, scores, cfg.vus_max_window),
        "auc_pr": auc_pr(labels, scores),
        "auc_roc": auc_roc(labels, scores),
    }
    segs = segments(labels)
    if dataset.name.startswith("anomaly/ucr/"):
        values = {"ucr_score": ucr_score(scores, int(segs[0, 0]), int(segs[-1, 1]),
                                         cfg.tolerance), **values}  # fmt: skip
    else:
        values["best_f1"] = best_f1(labels, scores)
    extra = {
        "window": m,
        "window_rule": rule,
        "top_index": n_train + int(np.argmax(scores)),
        "anomalies": [[n_train + int(s), n_train + int(e)] for s, e in segs],
    }
    return values, extra
