"""Classification metrics on integer labels."""

from __future__ import annotations

import numpy as np

from tsdividend.metrics.base import metric


def _check(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1 or y_true.size == 0:
        raise ValueError(
            f"need two non-empty 1-D label arrays of one shape, got {y_true.shape} and "
            f"{y_pred.shape}"
        )
    return y_true, y_pred


@metric("accuracy", higher_is_better=True)
def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of correct predictions."""
    y_true, y_pred = _check(y_true, y_pred)
    return float(np.mean(y_true == y_pred))


@metric("balanced_accuracy", higher_is_better=True)
def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean over the classes present in ``y_true`` of the per-class recall."""
    y_true, y_pred = _check(y_true, y_pred)
    recalls = [np.mean(y_pred[y_true == c] == c) for c in np.unique(y_true)]
    return float(np.mean(recalls))
