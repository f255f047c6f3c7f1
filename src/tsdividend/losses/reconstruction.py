"""Reconstruction losses for generative objectives (MAE, NTP, diffusion)."""

from __future__ import annotations

import torch
from torch import Tensor


def masked_mse(pred: Tensor, target: Tensor, weight: Tensor) -> Tensor:
    """Squared error over the counted values, averaged exactly per series, then over series.

    Each row's loss is the mean of ``(pred - target)**2`` over its counted values (divided by
    their exact number); a row with no counted value contributes 0. The result is the mean over
    rows, so equal-sized shards of a batch average to the full batch's loss (data parallelism
    reproduces one process). Computed in float32 whatever the autocast dtype of ``pred``.

    Args:
        pred: (B', N, P) predictions.
        target: (B', N, P) targets.
        weight: (B', N, P) bool, True = value counted (e.g. masked and observed).

    Returns:
        Scalar float32 loss.
    """
    if pred.shape != target.shape or weight.shape != pred.shape:
        raise ValueError(
            f"pred, target and weight must have one shape, got {tuple(pred.shape)}, "
            f"{tuple(target.shape)}, {tuple(weight.shape)}"
        )
    err = torch.where(weight, pred.float() - target.float(), torch.zeros((), device=pred.device))
    count = weight.flatten(1).sum(1).clamp_min(1)
    return (err.square().flatten(1).sum(1) / count).mean()
