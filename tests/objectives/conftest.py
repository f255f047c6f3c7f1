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


def fit(obj, base: Batch, steps: int, lr: float, params=None) -> list[float]:
    """Train ``obj`` for ``steps`` AdamW steps on the fixed series of ``base``, with a fresh
    per-step generator (new masks / views / noise each step); returns the loss per step."""
    params = [p for p in obj.parameters() if p.requires_grad] if params is None else params
    opt = torch.optim.AdamW(params, lr=lr)
    losses = []
    for step in range(steps):
        batch = Batch(
            base.x,
            base.mask,
            torch.Generator().manual_seed(100 + step),
            base.shared_generator,
            step=step,
            total_steps=steps,
        )
        loss = obj(batch).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        obj.on_after_step(step + 1, steps)
        losses.append(float(loss.detach()))
    return losses


def mean_first_last(losses: list[float], k: int) -> tuple[float, float]:
    return sum(losses[:k]) / k, sum(losses[-k:]) / k


@torch.no_grad()
def paired_loss_ratio(trained, initial, base: Batch, draws: int = 4) -> float:
    """Mean loss of ``trained`` over that of ``initial`` (a deep copy taken before training) on
    the same ``draws`` held-out batches of ``base``'s series: masks, views and noise come from
    generators that training never used, identical for both models; eval mode, no gradients.

    The ratio is exactly 1.0 when training changed nothing (lr = 0, a detached loss ...), with no
    sampling noise (the draws are paired), so a threshold well below 1 fails broken training and
    leaves room for the drift of another BLAS in the trained value."""
    totals = []
    for obj in (trained, initial):
        obj.eval()
        losses = []
        for i in range(draws):
            g = torch.Generator().manual_seed(10_000 + i)
            shared = torch.Generator().manual_seed(20_000 + i)
            losses.append(float(obj(Batch(base.x, base.mask, g, shared)).loss))
        totals.append(sum(losses))
    return totals[0] / totals[1]
