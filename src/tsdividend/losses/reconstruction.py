"""Reconstruction losses for generative objectives (MAE, NTP, diffusion), and the statistics
that normalise their targets."""

from __future__ import annotations

import torch
from torch import Tensor

from tsdividend.tokenizer import instance_stats
from tsdividend.tokenizer.patch import InstanceStats


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


def floored_stats(x: Tensor, part: Tensor, mask: Tensor) -> InstanceStats:
    """Instance statistics of the part of each series a model sees, for normalising the targets
    it must predict: mean of the ``part`` steps, std ``max(std(part), std(whole))``.

    MAE (visible steps) and NTP (the context) normalise their targets with the statistics of
    what the encoder sees, so that the tokens reveal nothing about the hidden values. When that
    part is flat and the hidden part moves (a step or a spike after a calm stretch) its std is
    the tokenizer's floor ``sqrt(1e-5)`` and the targets explode: on the unfiltered real corpus
    they reached 1e2 (squared errors 1e4) and dominated the loss. Flooring the std at the std of
    the whole observed window (all observed steps, hidden ones included) bounds every target:
    with ``n`` observed steps, ``|x - mean(part)| <= 2 sqrt(n - 1) std(whole)`` (Samuelson 1968,
    applied to ``x`` and to ``mean(part)``), so ``|target| <= 2 sqrt(n - 1)``, the bound of
    whole-window (PatchTST) normalisation up to its factor 2, whatever the part. The tokens are
    unchanged, so nothing hidden leaks into the input; only the targets' scale depends on the
    hidden values. When the part is representative (std(part) >= std(whole)) nothing changes.

    Args:
        x: (B, C, T) values.
        part: (B, C, T) bool, the steps the model sees (subset of ``mask``).
        mask: (B, C, T) bool, every observed step.

    Returns:
        :class:`~tsdividend.tokenizer.patch.InstanceStats` with (B, C, 1) tensors.
    """
    seen = instance_stats(x, part)
    whole = instance_stats(x, mask)
    return InstanceStats(mean=seen.mean, std=torch.maximum(seen.std, whole.std))
