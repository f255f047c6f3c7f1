"""End-to-end forecasting fine-tune: LP-FT of encoder + linear head per horizon on a step budget.

``regime="finetune"`` of :mod:`tsdividend.tasks.forecasting` (its package docstring and
docs/protocols.md describe the protocol). LP-FT (Kumar et al. 2022): the head starts at the
probe's ridge solution on the frozen encoder, then encoder + head train through
:func:`tsdividend.tasks.finetune.train_by_steps` (warm-up + cosine, early stopping on the
time-ordered validation span's MSE, best state restored).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from tsdividend.encoder.adapter import TokenEncoder, module_device
from tsdividend.tasks.base import Builds
from tsdividend.tasks.finetune import Run, StepBudget, adamw, train_by_steps
from tsdividend.tasks.forecasting.config import ForecastingConfig
from tsdividend.tasks.forecasting.ridge import encode_windows, fit_ridge, ridge_moments
from tsdividend.tasks.forecasting.windows import (
    check_lookback,
    gather,
    train_starts,
    window_starts,
)
from tsdividend.tokenizer import instance_stats


class ForecastModel(nn.Module):
    """Encoder + linear head: (B, C, L) -> (B, C, H) forecasts on the input's (standardised) scale.

    The head sees the flattened (N*D) tokens of each channel and predicts in the window's
    instance-normalised space; the output is de-normalised with the window's stats.
    """

    def __init__(self, encoder: TokenEncoder, lookback: int, horizon: int) -> None:
        super().__init__()
        check_lookback(encoder, lookback)
        self.encoder = encoder
        self.head = nn.Linear(encoder.num_tokens(lookback) * encoder.token_dim, horizon)
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
    device = module_device(model)
    model.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, starts.size, batch_size):
            x = torch.from_numpy(gather(series, starts[i : i + batch_size], lookback)).to(device)
            out.append(model(x).float().cpu().numpy())
    return np.concatenate(out)


def _lp_head(
    model: ForecastModel, series: np.ndarray, starts: tuple[np.ndarray, np.ndarray], lookback: int,
    h: int, cfg: ForecastingConfig,
) -> float:  # fmt: skip
    """LP of LP-FT: the probe's ridge head (penalty chosen on validation) on the frozen encoder,
    copied into ``model.head`` (same parameterisation). Returns the chosen alpha."""
    tr, va = starts
    tr_cache = encode_windows(model.encoder, series, tr, lookback, cfg.batch_size)
    va_cache = encode_windows(model.encoder, series, va, lookback, cfg.batch_size)
    w, b, alpha, _ = fit_ridge(ridge_moments(tr_cache, 0, tr.size), tr_cache,
                               gather(series, tr + lookback, h), cfg.ridge_alphas,
                               (va_cache, gather(series, va + lookback, h)))  # fmt: skip
    with torch.no_grad():
        model.head.weight.copy_(torch.from_numpy(w.T))
        model.head.bias.copy_(torch.from_numpy(b))
    return alpha


def finetune_one(
    eut: Builds,
    series: np.ndarray,
    spans: dict,
    lookback: int,
    h: int,
    cfg: ForecastingConfig,
    seed: int,
    device: torch.device,
) -> tuple:
    """LP-FT of encoder + head for horizon ``h`` on the step budget; validation = the time-ordered
    validation span (every ``val_stride``-th window); test read after the choice."""
    model = ForecastModel(eut.build(seed), lookback, h).to(device)
    pool = train_starts(spans["train"], lookback, h, cfg, seed)
    va = window_starts(spans["val"], lookback, h, cfg.val_stride)
    y_va = gather(series, va + lookback, h)
    alpha = _lp_head(model, series, (pool, va), lookback, h, cfg) if cfg.lp else None
    opt = adamw(
        [
            {"params": model.encoder.parameters(), "lr": cfg.lr_encoder},
            {"params": model.head.parameters(), "lr": cfg.lr_head},
        ],
        weight_decay=cfg.weight_decay,
    )
    rng = np.random.default_rng([seed, h, 7])
    order: list[np.ndarray] = []

    def loss_fn() -> Tensor:
        if not order:  # a fresh permutation of the pool once the last one is used up
            perm = rng.permutation(pool)
            bs = min(cfg.batch_size, pool.size)
            order.extend(perm[i : i + bs] for i in range(0, pool.size - bs + 1, bs))
            order.reverse()
        s = order.pop()
        x = torch.from_numpy(gather(series, s, lookback)).to(device)
        y = torch.from_numpy(gather(series, s + lookback, h)).to(device)
        return nn.functional.mse_loss(model(x), y)

    def val_fn() -> float:
        return float(np.mean((_forecast(model, series, va, lookback, cfg.batch_size) - y_va) ** 2))

    budget = StepBudget(cfg.steps, cfg.warmup, cfg.eval_every, cfg.patience, cfg.grad_clip)
    out = train_by_steps([Run(model, opt, loss_fn, val_fn)], budget, higher_is_better=False)
    # Selection done: the test windows of this horizon are read now, once.
    te = window_starts(spans["test"], lookback, h)
    pred = _forecast(model, series, te, lookback, cfg.batch_size)
    extra = {
        **out.summary(),
        "val_mse": out.best_score,
        "lp": cfg.lp,
        "lp_alpha": alpha,
        "n_train": int(pool.size),
        "n_val": int(va.size),
    }
    return h, gather(series, te + lookback, h), pred, extra
