"""NuTime tokenizer: window shape + numerically multi-scaled embeddings of window mean and std.

Lin et al. 2024, "NuTime: Numerically Multi-Scaled Embedding for Large-Scale Time-Series
Pretraining" (TMLR). Raw values in, no instance normalisation: each window of 16 steps gives

* its shape ``(x - mean) / (std + 1e-8)`` -> ``Linear(16 -> D)`` -> ``LayerNorm``;
* its mean and unbiased std (detached), each embedded by one shared :class:`NME`;
* ``concat[shape (D), NME(mean), NME(std)]`` -> ``Linear`` -> ``LayerNorm`` -> the D-dim token.

Mask awareness (our extension; the reference code resizes and has no mask): window statistics use
the observed steps only, unobserved steps have shape 0, a window with one observed step has std 0,
and a window with none is a padded token.

Precision: the whole tokenizer runs in float32 with autocast disabled, because values up to 1e12
(and squares up to 1e24) do not survive fp16's range or bf16's 8-bit mantissa; window moments use
the shifted, corrected two-pass algorithm of :func:`~tsdividend.tokenizer.base.masked_moments`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tsdividend.tokenizer.base import (
    TOKENIZERS,
    TokenBatch,
    Tokenizer,
    check_series,
    masked_moments,
    unfold_windows,
)
from tsdividend.tokenizer.patch import Patches, patchify

SHAPE_EPS = 1e-8  # NuTime adds it to the std, not inside a square root
ALPHA_EPS = 1e-6  # NuTime's epsilons in the ensemble weights
LN_EPS = 1e-5  # LayerNorm epsilon of each NME block, relative to the block's scale (see NME)
# Beyond |x| / k_i = 1e6 block i is saturated; there its input is divided by |x| / (k_i * 1e6),
# which leaves LayerNorm's output unchanged (the variance still dwarfs eps) while keeping it finite
# for every finite float32 x.
_SATURATION = 1e6


class NME(nn.Module):
    """Numerically multi-scaled embedding of scalars (NuTime section 3.2).

    Scales ``k_i = base**i`` for ``i = -(n-1)//2 .. (n-1)//2`` (n = 9, base 10: 1e-4 .. 1e4, the
    released checkpoint). Block i is ``y_i = LayerNorm_noaffine(x * w_i + k_i * b_i)`` with
    trainable ``w, b`` of shape (n, dim) initialised U(-1, 1); the output is
    ``sum_i alpha_i(x) y_i`` with ``alpha_i`` proportional to
    ``1 / (|ln(|x| / k_i + 1e-6)| + 1e-6)`` and summing to 1: one-hot when |x| equals a scale,
    uniform when x = 0. Always computed in float32.

    Deviation from the reference code (deliberate): LayerNorm's epsilon is relative to the block's
    scale, i.e. block i computes ``LayerNorm((x / k_i) * w_i + b_i)`` with eps 1e-5, which is
    ``LayerNorm(x * w_i + k_i * b_i)`` with eps ``1e-5 * k_i**2``. With the reference's absolute
    eps 1e-5 the variance of a block with ``k_i <= 1e-3`` near its own scale (~``k_i**2 / 3``)
    falls below eps, so those blocks output near-zero vectors (norm 0.12 instead of sqrt(dim) at
    |x| = 1e-4 for k = 1e-4): small magnitudes would get no usable embedding. For |x| >= 1 both
    forms agree to ~1e-5.

    Args:
        dim: embedding width (NuTime: 32).
        n_scales: number of scales n (NuTime: 9).
        base: scale base (NuTime: 10).
    """

    def __init__(self, dim: int = 32, n_scales: int = 9, base: float = 10.0) -> None:
        super().__init__()
        if dim < 1 or n_scales < 1:
            raise ValueError(f"NME dim and n_scales must be >= 1, got {dim}, {n_scales}")
        exponents = range(-(n_scales - 1) // 2, (n_scales + 1) // 2)
        scales = torch.tensor([base**i for i in exponents], dtype=torch.float32)
        self.scales: Tensor
        self.register_buffer("scales", scales, persistent=False)
        self.dim = dim
        self.w = nn.Parameter(torch.empty(n_scales, dim))
        self.b = nn.Parameter(torch.empty(n_scales, dim))
        self.reset_parameters()

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """U(-1, 1) for ``w`` and ``b``, as in the reference code."""
        nn.init.uniform_(self.w, -1.0, 1.0, generator=generator)
        nn.init.uniform_(self.b, -1.0, 1.0, generator=generator)

    def weights(self, x: Tensor) -> Tensor:
        """Ensemble weights: (...) scalars -> (..., n) float32 weights summing to 1."""
        ratio = x.float().abs().unsqueeze(-1) / self.scales
        alpha = 1.0 / ((ratio + ALPHA_EPS).log().abs() + ALPHA_EPS)
        return alpha / alpha.sum(-1, keepdim=True)

    def forward(self, x: Tensor) -> Tensor:
        """(...) scalars -> (..., dim) float32 embeddings."""
        with torch.autocast(x.device.type, enabled=False):
            x = x.float()
            u = x.unsqueeze(-1) / self.scales  # (..., n); may be inf for huge |x| and small k_i
            shrink = (u.abs() / _SATURATION).clamp_min(1.0)  # 1 unless block i is saturated
            z = u.clamp(-_SATURATION, _SATURATION)[..., None] * self.w + self.b / shrink[..., None]
            y = F.layer_norm(z, (self.dim,), eps=LN_EPS)  # (..., n, dim), no affine parameters
            return (self.weights(x).unsqueeze(-1) * y).sum(-2)


@dataclass
class WindowStats:
    """Per-window statistics of a (B, C, T) batch, channels folded: all (B*C, N, ...).

    Attributes:
        windows: (B*C, N, P) raw values, 0 at unobserved or padded steps.
        observed: (B*C, N, P) bool.
        mean: (B*C, N) float32 mean of the observed steps (0 when none).
        std: (B*C, N) float32 unbiased std of the observed steps (0 when fewer than two).
        count: (B*C, N) float32 number of observed steps.
    """

    windows: Tensor
    observed: Tensor
    mean: Tensor
    std: Tensor
    count: Tensor


def window_stats(x: Tensor, mask: Tensor | None, patch_len: int, stride: int) -> WindowStats:
    """Cut (B, C, T) into windows and compute their masked mean and unbiased std in float32."""
    mask = check_series(x, mask)
    b, c, _ = x.shape
    with torch.autocast(x.device.type, enabled=False):
        windows, observed = unfold_windows(x.float(), mask, patch_len, stride)
        n = windows.shape[2]
        windows = windows.reshape(b * c, n, patch_len)
        observed = observed.reshape(b * c, n, patch_len)
        mean, std, count = masked_moments(windows, observed, unbiased=True)
    return WindowStats(windows, observed, mean[..., 0], std[..., 0], count[..., 0])


@TOKENIZERS.register("nutime")
class NuTimeTokenizer(Tokenizer):
    """NuTime window tokens (shape + NME(mean) + NME(std)), fused to d_model.

    Args:
        patch_len: window length (NuTime: 16).
        stride: window step (NuTime: 16).
        d_model: D (NuTime: 128).
        nme_dim: NME width (NuTime: 32).
        n_scales: NME scales (NuTime: 9, i.e. 1e-4 .. 1e4).
    """

    def __init__(
        self,
        patch_len: int = 16,
        stride: int = 16,
        d_model: int = 128,
        nme_dim: int = 32,
        n_scales: int = 9,
    ) -> None:
        super().__init__(patch_len, stride, d_model)
        self.shape_proj = nn.Linear(patch_len, d_model)
        self.shape_norm = nn.LayerNorm(d_model)
        self.nme = NME(nme_dim, n_scales)
        self.fuse = nn.Linear(d_model + 2 * nme_dim, d_model)
        self.norm = nn.LayerNorm(d_model)
        self.reset_parameters()

    @classmethod
    def from_options(
        cls, *, patch_len: int, stride: int, d_model: int, nme_dim: int
    ) -> NuTimeTokenizer:
        """Build from the encoder's options."""
        return cls(patch_len=patch_len, stride=stride, d_model=d_model, nme_dim=nme_dim)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Linear: trunc normal(0.02), zero bias (a LayerNorm follows each, so their scale is
        immaterial); LayerNorm: ones/zeros; NME: U(-1, 1)."""
        for lin in (self.shape_proj, self.fuse):
            nn.init.trunc_normal_(lin.weight, std=0.02, a=-0.04, b=0.04, generator=generator)
            nn.init.zeros_(lin.bias)
        for norm in (self.shape_norm, self.norm):
            norm.reset_parameters()
        self.nme.reset_parameters(generator)

    def patchify(self, x: Tensor, mask: Tensor | None = None) -> Patches:
        """Instance-normalised patches aligned with these tokens (targets; the tokens themselves
        see raw values)."""
        return patchify(x, mask, self.patch_len, self.stride)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> TokenBatch:
        """(B, C, T) raw values -> :class:`TokenBatch` of (B*C, N, D) float32 tokens."""
        ws = window_stats(x, mask, self.patch_len, self.stride)
        with torch.autocast(x.device.type, enabled=False):
            mean, std = ws.mean.detach(), ws.std.detach()
            zero = torch.zeros((), device=x.device)
            shape = torch.where(
                ws.observed, (ws.windows - mean[..., None]) / (std[..., None] + SHAPE_EPS), zero
            )
            parts = [self.shape_norm(self.shape_proj(shape)), self.nme(mean), self.nme(std)]
            tokens = self.norm(self.fuse(torch.cat(parts, dim=-1)))
        return TokenBatch(tokens=tokens, padding=ws.count == 0, n_channels=x.shape[1], stats=None)
