"""End-to-end forecasting fine-tune: encoder + linear head per horizon, early-stopped.

``regime="finetune"`` of :mod:`tsdividend.tasks.forecasting` (its module docstring and
docs/protocols.md describe the protocol); :class:`ForecastModel` is importable from there as before.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor, nn

from tsdividend.encoder import Encoder
from tsdividend.tasks.base import EncoderUnderTest
from tsdividend.tasks.forecasting_windows import (
    _train_starts,
    check_lookback,
    gather,
    window_starts,
)
from tsdividend.tokenizer import instance_stats

if TYPE_CHECKING:
    from tsdividend.tasks.forecasting import ForecastingConfig


class ForecastModel(nn.Module):
    """Encoder + linear head: (B, C, L) -> (B, C, H) forecasts on the input's (standardised) scale.

    The head sees the flattened (N*D) tokens of each channel and predicts in the window's
    instance-normalised space; the output is de-normalised with the window's stats.
    """

    def __init__(self, encoder: Encoder, lookback: int, horizon: int) -> None:
        super().__init__()
        check_lookback(encoder, lookback)
        self.encoder = encoder
        self.head = nn.Linear(encoder.num_tokens(lookback) * encoder.config.d_model, horizon)
        nn.init.zeros_(self.head.weight)  # start at the window mean; no RNG draw needed
        nn.init.zeros_(self.head.bias)

    def forward(self, x: Tensor) -> Tensor:
        b, c, _ = x.shape
        stats = instance_stats(x)
        z = self.encoder.tokens(x).flatten(1)  # (B*C, N*D)
        return stats.denormalize(self.head(z).reshape(b, c, -1))


def _forecast(
    model: ForecastModel, series: np.ndarray, starts: np.ndarray, lookback: int, batch_size: int
) -> np.ndarray:
    device = next(model.parameters()).device
    model.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, starts.size, batch_size):
            x = torch.from_numpy(gather(series, starts[i : i + batch_size], lookback)).to(device)
            out.append(model(x).float().cpu().numpy())
    return np.concatenate(out)


def _finetune_one(
    eut: EncoderUnderTest,
    series: np.ndarray,
    spans: dict,
    lookback: int,
    h: int,
    cfg: ForecastingConfig,
    seed: int,
    device: torch.device,
) -> tuple:
    model = ForecastModel(eut.encoder(seed), lookback, h).to(device)
    opt = torch.optim.AdamW(
        [
            {"params": model.encoder.parameters(), "lr": cfg.lr_encoder},
            {"params": model.head.parameters(), "lr": cfg.lr_head},
        ],
        weight_decay=cfg.weight_decay,
    )
    pool = _train_starts(spans["train"], lookback, h, cfg, seed)
    va = window_starts(spans["val"], lookback, h, cfg.val_stride)
    y_va = gather(series, va + lookback, h)
    rng = np.random.default_rng([seed, h, 7])
    best, best_epoch, best_state, bad = float("inf"), -1, None, 0
    for epoch in range(cfg.epochs):
        model.train()
        draw = rng.choice(pool, min(cfg.windows_per_epoch, pool.size), replace=False)
        for i in range(0, draw.size, cfg.batch_size):
            s = draw[i : i + cfg.batch_size]
            x = torch.from_numpy(gather(series, s, lookback)).to(device)
            y = torch.from_numpy(gather(series, s + lookback, h)).to(device)
            loss = nn.functional.mse_loss(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
        val_mse = float(
            np.mean((_forecast(model, series, va, lookback, cfg.batch_size) - y_va) ** 2)
        )
        if not np.isfinite(val_mse):
            raise FloatingPointError(f"validation MSE {val_mse} at epoch {epoch} (horizon {h})")
        if val_mse < best:
            best, best_epoch, best_state, bad = val_mse, epoch, copy.deepcopy(model.state_dict()), 0
        else:
            bad += 1
            if bad >= cfg.patience:
                break
    model.load_state_dict(best_state)
    # Selection done: the test windows of this horizon are read now, once.
    te = window_starts(spans["test"], lookback, h)
    pred = _forecast(model, series, te, lookback, cfg.batch_size)
    extra = {
        "best_epoch": best_epoch,
        "val_mse": best,
        "n_train": int(pool.size),
        "n_val": int(va.size),
    }
    return h, gather(series, te + lookback, h), pred, extra
