"""PatchTST tokenizer: per-series instance normalisation, patches, a linear patch embedding.

Nie et al. 2023, "A Time Series is Worth 64 Words" (PatchTST): channel-independent patches of 16
steps with stride 16 (the seed paper's setting; PatchTST itself used stride 8), each mapped by one
linear layer to d_model, after per-series instance normalisation (RevIN without affine: mean and
biased std over time, ``std = sqrt(var + eps)`` so a constant series normalises to zeros).

Mask awareness: the statistics use observed steps only; unobserved steps are 0 after normalisation;
a patch with no observed step is a padded token (see :mod:`tsdividend.tokenizer.base`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from tsdividend.tokenizer.base import (
    TOKENIZERS,
    TokenBatch,
    Tokenizer,
    check_series,
    masked_moments,
    unfold_windows,
)

INSTANCE_EPS = 1e-5  # RevIN's epsilon, added to the variance


@dataclass
class InstanceStats:
    """Per-series, per-channel statistics of instance normalisation.

    Attributes:
        mean: (B, C, 1) float32 mean over the observed steps.
        std: (B, C, 1) float32 ``sqrt(biased var + eps)`` over the observed steps (> 0).
    """

    mean: Tensor
    std: Tensor

    def normalize(self, x: Tensor) -> Tensor:
        """(B, C, L) raw values -> (B, C, L) float32 normalised values."""
        return (x.float() - self.mean) / self.std

    def denormalize(self, y: Tensor) -> Tensor:
        """(B, C, H) normalised outputs (e.g. a forecast horizon) -> (B, C, H) float32 raw scale."""
        return y.float() * self.std + self.mean


@dataclass
class Patches:
    """Instance-normalised patches, one per token: targets for reconstruction objectives.

    Attributes:
        values: (B*C, N, P) float32 normalised values, 0 at unobserved steps.
        observed: (B*C, N, P) bool, True = observed step (use it to mask a reconstruction loss).
        padding: (B*C, N) bool, True = patch with no observed step.
        stats: the :class:`InstanceStats` used, for de-normalisation.
        n_channels: C.
    """

    values: Tensor
    observed: Tensor
    padding: Tensor
    stats: InstanceStats
    n_channels: int


def instance_stats(
    x: Tensor, mask: Tensor | None = None, eps: float = INSTANCE_EPS
) -> InstanceStats:
    """Mean and ``sqrt(var + eps)`` of each (sample, channel) over its observed steps, in float32.

    Args:
        x: (B, C, T) values.
        mask: (B, C, T) bool, True = observed; None = all observed.
        eps: added to the biased variance (constant or fully missing series get std sqrt(eps)).

    Returns:
        :class:`InstanceStats` with (B, C, 1) tensors.
    """
    mask = check_series(x, mask)
    with torch.autocast(x.device.type, enabled=False):
        mean, std, _ = masked_moments(x.float(), mask, unbiased=False)
        # hypot(std, sqrt(eps)) == sqrt(var + eps) without squaring a possibly huge std.
        std = torch.hypot(std, torch.full_like(std, eps**0.5))
    return InstanceStats(mean=mean, std=std)


def patchify(
    x: Tensor,
    mask: Tensor | None = None,
    patch_len: int = 16,
    stride: int = 16,
    eps: float = INSTANCE_EPS,
) -> Patches:
    """Instance-normalise each series and cut it into patches.

    Args:
        x: (B, C, T) values.
        mask: (B, C, T) bool, True = observed; None = all observed.
        patch_len: P.
        stride: S (T is right-padded with unobserved steps to a whole number of patches).
        eps: instance-normalisation epsilon.

    Returns:
        :class:`Patches` with (B*C, N, P) values.
    """
    mask = check_series(x, mask)
    b, c, _ = x.shape
    stats = instance_stats(x, mask, eps)
    with torch.autocast(x.device.type, enabled=False):
        xn = torch.where(mask, stats.normalize(x), torch.zeros((), device=x.device))
        windows, observed = unfold_windows(xn, mask, patch_len, stride)
    n = windows.shape[2]
    observed = observed.reshape(b * c, n, patch_len)
    return Patches(
        values=windows.reshape(b * c, n, patch_len),
        observed=observed,
        padding=~observed.any(-1),
        stats=stats,
        n_channels=c,
    )


@TOKENIZERS.register("patch")
class PatchTokenizer(Tokenizer):
    """Instance normalisation + patches + ``Linear(patch_len -> d_model)``.

    Args:
        patch_len: P (default 16, seed paper).
        stride: S (default 16, non-overlapping).
        d_model: D.
        eps: instance-normalisation epsilon.
    """

    def __init__(
        self, patch_len: int = 16, stride: int = 16, d_model: int = 128, eps: float = INSTANCE_EPS
    ) -> None:
        super().__init__(patch_len, stride, d_model)
        self.eps = eps
        self.proj = nn.Linear(patch_len, d_model)
        self.reset_parameters()

    @classmethod
    def from_options(
        cls, *, patch_len: int, stride: int, d_model: int, nme_dim: int
    ) -> PatchTokenizer:
        """Build from the encoder's options (``nme_dim`` is NuTime's and unused here)."""
        return cls(patch_len=patch_len, stride=stride, d_model=d_model)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Weights N(0, 1/P), zero bias: unit-variance patches give unit-scale tokens, the same
        scale as the NuTime tokenizer's LayerNorm output, so positional encodings weigh alike."""
        nn.init.normal_(self.proj.weight, std=self.patch_len**-0.5, generator=generator)
        nn.init.zeros_(self.proj.bias)

    def patchify(self, x: Tensor, mask: Tensor | None = None) -> Patches:
        """The normalised patches this tokenizer embeds (see :func:`patchify`)."""
        return patchify(x, mask, self.patch_len, self.stride, self.eps)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> TokenBatch:
        """(B, C, T) -> :class:`TokenBatch` with (B*C, N, D) tokens and instance stats."""
        p = self.patchify(x, mask)
        return TokenBatch(
            tokens=self.proj(p.values), padding=p.padding, n_channels=p.n_channels, stats=p.stats
        )
