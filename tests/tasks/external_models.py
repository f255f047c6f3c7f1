"""Encoders "from the user's own code" for the external-encoder tests (imported by factory name,
``python:external_models:conv``, with this folder on ``sys.path``)."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn


class ConvEncoder(nn.Module):
    """A small channel-independent conv net: (B, C, T) -> (B, C * width), masked mean over time."""

    def __init__(self, width: int = 8, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(1, width, 5, padding=2)
        self.conv2 = nn.Conv1d(width, width, 5, padding=4, dilation=2)
        self.drop = nn.Dropout(0.1)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=generator) * 0.3)

    def embed(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        b, c, t = x.shape
        m = torch.ones_like(x, dtype=torch.bool) if mask is None else mask
        v = torch.where(m, x, 0.0).reshape(b * c, 1, t)
        mean = v.sum(-1, keepdim=True) / m.reshape(b * c, 1, t).sum(-1, keepdim=True).clamp(min=1)
        h = torch.relu(self.conv1(v - mean))
        h = self.drop(torch.relu(self.conv2(h)))
        w = m.reshape(b * c, 1, t).float()
        z = (h * w).sum(-1) / w.sum(-1).clamp(min=1)
        return z.reshape(b, -1)


def conv(seed: int = 0, pretrained: bool = True) -> ConvEncoder:
    """ "Pretrained" = fixed weights (seed 1234), else a random init drawn from ``seed``."""
    return ConvEncoder(generator=torch.Generator().manual_seed(1234 if pretrained else seed))


def conv_fixed() -> ConvEncoder:
    """No seed, no ``pretrained`` parameter: no baselines of its own."""
    return ConvEncoder(generator=torch.Generator().manual_seed(7))


class Moments:
    """A NumPy feature extractor: per channel mean, std and mean absolute difference."""

    max_length = None

    def embed(self, X: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        x = np.where(mask, X, np.nan) if mask is not None else X
        diff = np.nanmean(np.abs(np.diff(x, axis=-1)), axis=-1)
        return np.nan_to_num(np.concatenate([np.nanmean(x, -1), np.nanstd(x, -1), diff], axis=1))


def moments() -> Moments:
    return Moments()


def not_an_encoder() -> object:
    return object()


class Recorder(Moments):
    """Moments that records what ``fit`` saw (the probes fit on the train split only)."""

    fitted: list[int] = []

    def fit(self, X: np.ndarray, mask: np.ndarray | None = None) -> Recorder:
        Recorder.fitted.append(len(X))
        return self


def recorder() -> Recorder:
    return Recorder()
