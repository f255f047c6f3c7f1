"""Matrix-profile discords (Yeh et al. 2016; stumpy, Law 2019): the anomaly-detection reference.

Protocol (UCR anomaly archive, Wu & Keogh 2021: the training prefix is normal):

1. **Window** ``m`` from the TRAINING PREFIX only: the dominant period
   (:func:`tsdividend.metrics.dominant_period`), i.e. the lag of the highest local maximum of
   the prefix's autocorrelation among lags ``[min_window, min(max_window, n_train // 4)]`` (the
   idea of TSB-UAD's ``find_length``, Paparrizos et al. 2022). When there is no such peak or it
   is weak (autocorrelation < ``min_acf``), ``m = min(fallback_window, n_train // 4)`` (100: the
   usual fixed choice). A configured ``window`` overrides both.
2. **Left matrix profile** of the whole series (train prefix + test) with ``stumpy.stump``
   (z-normalised Euclidean distance, stumpy's exclusion zone ``m / 4``): the score of a
   subsequence is the distance to its nearest neighbour among the subsequences that START EARLIER
   (the train prefix, the reference of normality, and the test seen so far), so a pattern
   repeated later in the test is still a discord the first time it appears, and nothing after a
   point influences its score. stumpy returns the left neighbour's index; its distance is
   recomputed here from the two subsequences. Every subsequence overlapping the test span is
   scored (those straddling the border too, so the first test points get scores).
3. **Point scores, centred on their subsequence** (``point_rule``). The subsequence starting at
   ``i`` describes the points ``i .. i+m-1``; both rules attribute its score symmetrically about
   its centre. ``"mean"`` (default): a point's score is the MEAN of the scores of every scored
   subsequence covering it (TimeEval's reverse windowing, Schmidl et al. 2022), a box filter
   whose maximum lies where the high-scoring subsequences overlap, i.e. on the discord.
   ``"centre"``: TSB-UAD's rule (Paparrizos et al. 2022), point ``t`` gets the score of the one
   subsequence centred on it (starting at ``t - m // 2``; TSB-UAD pads ``ceil((m-1)/2)`` copies
   of the first score on the left and ``(m-1)//2`` of the last on the right). Why "mean" is the
   default (decided on synthetic planted discords, no benchmark score read): every subsequence
   that holds the whole discord scores about alike, so the top subsequence lies anywhere on a
   plateau of ``m - L + 1`` starts; "centre" then lands anywhere within ``m / 2`` of the
   discord, while "mean" peaks inside it (``bench/anomaly_point_rules.py``); "mean" is also the
   encoders' own attribution (a step's score is the mean over the windows and tokens covering
   it). The replaced rule (MAX over covering subsequences) put the top point at the START of
   the top subsequence, up to ``m`` steps before the discord, beyond the UCR tolerance of 100
   once ``m`` reaches 200 (``m`` goes up to 1000).
   Subsequences holding an unobserved value get score 0 (stumpy excludes them as neighbours).
4. **Metrics** once every score exists: UCR-archive series: ``ucr_score_kdd21`` (+-``tolerance``)
   and ``ucr_score_rewicki23`` (+-max(anomaly length, ``tolerance``)), ``vus_pr``, ``auc_pr``,
   ``auc_roc``; other univariate archives (NAB): ``vus_pr``, ``auc_pr``, ``auc_roc``,
   ``best_f1`` (no point adjustment). VUS buffer: :func:`tsdividend.metrics.vus_max_window`
   under ``vus_buffer`` (the anomaly task's rule, so a dataset gets the same buffer for the
   reference and for the encoders). Nothing is fitted on labels.

Univariate only (a multichannel series, e.g. MSL, is refused). Cost: stumpy's first call in a
process JIT-compiles for 10-70 s; afterwards O(T^2) (about 0.5 s for T = 7,500 on one CPU core).
:func:`cache_compiled_kernels` turns on numba's on-disk cache for stumpy's kernels, so only the
first process on a machine compiles them; every later process (pool workers, the next study)
loads the machine code in about a second.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import stumpy
from numpy.lib.stride_tricks import sliding_window_view

from tsdividend.config import ConfigError, check_int
from tsdividend.data import Dataset
from tsdividend.metrics.anomaly import (
    VUS_BUFFERS,
    auc_pr,
    auc_roc,
    best_f1,
    dominant_period,
    segments,
    ucr_score_kdd21,
    ucr_score_rewicki23,
    vus_max_window,
    vus_pr,
)
from tsdividend.tasks.baselines.base import register_baseline

STD_THRESHOLD = 1e-7  # below this a subsequence is constant (stumpy's STUMPY_STDDEV_THRESHOLD)
_CHUNK = 4096  # subsequence pairs per distance batch (bounds memory on long series)
POINT_RULES = ("mean", "centre")


@dataclass(frozen=True)
class MatrixProfileConfig:
    """Matrix-profile settings.

    Attributes:
        window: subsequence length m; None = estimated from the training prefix (see module).
        min_window, max_window: period search range of the estimate (8, 1000 steps).
        min_acf: weakest autocorrelation peak accepted as a period (0.1).
        fallback_window: m when no period is found (100).
        tolerance: UCR score tolerance in steps (100, Wu & Keogh 2021); the floor of the
            Rewicki et al. 2023 rule.
        point_rule: subsequence -> point scores, "mean" (default) or "centre" (TSB-UAD); see
            the module docstring.
        vus_buffer: VUS buffer rule, "fixed" (``vus_max_window``) or "period" (2 x the
            dominant period of the training prefix, the VUS authors' setting); see
            :func:`tsdividend.metrics.vus_max_window`. Default "fixed", as the anomaly task.
        vus_max_window: largest VUS buffer of the "fixed" rule (100).
    """

    window: int | None = None
    min_window: int = 8
    max_window: int = 1000
    min_acf: float = 0.1
    fallback_window: int = 100
    tolerance: int = 100
    point_rule: str = "mean"
    vus_buffer: str = "fixed"
    vus_max_window: int = 100

    def __post_init__(self) -> None:
        if self.window is not None:
            check_int("window", self.window, 3)
        check_int("min_window", self.min_window, 3)
        check_int("max_window", self.max_window, self.min_window)
        check_int("fallback_window", self.fallback_window, 3)
        check_int("tolerance", self.tolerance, 0)
        check_int("vus_max_window", self.vus_max_window, 0)
        if self.point_rule not in POINT_RULES:
            raise ConfigError(f"point_rule {self.point_rule!r} unknown; valid: {list(POINT_RULES)}")
        if self.vus_buffer not in VUS_BUFFERS:
            raise ConfigError(f"vus_buffer {self.vus_buffer!r} unknown; valid: {list(VUS_BUFFERS)}")
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
    return dominant_period(train, cfg.min_window, cfg.max_window, cfg.min_acf, cfg.fallback_window)


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


def centre_scores(sub_scores: np.ndarray, m: int) -> np.ndarray:
    """Subsequence scores (T - m + 1,) -> point scores (T,), each score at its subsequence's centre.

    Point ``t`` gets the score of the subsequence starting at ``t - m // 2`` (which holds ``t``
    at offset ``m // 2 = ceil((m - 1) / 2)``), clipped to the first/last subsequence at the ends:
    exactly TSB-UAD's padding of ``ceil((m - 1) / 2)`` copies of the first score on the left and
    ``(m - 1) // 2`` copies of the last on the right (Paparrizos et al. 2022).

    Args:
        sub_scores: (T - m + 1,) score of the subsequence starting at each index.
        m: subsequence length (>= 1).

    Returns:
        (T,) point scores (same dtype).
    """
    sub_scores = np.asarray(sub_scores)
    if sub_scores.ndim != 1 or sub_scores.size == 0 or m < 1:
        raise ValueError(f"need 1-D non-empty subsequence scores and m >= 1, got shape "
                         f"{sub_scores.shape} and m={m}")  # fmt: skip
    idx = np.arange(sub_scores.size + m - 1) - m // 2
    return sub_scores[np.clip(idx, 0, sub_scores.size - 1)]


def mean_scores(sub_scores: np.ndarray, m: int) -> np.ndarray:
    """Subsequence scores (T - m + 1,) -> point scores (T,): the mean over the subsequences
    covering each point (``i <= t <= i + m - 1``), ``-inf`` entries (unscored) left out; a point
    no scored subsequence covers gets ``-inf``.

    Args:
        sub_scores: (T - m + 1,) score of the subsequence starting at each index.
        m: subsequence length (>= 1).

    Returns:
        float64 (T,) point scores.
    """
    sub_scores = np.asarray(sub_scores, np.float64)
    if sub_scores.ndim != 1 or sub_scores.size == 0 or m < 1:
        raise ValueError(f"need 1-D non-empty subsequence scores and m >= 1, got shape "
                         f"{sub_scores.shape} and m={m}")  # fmt: skip
    ok = np.isfinite(sub_scores)
    total = np.concatenate([[0.0], np.cumsum(np.where(ok, sub_scores, 0.0))])
    count = np.concatenate([[0], np.cumsum(ok)])
    t = np.arange(sub_scores.size + m - 1)
    lo, hi = np.maximum(t - m + 1, 0), np.minimum(t + 1, sub_scores.size)  # starts [lo, hi)
    n = count[hi] - count[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (total[hi] - total[lo]) / np.maximum(n, 1), -np.inf)


def point_scores(sub_scores: np.ndarray, m: int, rule: str = "mean") -> np.ndarray:
    """Subsequence scores (T - m + 1,) -> point scores (T,) by ``rule`` ("mean" or "centre")."""
    if rule == "mean":
        return mean_scores(sub_scores, m)
    if rule == "centre":
        return centre_scores(sub_scores, m)
    raise ValueError(f"point rule {rule!r} unknown; valid: {list(POINT_RULES)}")


@functools.cache
def cache_compiled_kernels() -> int:
    """Turn on numba's on-disk cache for every njit kernel of stumpy (once per process).

    Numba writes a compiled kernel next to stumpy's sources (or under ``$NUMBA_CACHE_DIR``)
    on its first compilation and loads it in later processes: the cache is keyed by the
    kernel's source, signature and CPU, so stale code is never loaded. The list of kernels is
    stumpy's own (``stumpy.cache.get_njit_funcs``); unlike ``stumpy.cache.save`` nothing is
    compiled here. Returns the number of kernels; 0 when numba's JIT is disabled.
    """
    from stumpy.cache import get_njit_funcs

    n = 0
    for module_name, func_name in get_njit_funcs():
        func = getattr(importlib.import_module(f"stumpy.{module_name}"), func_name)
        if hasattr(func, "enable_caching"):  # absent under NUMBA_DISABLE_JIT
            func.enable_caching()
            n += 1
    return n


def discord_scores(
    series: np.ndarray, n_train: int, m: int, point_rule: str = "mean"
) -> np.ndarray:
    """Left-matrix-profile point scores of the test span ``series[n_train:]``.

    Args:
        series: (T,) float64 values, NaN = unobserved.
        n_train: length of the normal prefix.
        m: subsequence length.
        point_rule: "mean" or "centre" (:func:`point_scores`).

    Returns:
        float64 (T - n_train,) point scores, higher = more anomalous.
    """
    T = series.size
    if not 2 * m <= n_train < T:
        raise ValueError(f"need 2 * m <= n_train < T, got m={m}, n_train={n_train}, T={T}")
    cache_compiled_kernels()
    profile = stumpy.stump(series, m)  # columns: P, I, left I, right I
    left = profile[:, 2].astype(np.int64)
    scored = np.arange(n_train - m + 1, T - m + 1)
    finite = np.isfinite(sliding_window_view(series, m)[scored]).all(axis=1)
    usable = finite & (left[scored] >= 0)
    sub = np.full(T - m + 1, -np.inf)
    sub[scored] = 0.0
    idx = scored[usable]
    sub[idx] = pair_distances(series, idx, left[idx], m)
    return point_scores(sub, m, point_rule)[n_train:]


@register_baseline("matrix_profile", "anomaly", MatrixProfileConfig)
def matrix_profile(
    dataset: Dataset, cfg: MatrixProfileConfig, seed: int
) -> tuple[dict[str, float], dict[str, Any]]:
    """Discord scores of the test span with the training prefix as normal reference.

    ``seed`` is unused (the method is deterministic); it is recorded in the rows.

    Returns:
        ({metric: value}, {"window": m, "window_rule": ..., "point_rule": ..., "top_index": ...,
        "anomalies": ..., "vus_buffer": rule, "vus_max_window": the buffer used,
        "vus_window_rule": "fixed" / "period" / "fallback"}).
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
    scores = discord_scores(series, n_train, m, cfg.point_rule)
    vus_window, vus_how = vus_max_window(cfg.vus_buffer, series[:n_train], cfg.vus_max_window)
    # labels are read here, after every score exists
    assert dataset.y is not None  # an anomaly dataset has point labels
    labels = dataset.y[0, n_train:end].astype(np.int64)
    values = {
        "vus_pr": vus_pr(labels, scores, vus_window),
        "auc_pr": auc_pr(labels, scores),
        "auc_roc": auc_roc(labels, scores),
    }
    segs = segments(labels)
    begin, stop = int(segs[0, 0]), int(segs[-1, 1])  # the UCR archive has one anomaly
    if dataset.name.startswith("anomaly/ucr/"):
        values = {"ucr_score_kdd21": ucr_score_kdd21(scores, begin, stop, cfg.tolerance),
                  "ucr_score_rewicki23": ucr_score_rewicki23(scores, begin, stop, cfg.tolerance),
                  **values}  # fmt: skip
    else:
        values["best_f1"] = best_f1(labels, scores)
    extra = {
        "window": m,
        "window_rule": rule,
        "point_rule": cfg.point_rule,
        "top_index": n_train + int(np.argmax(scores)),
        "anomalies": [[n_train + int(s), n_train + int(e)] for s, e in segs],
        "vus_buffer": cfg.vus_buffer,
        "vus_max_window": vus_window,
        "vus_window_rule": vus_how,
    }
    return values, extra
