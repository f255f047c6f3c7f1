"""Forecasting references: DLinear (Zeng et al., AAAI 2023) and seasonal naive.

Both use the forecasting protocol's windows (:mod:`tsdividend.tasks.forecasting`: look-back 336,
ILI 104; horizons 96/192/336/720, ILI 24/36/48/60; validation and test windows start L steps
before their border; EVERY test window) on the standardised data, channel-independently, and
report ``mse@H`` and ``mae@H`` over every test window, channel and step (observed targets only).

**DLinear**: a moving average (kernel 25, the series replicated at both ends by 12 steps, as the
authors' ``series_decomp``) splits each look-back window into trend and seasonal (= rest) parts;
one linear layer each maps L -> H and the forecast is their sum; weights shared by all channels
(the paper's default, ``individual=False``). Instead of Adam for 10 epochs we fit the layers in
closed form: ridge regression on the 2L features [seasonal, trend] with an unpenalised intercept
(both layers' biases), penalty ``alpha * trace(centred Gram) / 2L`` with ``alpha`` chosen by
validation MSE (the same relative grid as the forecasting probe). It is deterministic, fast and
the exact minimiser of the training MSE the SGD fit approaches (plus a small, validated ridge).
Fit on train windows only (not refitted on train + val). Unobserved inputs are 0, i.e. the train
mean on the standardised scale.

**Seasonal naive**: the forecast repeats the last season of the look-back window, ``y[h] =
x[L - s + (h mod s)]``. ``s`` comes from the data frequency (the step between the dataset's first
and last date): hourly 24 (ETTh1/ETTh2: a day), 15-minute 96, daily 7 (Exchange: a week; exchange
rates have no weekly cycle, so this is a weak reference there and ``season=1``, the naive last
value, is the stronger one), weekly 52 (ILI: a year); 1 (last value) for other frequencies or
when the dataset has no dates. ``season`` overrides it. Nothing is fitted.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tsdividend.config import ConfigError, check_int
from tsdividend.data import Dataset
from tsdividend.metrics import mae, mse
from tsdividend.tasks.baselines.base import register_baseline
from tsdividend.tasks.forecasting import STANDARD, gather, window_starts

# data step -> season length (see the module docstring)
SEASONS: dict[pd.Timedelta, int] = {
    pd.Timedelta(minutes=15): 96,
    pd.Timedelta(hours=1): 24,
    pd.Timedelta(days=1): 7,
    pd.Timedelta(weeks=1): 52,
}
DEFAULT_ALPHAS = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)


def _check_windows(lookback: int | None, horizons: tuple[int, ...] | None) -> tuple | None:
    if lookback is not None:
        check_int("lookback", lookback, 1)
    if horizons is None:
        return None
    if not horizons:
        raise ConfigError("horizons must be None (the dataset's standard) or a non-empty tuple")
    for h in horizons:
        check_int("horizon", h, 1)
    return tuple(sorted(set(horizons)))


def resolve_windows(
    name: str, lookback: int | None, horizons: tuple[int, ...] | None
) -> tuple[int, tuple[int, ...]]:
    """(look-back, horizons): the configured ones, else the protocol's standard for ``name``."""
    std = STANDARD.get(name)
    if std is None and (lookback is None or horizons is None):
        raise ConfigError(f"no standard look-back/horizons for {name!r} (known: "
                          f"{sorted(STANDARD)}); set lookback and horizons")  # fmt: skip
    return (lookback or std[0], horizons or std[1])  # type: ignore[index]


@dataclass(frozen=True)
class DLinearConfig:
    """DLinear settings (Zeng et al. 2023; closed-form fit, see the module docstring).

    Attributes:
        lookback, horizons: None = the dataset's standard (336 / 96..720; ILI 104 / 24..60).
        kernel: moving-average kernel of the decomposition (25, odd).
        alphas: relative ridge penalties searched on validation windows.
    """

    lookback: int | None = None
    horizons: tuple[int, ...] | None = None
    kernel: int = 25
    alphas: tuple[float, ...] = DEFAULT_ALPHAS

    def __post_init__(self) -> None:
        object.__setattr__(self, "horizons", _check_windows(self.lookback, self.horizons))
        check_int("kernel", self.kernel, 1)
        if self.kernel % 2 == 0:
            raise ConfigError(f"kernel must be odd (centred moving average), got {self.kernel}")
        if not self.alphas or any(not float(a) > 0 for a in self.alphas):
            raise ConfigError(f"alphas must be positive numbers, got {self.alphas}")
        object.__setattr__(self, "alphas", tuple(float(a) for a in self.alphas))


@dataclass(frozen=True)
class SeasonalNaiveConfig:
    """Seasonal-naive settings.

    Attributes:
        lookback, horizons: None = the dataset's standard (the same test windows as DLinear).
        season: season length; None = from the data frequency (see the module docstring).
    """

    lookback: int | None = None
    horizons: tuple[int, ...] | None = None
    season: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "horizons", _check_windows(self.lookback, self.horizons))
        if self.season is not None:
            check_int("season", self.season, 1)


def decomposition_matrix(lookback: int, kernel: int) -> np.ndarray:
    """(L, L) matrix A with ``trend = x @ A.T``: centred moving average, ends replicated."""
    half = (kernel - 1) // 2
    cols = np.clip(np.arange(lookback)[:, None] + np.arange(-half, half + 1), 0, lookback - 1)
    A = np.zeros((lookback, lookback))
    np.add.at(A, (np.repeat(np.arange(lookback), kernel), cols.ravel()), 1.0 / kernel)
    return A


def channel_windows(
    dataset: Dataset, split: str, lookback: int, horizon: int
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Channel-independent windows of a split, one channel at a time (bounded memory).

    Yields:
        (inputs (n, L) float64, targets (n, H) float64, targets observed (n, H) bool) per
        channel, for every window start of :func:`~tsdividend.tasks.forecasting.window_starts`.
    """
    starts = window_starts(dataset.time_splits[split], lookback, horizon)
    for c in range(dataset.n_channels):
        win = gather(dataset.X[0, c : c + 1], starts, lookback + horizon)[:, 0]
        seen = gather(dataset.mask[0, c : c + 1], starts, lookback + horizon)[:, 0, lookback:]
        win = win.astype(np.float64)
        yield win[:, :lookback], win[:, lookback:], seen > 0.5


def fit_dlinear(
    train: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]],
    val: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]],
    kernel: int,
    alphas: tuple[float, ...],
) -> tuple[np.ndarray, np.ndarray, float]:
    """Closed-form DLinear: ridge on [seasonal, trend] features, alpha chosen on validation.

    Args:
        train, val: iterables of (inputs (n, L), targets (n, H), observed (n, H)) windows (all
            training targets are fitted; validation MSE counts observed targets).
        kernel: moving-average kernel.
        alphas: relative penalties (lambda = alpha * trace(centred Gram) / 2L).

    Returns:
        (M (L, H), b (H,), chosen alpha): the forecast of input x is ``x @ M + b``.
    """
    n, sx, sy, xx, xy = 0, 0.0, 0.0, 0.0, 0.0
    for x, y, _ in train:  # the Gram of the raw inputs, accumulated channel by channel
        n, sx, sy = n + len(x), sx + x.sum(axis=0), sy + y.sum(axis=0)
        xx, xy = xx + x.T @ x, xy + x.T @ y
    if n == 0:
        raise ValueError("no training window")
    xbar, ybar = sx / n, sy / n
    L = np.size(xbar)
    A = decomposition_matrix(L, kernel)
    B = np.concatenate([np.eye(L) - A.T, A.T], axis=1)  # x @ B = [seasonal, trend]
    gram = B.T @ (xx - n * np.outer(xbar, xbar)) @ B  # Gram of the centred features x @ B
    cross = B.T @ (xy - n * np.outer(xbar, ybar))
    evals, evecs = np.linalg.eigh(gram)
    proj = evecs.T @ cross
    scale = max(np.trace(gram) / gram.shape[0], 1e-12)
    fits = []
    for alpha in alphas:
        M = B @ (evecs @ (proj / (np.clip(evals, 0, None) + alpha * scale)[:, None]))
        fits.append((M, ybar - xbar @ M, alpha))
    sq_err, count = np.zeros(len(fits)), 0
    for x, y, seen in val:
        count += int(seen.sum())
        for i, (M, b, _) in enumerate(fits):
            sq_err[i] += float(np.sum(((x @ M + b - y) ** 2)[seen]))
    if count == 0:
        raise ValueError("no observed validation target")
    return fits[int(np.argmin(sq_err))]


def _errors(y: np.ndarray, pred: np.ndarray, seen: np.ndarray, h: int) -> dict[str, float]:
    return {f"mse@{h}": mse(y[seen], pred[seen]), f"mae@{h}": mae(y[seen], pred[seen])}


def _check(dataset: Dataset) -> None:
    if len(dataset) != 1 or not {"train", "val", "test"} <= set(dataset.time_splits):
        raise ValueError(f"{dataset.name}: forecasting baselines need one series with time "
                         f"splits train/val/test, got {len(dataset)} series and "
                         f"{sorted(dataset.time_splits)}")  # fmt: skip


@register_baseline("dlinear", "forecasting", DLinearConfig)
def dlinear(
    dataset: Dataset, cfg: DLinearConfig, seed: int
) -> tuple[dict[str, float], dict[str, Any]]:
    """DLinear per horizon: fit on train windows, alpha on val windows, score every test window.

    ``seed`` is unused (closed-form, deterministic); it is recorded in the rows.
    """
    _check(dataset)
    lookback, horizons = resolve_windows(dataset.name, cfg.lookback, cfg.horizons)
    values: dict[str, float] = {}
    extra: dict[str, Any] = {"lookback": lookback}
    for h in horizons:
        M, b, alpha = fit_dlinear(channel_windows(dataset, "train", lookback, h),
                                  channel_windows(dataset, "val", lookback, h), cfg.kernel,
                                  cfg.alphas)  # fmt: skip
        # the test windows are read once per horizon, after the fit
        test = list(channel_windows(dataset, "test", lookback, h))
        yt, seen = np.concatenate([t[1] for t in test]), np.concatenate([t[2] for t in test])
        pred = np.concatenate([x @ M + b for x, _, _ in test])
        values.update(_errors(yt, pred, seen, h))
        extra[f"alpha@{h}"] = alpha
        extra[f"n_test_windows@{h}"] = len(test[0][0])
    return values, extra


def data_season(dataset: Dataset) -> int:
    """Season length from the data frequency (``meta`` first/last date and rows used); 1 if
    unknown."""
    meta = dataset.meta
    try:
        first, last = pd.Timestamp(meta["first_date"]), pd.Timestamp(meta["last_date"])
        step = (last - first) / (int(meta["rows_used"]) - 1)
    except (KeyError, ValueError, TypeError, ZeroDivisionError):
        return 1
    return SEASONS.get(step, 1)


def seasonal_naive_forecast(x: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """(n, L) inputs -> (n, H) forecasts repeating the last ``season`` steps."""
    if season > x.shape[1]:
        raise ValueError(f"season {season} is longer than the look-back {x.shape[1]}")
    last = x[:, x.shape[1] - season :]
    return last[:, np.arange(horizon) % season]


@register_baseline("seasonal_naive", "forecasting", SeasonalNaiveConfig)
def seasonal_naive(
    dataset: Dataset, cfg: SeasonalNaiveConfig, seed: int
) -> tuple[dict[str, float], dict[str, Any]]:
    """Seasonal naive on every test window (nothing fitted; ``seed`` unused, recorded)."""
    _check(dataset)
    lookback, horizons = resolve_windows(dataset.name, cfg.lookback, cfg.horizons)
    season = cfg.season or data_season(dataset)
    values: dict[str, float] = {}
    for h in horizons:
        test = list(channel_windows(dataset, "test", lookback, h))
        yt, seen = np.concatenate([t[1] for t in test]), np.concatenate([t[2] for t in test])
        pred = np.concatenate([seasonal_naive_forecast(x, h, season) for x, _, _ in test])
        values.update(_errors(yt, pred, seen, h))
    return values, {"lookback": lookback, "season": season}
