"""What every tokenizer shares: the interface, the token batch, windowing and masked moments.

Conventions (the whole package relies on them):

* A series batch ``x`` is float (B, C, T); ``mask`` is bool (B, C, T) with True = observed. The data
  layer stores 0.0 at unobserved steps, but values there are never read (``torch.where``, not
  multiplication), so even NaN at an unobserved step cannot leak into a token.
* Channel independence: channel ``c`` of sample ``b`` becomes row ``b * C + c`` of every
  (B*C, ...) tensor, each channel tokenized with the same weights and on its own.
* Windows (patches) of ``patch_len`` steps every ``stride`` steps. When ``T`` is not a whole number
  of windows the series is right-padded with unobserved steps (value 0, mask False) up to
  ``(N - 1) * stride + patch_len`` with ``N = 1 + ceil(max(T - patch_len, 0) / stride)``, so no
  observed step is ever dropped.
* ``padding`` (B*C, N) bool: True = padded token, i.e. a window with no observed step. This is the
  ``key_padding_mask`` convention of ``torch.nn.MultiheadAttention`` (True = ignore); the encoder
  converts it to the opposite convention of ``scaled_dot_product_attention``'s boolean
  ``attn_mask`` (True = may attend).
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tsdividend.registry import Registry

if TYPE_CHECKING:
    from tsdividend.tokenizer.patch import InstanceStats, Patches

TOKENIZERS: Registry[type[Tokenizer]] = Registry("tokenizer")


@dataclass
class TokenBatch:
    """Tokens of a (B, C, T) batch, channels folded into the batch.

    Attributes:
        tokens: (B*C, N, D) float token embeddings (row ``b * C + c``).
        padding: (B*C, N) bool, True = padded token (no observed step in its window).
        n_channels: C, to unfold (B*C, ...) back into (B, C, ...).
        stats: per-series instance statistics of the patch tokenizer, for de-normalising forecasts
            (``stats.denormalize``); None for tokenizers that see raw values (NuTime).
    """

    tokens: Tensor
    padding: Tensor
    n_channels: int
    stats: InstanceStats | None = None


def num_windows(length: int, patch_len: int, stride: int) -> int:
    """Number of windows covering ``length`` steps (right-padding the last one).

    Raises:
        ValueError: if ``length`` < 1.
    """
    if length < 1:
        raise ValueError(f"series length must be >= 1, got {length}")
    return 1 + math.ceil(max(length - patch_len, 0) / stride)


def check_series(x: Tensor, mask: Tensor | None) -> Tensor:
    """Validate a (B, C, T) batch and return its mask (all True when ``mask`` is None).

    Raises:
        ValueError: on a wrong rank, a non-float ``x``, or a mask of another shape or dtype.
    """
    if x.ndim != 3:
        raise ValueError(f"x must be (B, C, T), got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"x must be a float tensor, got dtype {x.dtype}")
    if mask is None:
        return torch.ones(x.shape, dtype=torch.bool, device=x.device)
    if mask.shape != x.shape:
        raise ValueError(f"mask shape {tuple(mask.shape)} must equal x shape {tuple(x.shape)}")
    if mask.dtype != torch.bool:
        raise ValueError(f"mask must be bool (True = observed), got dtype {mask.dtype}")
    return mask


def unfold_windows(x: Tensor, mask: Tensor, patch_len: int, stride: int) -> tuple[Tensor, Tensor]:
    """Cut (B, C, T) into windows, right-padding with unobserved zeros.

    Args:
        x: (B, C, T) values.
        mask: (B, C, T) bool, True = observed.
        patch_len: window length P.
        stride: step between window starts S.

    Returns:
        ``(windows (B, C, N, P), observed (B, C, N, P))``; padded steps are 0 and unobserved.
    """
    n = num_windows(x.shape[-1], patch_len, stride)
    pad = (n - 1) * stride + patch_len - x.shape[-1]
    x = torch.where(mask, x, torch.zeros((), dtype=x.dtype, device=x.device))
    if pad > 0:
        x = F.pad(x, (0, pad))
        mask = F.pad(mask, (0, pad), value=False)
    return x.unfold(-1, patch_len, stride), mask.unfold(-1, patch_len, stride)


def masked_moments(
    values: Tensor, observed: Tensor, *, unbiased: bool, dim: int = -1
) -> tuple[Tensor, Tensor, Tensor]:
    """Mean and standard deviation over the observed entries along ``dim`` (kept as size 1).

    Precision: corrected two-pass algorithm (Chan, Golub & LeVeque 1983) on values shifted by a
    first-pass mean, so a series around 1e12 with a spread of 1e5 keeps its spread (the one-pass
    ``E[x^2] - E[x]^2`` would lose it all in float32). Deviations are divided by their largest
    magnitude before squaring, so the result stays finite for float32 inputs up to ~1e37.

    Args:
        values: float tensor; entries where ``observed`` is False are ignored (may be NaN).
        observed: bool tensor of the same shape.
        unbiased: divide by ``n - 1`` (else ``n``). With one observed entry the unbiased std is 0.
        dim: reduction dimension.

    Returns:
        ``(mean, std, count)`` each with ``dim`` of size 1; 0, 0, 0 where nothing is observed.
    """
    zero = torch.zeros((), dtype=values.dtype, device=values.device)
    count = observed.sum(dim, keepdim=True).to(values.dtype)
    n1 = count.clamp_min(1)
    # Divide before summing so that a sum of values near float32's maximum cannot overflow.
    first = (torch.where(observed, values, zero) / n1).sum(dim, keepdim=True)
    dev = torch.where(observed, values - first, zero)
    scale = dev.abs().amax(dim, keepdim=True)
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    dev = dev / scale
    s1 = dev.sum(dim, keepdim=True)
    s2 = (dev * dev).sum(dim, keepdim=True)
    denom = (count - 1).clamp_min(1) if unbiased else n1
    var = ((s2 - s1 * s1 / n1) / denom).clamp_min(0)
    mean = first + s1 * scale / n1
    return mean, var.sqrt() * scale, count


class Tokenizer(nn.Module, abc.ABC):
    """Interface of every tokenizer: (B, C, T) series -> :class:`TokenBatch` of (B*C, N, D) tokens.

    Args:
        patch_len: window length P (>= 1).
        stride: step between windows S, 1 <= S <= P.
        d_model: token width D (>= 1).
    """

    def __init__(self, patch_len: int, stride: int, d_model: int) -> None:
        super().__init__()
        if patch_len < 1:
            raise ValueError(f"patch_len must be >= 1, got {patch_len}")
        if not 1 <= stride <= patch_len:
            raise ValueError(f"stride must be in [1, patch_len={patch_len}], got {stride}")
        if d_model < 1:
            raise ValueError(f"d_model must be >= 1, got {d_model}")
        self.patch_len = patch_len
        self.stride = stride
        self.d_model = d_model

    @classmethod
    @abc.abstractmethod
    def from_options(cls, *, patch_len: int, stride: int, d_model: int, nme_dim: int) -> Tokenizer:
        """Build from the encoder's options; a tokenizer ignores the ones it has no use for."""

    @abc.abstractmethod
    def forward(self, x: Tensor, mask: Tensor | None = None) -> TokenBatch:
        """Tokenize (B, C, T) values with an optional (B, C, T) bool mask (True = observed)."""

    @abc.abstractmethod
    def patchify(self, x: Tensor, mask: Tensor | None = None) -> Patches:
        """Instance-normalised patches aligned one-to-one with the tokens (regression targets)."""

    @abc.abstractmethod
    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """(Re)initialise every parameter, drawing from ``generator`` when given."""

    def num_tokens(self, length: int) -> int:
        """Number of tokens N for a series of ``length`` steps."""
        return num_windows(length, self.patch_len, self.stride)


def build_tokenizer(
    kind: str, *, patch_len: int = 16, stride: int = 16, d_model: int = 128, nme_dim: int = 32
) -> Tokenizer:
    """Build the tokenizer registered as ``kind`` ("patch" or "nutime").

    Raises:
        KeyError: for an unknown ``kind``, listing the valid ones.
    """
    return TOKENIZERS.get(kind).from_options(
        patch_len=patch_len, stride=stride, d_model=d_model, nme_dim=nme_dim
    )
