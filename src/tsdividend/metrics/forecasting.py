"""Forecast errors (on whatever scale the inputs are: the protocol uses standardised data)."""

from __future__ import annotations

import numpy as np

from tsdividend.metrics.base import metric


def _check(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError(f"shapes differ or are empty: {y_true.shape} vs {y_pred.shape}")
    return y_true, y_pred


@metric("mse", higher_is_better=False)
def mse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean squared error over every value."""
    y_true, y_pred = _check(y_true, y_pred)
    return float(np.mean((y_true - y_pred) ** 2))


@metric("mae", higher_is_better=False)
def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute error over every value."""
    y_true, y_pred = _check(y_true, y_pred)
    return float(np.mean(np.abs(y_true - y_pred)))
