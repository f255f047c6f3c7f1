"""The forecasting probe's head: weighted ridge on cached frozen tokens, penalty set on validation.

See :mod:`tsdividend.tasks.forecasting`. The frozen encoder runs once over every window
(:func:`encode_windows`); the ridge solution comes from weighted, centred moments
(:func:`ridge_moments`, :func:`fit_ridge`), so the heads of every horizon share one pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from tsdividend.encoder.adapter import TokenEncoder, module_device
from tsdividend.tasks.forecasting.windows import gather
from tsdividend.tokenizer import instance_stats

__all__ = ["Moments", "TokenCache", "encode_windows", "fit_ridge", "predict", "ridge_moments"]


@dataclass
class TokenCache:
    """Frozen-encoder features of windows: tokens (n, C, N*D) float16, stats (n, C) float32."""

    tokens: np.ndarray
    mean: np.ndarray
    std: np.ndarray


def encode_windows(
    encoder: TokenEncoder, series: np.ndarray, starts: np.ndarray, lookback: int, batch_size: int
) -> TokenCache:
    """Run the frozen encoder once over every window (inference mode, batches)."""
    device = module_device(encoder)
    n, c = starts.size, series.shape[0]
    f = encoder.num_tokens(lookback) * encoder.token_dim
    cache = TokenCache(
        np.empty((n, c, f), np.float16), np.empty((n, c), np.float32), np.empty((n, c), np.float32)
    )
    encoder.eval()
    with torch.inference_mode():
        for i in range(0, n, batch_size):
            x = torch.from_numpy(gather(series, starts[i : i + batch_size], lookback)).to(device)
            stats = instance_stats(x)
            tokens = encoder.tokens(x).reshape(len(x), c, f)
            cache.tokens[i : i + len(x)] = tokens.half().cpu().numpy()
            cache.mean[i : i + len(x)] = stats.mean[..., 0].cpu().numpy()
            cache.std[i : i + len(x)] = stats.std[..., 0].cpu().numpy()
    return cache


_CHUNK = 256  # windows per chunk of the ridge algebra (bounds float32/float64 temporaries)
Moments = tuple[float, Tensor, Tensor]


def _rows(cache: TokenCache, i: int, j: int) -> tuple[Tensor, Tensor, Tensor]:
    """Windows [i, j) as (rows, F) float64 features and (rows, 1) float64 mean and std."""
    f = cache.tokens.shape[-1]
    z = torch.from_numpy(cache.tokens[i:j]).reshape(-1, f).double()
    mean = torch.from_numpy(cache.mean[i:j]).reshape(-1, 1).double()
    return z, mean, torch.from_numpy(cache.std[i:j]).reshape(-1, 1).double()


def ridge_moments(cache: TokenCache, lo: int, hi: int) -> Moments:
    """(sum w, sum w z (F,), sum w z z^T (F, F)) with w = std^2 over windows lo .. hi - 1."""
    f = cache.tokens.shape[-1]
    sw, sz, gram = 0.0, torch.zeros(f, dtype=torch.float64), torch.zeros(f, f, dtype=torch.float64)
    for i in range(lo, hi, _CHUNK):
        z, _, std = _rows(cache, i, min(i + _CHUNK, hi))
        wz = std**2 * z
        sw, sz, gram = sw + float((std**2).sum()), sz + wz.sum(0), gram + wz.T @ z
    return sw, sz, gram


def predict(cache: TokenCache, n: int, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Ridge-head forecasts of the first n windows: (n, C, H) float32 on the standardised scale."""
    c, h = cache.tokens.shape[1], weight.shape[1]
    out = np.empty((n, c, h), np.float32)
    w32, b32 = torch.from_numpy(weight).float(), torch.from_numpy(bias).float()
    for i in range(0, n, _CHUNK):
        j = min(i + _CHUNK, n)
        z, mean, std = _rows(cache, i, j)
        yn = z.float() @ w32 + b32  # the head works in the window-normalised space
        out[i:j] = (yn * std.float() + mean.float()).reshape(j - i, c, h).numpy()
    return out


def fit_ridge(
    moments: Moments,
    cache: TokenCache,
    targets: np.ndarray,
    alphas: tuple[float, ...],
    val: tuple[TokenCache, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Ridge on the standardised-scale MSE, unpenalised intercept, alpha chosen by validation MSE.

    With forecast ``std * (z W + b) + mean`` the loss is least squares on normalised targets
    ``yn = (y - mean) / std`` weighted by ``w = std^2``: solved exactly from weighted, centred
    moments by one Cholesky factorisation per alpha.

    Args:
        moments: :func:`ridge_moments` of the first ``len(targets)`` train windows.
        cache: train features; targets: (n, C, H) train targets (standardised scale).
        alphas: relative penalties; lambda = alpha * trace(centred Gram) / F.
        val: (validation features, (n_val, C, H) validation targets).

    Returns:
        (weight (F, H) float64, bias (H,) float64, chosen alpha, its validation MSE).
    """
    sw, sz, gram = moments
    cross = torch.zeros(gram.shape[0], targets.shape[-1], dtype=torch.float64)
    sy = torch.zeros(targets.shape[-1], dtype=torch.float64)  # + 0.0: exact, as a 0.0 start
    for i in range(0, len(targets), _CHUNK):
        j = min(i + _CHUNK, len(targets))
        z, mean, std = _rows(cache, i, j)
        wyn = std * (torch.from_numpy(targets[i:j]).reshape(-1, targets.shape[-1]) - mean)
        cross, sy = cross + z.T @ wyn, sy + wyn.sum(0)
    zbar, ybar = sz / sw, sy / sw
    gram_c = gram - sw * torch.outer(zbar, zbar)
    cross_c = cross - sw * torch.outer(zbar, ybar)
    eye = torch.eye(gram.shape[0], dtype=torch.float64) * max(
        float(gram_c.trace()) / len(gram), 1e-12
    )
    best: tuple[np.ndarray, np.ndarray, float, float] | None = None
    val_cache, val_y = val
    for alpha in alphas:
        weight = torch.cholesky_solve(cross_c, torch.linalg.cholesky(gram_c + alpha * eye))
        w, b = weight.numpy(), (ybar - zbar @ weight).numpy()
        err = float(np.mean((predict(val_cache, len(val_y), w, b) - val_y) ** 2))
        if best is None or err < best[3]:
            best = (w, b, alpha, err)
    assert best is not None
    return best
