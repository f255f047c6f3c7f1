"""Similarity and invariance losses between embeddings of views."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def normalized_mse(prediction: Tensor, target: Tensor) -> Tensor:
    """BYOL's regression loss per sample (Grill et al. 2020, eq. 2).

    ``|| p / |p| - z / |z| ||^2 = 2 - 2 cos(p, z)``, in [0, 4]; the target is detached (the
    stop-gradient of BYOL). NuTime computes ``nn.MSELoss`` on the same unit vectors, i.e. this
    value divided by the width D.

    Args:
        prediction: (N, D) online predictions p.
        target: (N, D) target projections z'.

    Returns:
        (N,) float32 per-sample losses.
    """
    if prediction.shape != target.shape or prediction.ndim != 2:
        raise ValueError(
            f"prediction and target must be the same (N, D) shape, got "
            f"{tuple(prediction.shape)} and {tuple(target.shape)}"
        )
    p = F.normalize(prediction.float(), dim=-1)
    z = F.normalize(target.detach().float(), dim=-1)
    return (p - z).pow(2).sum(dim=-1)
