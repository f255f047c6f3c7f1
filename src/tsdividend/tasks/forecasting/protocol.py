"""The forecasting protocol's entry point: probe (ridge head) or fine-tune, MSE/MAE rows.

See :mod:`tsdividend.tasks.forecasting` for the protocol.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from tsdividend.data import Dataset
from tsdividend.device import pick_device
from tsdividend.encoder.adapter import TokenEncoder
from tsdividend.metrics import METRICS
from tsdividend.results.row import ResultRow
from tsdividend.tasks.base import Builds, check_init, row_identity
from tsdividend.tasks.forecasting.config import ForecastingConfig
from tsdividend.tasks.forecasting.finetune import finetune_one
from tsdividend.tasks.forecasting.ridge import (
    TokenCache,
    encode_windows,
    fit_ridge,
    predict,
    ridge_moments,
)
from tsdividend.tasks.forecasting.windows import check_lookback, gather, train_starts, window_starts

__all__ = ["evaluate_forecasting"]


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
    enc: TokenEncoder,
    series: np.ndarray,
    spans: dict,
    lookback: int,
    horizons: tuple,
    cfg: ForecastingConfig,
    seed: int,
) -> list[tuple[int, np.ndarray, np.ndarray, dict]]:
    h0 = horizons[0]  # the shortest horizon's windows contain every other horizon's
    tr = train_starts(spans["train"], lookback, h0, cfg, seed)
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
    encoder: Builds,
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
    check_init(encoder, cfg.regime, "forecasting")
    lookback, horizons = cfg.resolve(dataset.name, dataset.meta.get("standard"))
    series, spans = _check_dataset(dataset, lookback, horizons)
    dev = pick_device(device)
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        torch.manual_seed(seed)  # dropout in fine-tuning; the global state is restored after
        if cfg.regime == "probe":
            enc = encoder.build(seed).to(dev)
            check_lookback(enc, lookback)
            results = _probe(enc, series, spans, lookback, horizons, cfg, seed)
        else:
            results = [
                finetune_one(encoder, series, spans, lookback, h, cfg, seed, dev) for h in horizons
            ]
    wall = time.perf_counter() - t0
    fields = row_identity(encoder, cfg)
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
