"""Long-horizon forecasting: a linear head on THE encoder's flattened tokens, probed or fine-tuned.

After PatchTST (Nie et al. 2023) and the seed paper (Razmadze et al. 2026, section 5.1); the full
protocol, its defaults and their sources are in docs/protocols.md, "Forecasting". In short:
windows whose target lies in a split (validation/test windows start L rows before their border;
every test window is used), channel-independent (each channel one univariate series through the
encoder, one head per horizon shared by the channels), RevIN-style: the head predicts in the
window's instance-normalised space and is de-normalised with the window's mean/std for every
tokenizer, so losses and metrics are on the standardised scale. Probe = closed-form weighted
ridge on cached tokens with the penalty chosen on validation; fine-tune = LP-FT: the ridge head
on the frozen encoder first, then encoder + head end to end on a step budget (warm-up + cosine),
the step chosen on the time-ordered validation span. Test windows are read after every choice
is made.

Code layout: this module holds the settings, the ridge probe and :func:`evaluate_forecasting`;
:mod:`tsdividend.tasks.forecasting_windows` the windows (:func:`window_starts`, :func:`gather`,
:func:`check_lookback`); :mod:`tsdividend.tasks.forecasting_finetune` the end-to-end fine-tune
(:class:`ForecastModel`). Every public name stays importable from here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from tsdividend.config import ConfigError, check_int, config_hash, to_dict
from tsdividend.data import Dataset
from tsdividend.device import pick_device
from tsdividend.encoder import Encoder
from tsdividend.metrics import METRICS
from tsdividend.results.row import ResultRow
from tsdividend.tasks.base import EncoderUnderTest
from tsdividend.tasks.finetune import StepBudget
from tsdividend.tasks.forecasting_finetune import ForecastModel, _finetune_one
from tsdividend.tasks.forecasting_windows import (
    _train_starts,
    check_lookback,
    gather,
    window_starts,
)
from tsdividend.tokenizer import instance_stats

__all__ = [
    "FORECAST_REGIMES",
    "STANDARD",
    "ForecastingConfig",
    "ForecastModel",
    "Moments",
    "TokenCache",
    "check_lookback",
    "encode_windows",
    "evaluate_forecasting",
    "fit_ridge",
    "gather",
    "predict",
    "ridge_moments",
    "window_starts",
]

# name -> (look-back, horizons): PatchTST's long-horizon settings (ILI: look-back 104).
STANDARD: dict[str, tuple[int, tuple[int, ...]]] = {
    "forecast/ETTh1": (336, (96, 192, 336, 720)),
    "forecast/ETTh2": (336, (96, 192, 336, 720)),
    "forecast/Exchange": (336, (96, 192, 336, 720)),
    "forecast/ILI": (104, (24, 36, 48, 60)),
}
FORECAST_REGIMES = ("probe", "finetune")


def _check_number(name: str, value: object, allow_zero: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if not (value >= 0 if allow_zero else value > 0):
        raise ConfigError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value}")


@dataclass(frozen=True)
class ForecastingConfig:
    """Forecasting protocol settings (defaults: CPU-friendly, see docs/protocols.md).

    Attributes:
        regime: "probe" (frozen encoder, ridge head) or "finetune" (end to end).
        lookback: L; None = the dataset's standard (:data:`STANDARD`).
        horizons: H values; None = the dataset's standard.
        train_stride: step between train window starts (1 = every window).
        val_stride: step between validation window starts (test always uses every window).
        max_train_windows: seeded subsample of the (strided) train windows; None = all.
        batch_size: windows per forward pass (each carries C series).
        ridge_alphas: probe penalties, relative to the mean eigenvalue of the Gram matrix.
        steps, warmup, eval_every, patience: the fine-tune's step budget (AdamW updates of
            ``batch_size`` windows drawn from seeded permutations of the train pool; warm-up +
            cosine; validation MSE every ``eval_every`` updates; early stop after ``patience``
            updates without improvement; defaults: docs/protocols.md, "Fine-tune budgets").
        lp: LP-FT (Kumar et al. 2022): start the head at the probe's ridge solution (True) or
            at zero (False: the first forecast is the window mean).
        lr_head, lr_encoder, weight_decay: AdamW settings of the fine-tune (seed paper: head lrs
            1e-4..4e-4 over 20 full epochs and wd 1e-4; fewer updates here, so 1e-3).
        grad_clip: max gradient norm in fine-tuning.
    """

    regime: str = "probe"
    lookback: int | None = None
    horizons: tuple[int, ...] | None = None
    train_stride: int = 4
    val_stride: int = 4
    max_train_windows: int | None = None
    batch_size: int = 64
    ridge_alphas: tuple[float, ...] = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)
    steps: int = 2000
    warmup: int = 100
    eval_every: int = 50
    patience: int = 500
    lp: bool = True
    lr_head: float = 1e-3
    lr_encoder: float = 1e-4
    weight_decay: float = 1e-4
    grad_clip: float = 1.0

    def __post_init__(self) -> None:
        if self.regime not in FORECAST_REGIMES:
            raise ConfigError(f"regime {self.regime!r} unknown; valid: {list(FORECAST_REGIMES)}")
        if self.horizons is not None:
            object.__setattr__(self, "horizons", tuple(self.horizons))
            if not self.horizons:
                raise ConfigError("horizons must be None (the standard ones) or non-empty")
        ints = ("train_stride", "val_stride", "batch_size", "steps", "eval_every", "patience")
        for name in (*ints, "lookback", "max_train_windows"):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name), 1)
        for h in self.horizons or ():
            check_int("horizon", h, 1)
        object.__setattr__(self, "ridge_alphas", tuple(self.ridge_alphas))
        if not self.ridge_alphas:
            raise ConfigError("ridge_alphas must hold at least one penalty")
        for alpha in self.ridge_alphas:
            _check_number("ridge_alphas", alpha)
        for name in ("lr_head", "lr_encoder", "grad_clip", "weight_decay"):
            _check_number(name, getattr(self, name), allow_zero=name == "weight_decay")
        StepBudget(self.steps, self.warmup, self.eval_every, self.patience, self.grad_clip)

    def resolve(self, dataset_name: str) -> tuple[int, tuple[int, ...]]:
        """(look-back, horizons): the configured ones, else the dataset's standard ones."""
        std = STANDARD.get(dataset_name)
        if std is None and (self.lookback is None or self.horizons is None):
            raise ConfigError(
                f"no standard look-back/horizons for {dataset_name!r} (known: {sorted(STANDARD)});"
                " set lookback and horizons"
            )
        lookback = self.lookback if self.lookback is not None else std[0]  # type: ignore[index]
        horizons = self.horizons if self.horizons is not None else std[1]  # type: ignore[index]
        return lookback, tuple(sorted(set(horizons)))


@dataclass
class TokenCache:
    """Frozen-encoder features of windows: tokens (n, C, N*D) float16, stats (n, C) float32."""

    tokens: np.ndarray
    mean: np.ndarray
    std: np.ndarray


def encode_windows(
    encoder: Encoder, series: np.ndarray, starts: np.ndarray, lookback: int, batch_size: int
) -> TokenCache:
    """Run the frozen encoder once over every window (inference mode, batches)."""
    device = next(encoder.parameters()).device
    n, c = starts.size, series.shape[0]
    f = encoder.num_tokens(lookback) * encoder.config.d_model
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
    cross, sy = torch.zeros(gram.shape[0], targets.shape[-1], dtype=torch.float64), 0.0
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


def _check_dataset(
    dataset: Dataset, lookback: int, horizons: tuple[int, ...]
) -> tuple[np.ndarray, dict[str, tuple]]:
    if dataset.task != "forecasting" or len(dataset) != 1:
        raise ValueError(
            f"{dataset.name}: forecasting needs one (1, C, T) series with task 'forecasting', "
            f"got task {dataset.task!r} and {len(dataset)} series"
        )
    missing = [k for k in ("train", "val", "test") if k not in dataset.time_splits]
    if missing:
        raise ValueError(f"{dataset.name}: time_splits lacks {missing}; has {dataset.time_splits}")
    end = dataset.time_splits["test"][1]
    if not dataset.mask[0, :, :end].all():
        c, t = np.argwhere(~dataset.mask[0, :, :end])[0]
        raise ValueError(
            f"{dataset.name}: unobserved value at channel {c}, step {t}; the "
            "forecasting protocol needs complete series up to the test end"
        )
    for h in horizons:  # fail before any work when a split holds no window
        for span in dataset.time_splits.values():
            window_starts(span, lookback, h)
    return dataset.X[0], dataset.time_splits


def _probe(
    enc: Encoder,
    series: np.ndarray,
    spans: dict,
    lookback: int,
    horizons: tuple,
    cfg: ForecastingConfig,
    seed: int,
) -> list[tuple[int, np.ndarray, np.ndarray, dict]]:
    h0 = horizons[0]  # the shortest horizon's windows contain every other horizon's
    tr = _train_starts(spans["train"], lookback, h0, cfg, seed)
    va = window_starts(spans["val"], lookback, h0, cfg.val_stride)
    tr_cache = encode_windows(enc, series, tr, lookback, cfg.batch_size)
    va_cache = encode_windows(enc, series, va, lookback, cfg.batch_size)
    full = ridge_moments(tr_cache, 0, tr.size)
    heads = {}
    for h in horizons:  # windows of horizon h = a prefix of the h0 windows (same first start)
        n_tr = int(np.sum(tr <= spans["train"][1] - lookback - h))
        n_va = int(np.sum(va <= spans["val"][1] - lookback - h))
        if n_tr == 0:
            raise ValueError(f"no train window left for horizon {h}: raise max_train_windows")
        tail = ridge_moments(tr_cache, n_tr, tr.size)
        mom = (full[0] - tail[0], full[1] - tail[1], full[2] - tail[2])
        y_tr, y_va = (
            gather(series, tr[:n_tr] + lookback, h),
            gather(series, va[:n_va] + lookback, h),
        )
        va_view = TokenCache(va_cache.tokens[:n_va], va_cache.mean[:n_va], va_cache.std[:n_va])
        w, b, alpha, val_mse = fit_ridge(mom, tr_cache, y_tr, cfg.ridge_alphas, (va_view, y_va))
        heads[h] = (w, b, {"alpha": alpha, "val_mse": val_mse, "n_train": n_tr, "n_val": n_va})
    del tr_cache, va_cache
    # Every choice is made: now, and only now, the test windows are read.
    te = window_starts(spans["test"], lookback, h0)
    te_cache = encode_windows(enc, series, te, lookback, cfg.batch_size)
    out = []
    for h in horizons:
        n_te = window_starts(spans["test"], lookback, h).size
        w, b, extra = heads[h]
        out.append(
            (h, gather(series, te[:n_te] + lookback, h), predict(te_cache, n_te, w, b), extra)
        )
    return out


def evaluate_forecasting(
    encoder: EncoderUnderTest,
    dataset: Dataset,
    cfg: ForecastingConfig,
    seed: int,
    *,
    device: str = "auto",
) -> list[ResultRow]:
    """Forecast every test window of ``dataset`` at each horizon; MSE and MAE rows.

    Args:
        encoder: the encoder under test (pretrained, random or scratch).
        dataset: one standardised (1, C, T) series with ``time_splits`` train/val/test.
        cfg: :class:`ForecastingConfig` (regime, windows, head training).
        seed: seeds the encoder init (random/scratch), subsamples and dropout.
        device: "auto", "cpu" or "cuda".

    Returns:
        Rows ``mse@H`` and ``mae@H`` per horizon (standardised scale, every test window);
        ``extra`` holds the look-back, horizon, window counts and the selected alpha / epoch.
    """
    t0 = time.perf_counter()
    wrong = {"probe": "scratch", "finetune": "random"}[cfg.regime]
    if encoder.kind == wrong:
        raise ValueError(
            f"encoder kind {wrong!r} does not apply to regime {cfg.regime!r}: 'random' is the "
            "frozen probe baseline, 'scratch' the fine-tune baseline"
        )
    lookback, horizons = cfg.resolve(dataset.name)
    series, spans = _check_dataset(dataset, lookback, horizons)
    dev = pick_device(device)
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        torch.manual_seed(seed)  # dropout in fine-tuning; the global state is restored after
        if cfg.regime == "probe":
            enc = encoder.encoder(seed).to(dev)
            check_lookback(enc, lookback)
            results = _probe(enc, series, spans, lookback, horizons, cfg, seed)
        else:
            results = [
                _finetune_one(encoder, series, spans, lookback, h, cfg, seed, dev) for h in horizons
            ]
    wall = time.perf_counter() - t0
    fields = encoder.row_fields()
    fields["config_hash"] = config_hash({"encoder": fields["config_hash"], "task": to_dict(cfg)})
    fields.update(task="forecasting", dataset=dataset.name, regime=cfg.regime, seed=seed)
    rows = []
    for h, y, pred, extra in results:
        info = {"lookback": lookback, "horizon": h, "n_test": int(y.shape[0]), **extra}
        for m in (METRICS.get("mse"), METRICS.get("mae")):
            row = ResultRow(
                metric=f"{m.name}@{h}",
                value=m.fn(y, pred),
                extra=info,
                higher_is_better=m.higher_is_better,
                wall_seconds=wall,
                **fields,
            )
            rows.append(row)
    return rows
