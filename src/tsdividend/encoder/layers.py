"""Transformer building blocks: pre-LN block, SDPA self-attention, GELU MLP, masks, sin-cos table.

Dropout placement (one rate, ``dropout``): on the attention probabilities (``dropout_p`` of
``scaled_dot_product_attention``) and on the output of each residual branch (after the attention
output projection and after the MLP's second linear), as in NuTime's WinT (0.1 on both).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def sincos_table(length: int, dim: int) -> Tensor:
    """Sinusoidal positional encodings (Vaswani et al. 2017), (length, dim) float32.

    ``PE[p, 2i] = sin(p / 10000^(2i/dim))`` and ``PE[p, 2i+1] = cos(p / 10000^(2i/dim))``; an odd
    ``dim`` drops the last cosine column.
    """
    pos = torch.arange(length, dtype=torch.float64)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float64) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim + dim % 2, dtype=torch.float64)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq)
    return table[:, :dim].float()


def attention_mask(
    key_padding_mask: Tensor | None, causal: bool, length: int
) -> tuple[Tensor | None, bool]:
    """Combine causal and key-padding masks into SDPA's arguments.

    Args:
        key_padding_mask: (B', L) bool, True = padded key to ignore; None = no padding.
        causal: query i may only attend to keys j <= i (order of the given tokens).
        length: sequence length L.

    Returns:
        ``(attn_mask, is_causal)`` for ``scaled_dot_product_attention``: either ``(None, causal)``
        (no padding: lets SDPA pick its fused causal kernels), or a (B', 1, L, L) bool mask with
        SDPA's convention True = may attend, and ``False``. Every query always sees itself, so a
        row whose other keys are all masked (a fully padded series) stays finite; rows of observed
        queries are unchanged by this, since they never see padded keys anyway.
    """
    if key_padding_mask is None:
        return None, causal
    device = key_padding_mask.device
    eye = torch.eye(length, dtype=torch.bool, device=device)
    allowed = ~key_padding_mask[:, None, None, :] | eye  # (B', 1, L, L)
    if causal:
        allowed = allowed & torch.ones(length, length, dtype=torch.bool, device=device).tril()
    return allowed, False


class SelfAttention(nn.Module):
    """Multi-head self-attention through ``torch.nn.functional.scaled_dot_product_attention``.

    Args:
        d_model: width D.
        n_heads: heads H (D % H == 0).
        dropout: attention-probability and output dropout.
    """

    def __init__(self, d_model: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.attn_dropout = dropout
        self.out_dropout = nn.Dropout(dropout)

    def forward(
        self, x: Tensor, attn_mask: Tensor | None = None, is_causal: bool = False
    ) -> Tensor:
        """(B', L, D) -> (B', L, D); masks as returned by :func:`attention_mask`."""
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.n_heads, d // self.n_heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=attn_mask,
            dropout_p=self.attn_dropout if self.training else 0.0,
            is_causal=is_causal,
        )
        return self.out_dropout(self.proj(y.transpose(1, 2).reshape(b, n, d)))


class MLP(nn.Module):
    """``Linear(D -> hidden) -> GELU -> Linear(hidden -> D) -> Dropout``."""

    def __init__(self, d_model: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.fc1 = nn.Linear(d_model, hidden)
        self.fc2 = nn.Linear(hidden, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        """(..., D) -> (..., D)."""
        return self.dropout(self.fc2(F.gelu(self.fc1(x))))


class Block(nn.Module):
    """Pre-LN transformer block: ``x + Attn(LN(x))`` then ``x + MLP(LN(x))``."""

    def __init__(self, d_model: int, n_heads: int, mlp_hidden: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model)
        self.attn = SelfAttention(d_model, n_heads, dropout)
        self.norm2 = nn.LayerNorm(d_model)
        self.mlp = MLP(d_model, mlp_hidden, dropout)

    def forward(
        self, x: Tensor, attn_mask: Tensor | None = None, is_causal: bool = False
    ) -> Tensor:
        """(B', L, D) -> (B', L, D)."""
        x = x + self.attn(self.norm1(x), attn_mask, is_causal)
        return x + self.mlp(self.norm2(x))

    def reset_parameters(self, depth: int, generator: torch.Generator | None = None) -> None:
        """GPT-2 / nanoGPT init: Linear weights trunc normal(0.02), the two residual output
        projections scaled by ``1/sqrt(2 * depth)`` so the residual stream's variance does not grow
        with depth; zero biases; LayerNorm ones/zeros."""
        resid_std = 0.02 / math.sqrt(2 * depth)
        for lin, std in (
            (self.attn.qkv, 0.02),
            (self.attn.proj, resid_std),
            (self.mlp.fc1, 0.02),
            (self.mlp.fc2, resid_std),
        ):
            nn.init.trunc_normal_(lin.weight, std=std, a=-2 * std, b=2 * std, generator=generator)
            nn.init.zeros_(lin.bias)
        self.norm1.reset_parameters()
        self.norm2.reset_parameters()
