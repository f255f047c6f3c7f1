"""Forecasting windows (:mod:`tsdividend.tasks.forecasting`): starts, copies, look-back check.

Shared by the ridge probe, the fine-tune and the forecasting baselines.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tsdividend.encoder.adapter import TokenEncoder
from tsdividend.tasks.forecasting.config import ForecastingConfig


def window_starts(
    span: tuple[int, int], lookback: int, horizon: int, stride: int = 1
) -> np.ndarray:
    """First input step of every window whose target lies in ``span = [a, b)``.

    Returns:
        int64 starts ``max(a - L, 0), ... <= b - L - H`` with step ``stride``: inputs
        ``[s, s + L)``, targets ``[s + L, s + L + H)``.

    Raises:
        ValueError: when no window fits.
    """
    a, b = span
    first, last = max(a - lookback, 0), b - lookback - horizon
    if last < first:
        raise ValueError(
            f"split [{a}, {b}) holds no window of look-back {lookback} + horizon {horizon}"
        )
    return np.arange(first, last + 1, stride, dtype=np.int64)


def gather(series: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """(C, T) series -> (n, C, length) float32 copies of ``series[:, s : s + length]``."""
    view = sliding_window_view(series, length, axis=-1)  # (C, T - length + 1, length)
    return np.ascontiguousarray(view[:, starts].transpose(1, 0, 2), dtype=np.float32)


def check_lookback(encoder: TokenEncoder, lookback: int) -> None:
    """The look-back is the model input: it must fit the encoder's context (never resized)."""
    if encoder.max_length is not None and lookback > encoder.max_length:
        raise ValueError(f"look-back {lookback} exceeds the {encoder.max_length} steps this "
                         "encoder takes in one pass (max_length)")  # fmt: skip


def train_starts(
    span: tuple[int, int], lookback: int, horizon: int, cfg: ForecastingConfig, seed: int
) -> np.ndarray:
    """Train window starts every ``cfg.train_stride`` steps; a seeded subsample of
    ``cfg.max_train_windows`` of them (sorted) when there are more."""
    starts = window_starts(span, lookback, horizon, cfg.train_stride)
    if cfg.max_train_windows is not None and starts.size > cfg.max_train_windows:
        rng = np.random.default_rng([seed, 41])
        starts = np.sort(rng.choice(starts, cfg.max_train_windows, replace=False))
    return starts
