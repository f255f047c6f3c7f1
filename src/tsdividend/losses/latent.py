"""Losses on predicted latent tokens (JEPA): masked token regression and VICReg-style terms.

All three are exact per-row means (a row = one channel of one sample), so data-parallel ranks
holding equal shares of the batch average to the single-process value.

* :func:`token_regression`: per row, the mean over its target tokens of the per-token error
  (MSE or smooth-L1, averaged over features), as in I-JEPA (Assran et al. 2023; smooth-L1) and
  the seed paper's JEPA (Razmadze et al. 2026; MSE).
* :func:`positional_variance` and :func:`positional_covariance`: the seed paper's optional
  VICReg (Bardes et al. 2022) terms on the context encoder's outputs, computed over the token
  positions of each row. The seed paper's variance is over positions too; its covariance is over
  all flattened tokens of the batch, which couples samples, so here it is per row as well.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

REGRESSION_KINDS = ("mse", "smooth_l1")


def _check(tokens: Tensor, valid: Tensor, name: str) -> None:
    if tokens.ndim != 3 or valid.shape != tokens.shape[:2] or valid.dtype != torch.bool:
        raise ValueError(
            f"{name} expects (R, T, D) tokens and (R, T) bool valid; got "
            f"{tuple(tokens.shape)} and {valid.dtype} {tuple(valid.shape)}"
        )


def _row_mean(values: Tensor, valid: Tensor) -> Tensor:
    """(R, T) -> (R,) mean over valid entries; rows with none give 0 (never NaN)."""
    total = torch.where(valid, values, torch.zeros((), device=values.device)).sum(dim=1)
    return total / valid.sum(dim=1).clamp_min(1)


def token_regression(
    prediction: Tensor, target: Tensor, valid: Tensor, kind: str = "mse", beta: float = 1.0
) -> Tensor:
    """Per-row mean regression error over the valid (target) tokens.

    Args:
        prediction: (R, T, D) predicted tokens.
        target: (R, T, D) target tokens (detached here: the EMA target gets no gradient).
        valid: (R, T) bool, True = a real target token (False = padding of the gather).
        kind: "mse" (seed paper) or "smooth_l1" (I-JEPA), each averaged over the D features.
        beta: smooth-L1 transition point (PyTorch's default 1.0, as in I-JEPA).

    Returns:
        (R,) float32 per-row losses; a row without targets gives 0.
    """
    if prediction.shape != target.shape:
        raise ValueError(
            f"prediction {tuple(prediction.shape)} and target {tuple(target.shape)} differ"
        )
    _check(prediction, valid, "token_regression")
    if kind not in REGRESSION_KINDS:
        raise ValueError(f"regression kind {kind!r} unknown; valid: {list(REGRESSION_KINDS)}")
    p, t = prediction.float(), target.detach().float()
    if kind == "mse":
        err = F.mse_loss(p, t, reduction="none")
    else:
        err = F.smooth_l1_loss(p, t, reduction="none", beta=beta)
    return _row_mean(err.mean(dim=-1), valid)


def _centered(tokens: Tensor, valid: Tensor) -> tuple[Tensor, Tensor]:
    """Tokens minus their per-row mean over valid positions (invalid set to 0), and n - 1."""
    x = tokens.float()
    keep = valid.unsqueeze(-1)
    n = valid.sum(dim=1, keepdim=True).unsqueeze(-1)  # (R, 1, 1)
    mean = torch.where(keep, x, 0.0).sum(dim=1, keepdim=True) / n.clamp_min(1)
    return torch.where(keep, x - mean, 0.0), (n - 1).clamp_min(1)


def positional_variance(tokens: Tensor, valid: Tensor, eps: float = 1e-4) -> Tensor:
    """VICReg variance hinge over positions: ``mean_d relu(1 - sqrt(var_d + eps))`` per row.

    Args:
        tokens: (R, T, D) token outputs.
        valid: (R, T) bool, True = a real token.
        eps: added to the variance before the square root (VICReg, seed paper: 1e-4).

    Returns:
        (R,) float32; ``var_d`` is the unbiased variance of feature d over the row's tokens.
    """
    _check(tokens, valid, "positional_variance")
    xc, dof = _centered(tokens, valid)
    var = xc.pow(2).sum(dim=1) / dof.squeeze(-1)  # (R, D)
    return F.relu(1.0 - torch.sqrt(var + eps)).mean(dim=-1)


def positional_covariance(tokens: Tensor, valid: Tensor) -> Tensor:
    """VICReg covariance term over positions: ``sum_{i != j} C_ij^2 / D`` per row.

    Args:
        tokens: (R, T, D) token outputs.
        valid: (R, T) bool, True = a real token.

    Returns:
        (R,) float32; ``C`` is the row's unbiased (D, D) feature covariance over its tokens.
    """
    _check(tokens, valid, "positional_covariance")
    xc, dof = _centered(tokens, valid)
    cov = xc.transpose(1, 2) @ xc / dof  # (R, D, D)
    off = cov.pow(2).sum(dim=(1, 2)) - cov.diagonal(dim1=1, dim2=2).pow(2).sum(dim=-1)
    return off / tokens.shape[-1]
