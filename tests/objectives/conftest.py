"""Tiny encoder and batches shared by the objective tests."""

from __future__ import annotations

import math

import pytest
import torch

from tsdividend.encoder import Encoder, EncoderConfig
from tsdividend.objectives.base import Batch


def tiny_encoder(tokenizer: str = "patch", seed: int = 0) -> Encoder:
    cfg = EncoderConfig(
        tokenizer=tokenizer, d_model=32, depth=2, n_heads=4, dropout=0.0, max_len=64, nme_dim=8
    )
    return Encoder(cfg, generator=torch.Generator().manual_seed(seed))


def sine_batch(b: int = 8, c: int = 1, t: int = 128, seed: int = 0) -> Batch:
    """Noisy sines with random frequency, phase, level and scale; last 10 steps of row 0 missing."""
    g = torch.Generator().manual_seed(seed)
    steps = torch.arange(t, dtype=torch.float32)
    freq = 1.0 / (8 + 24 * torch.rand(b, c, 1, generator=g))
    phase = 2 * math.pi * torch.rand(b, c, 1, generator=g)
    level = torch.randn(b, c, 1, generator=g)
    scale = 0.5 + torch.rand(b, c, 1, generator=g)
    x = level + scale * torch.sin(2 * math.pi * freq * steps + phase)
    x = x + 0.05 * torch.randn(b, c, t, generator=g)
    mask = torch.ones(b, c, t, dtype=torch.bool)
    mask[0, :, -10:] = False
    x = torch.where(mask, x, torch.zeros(()))
    return Batch(
        x=x,
        mask=mask,
        generator=torch.Generator().manual_seed(seed + 1),
        shared_generator=torch.Generator().manual_seed(seed + 2),
    )


@pytest.fixture
def make_batch():
    return sine_batch
