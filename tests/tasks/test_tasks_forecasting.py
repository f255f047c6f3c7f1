"""Forecasting protocol: windows, test isolation, the probe's skill, de-normalisation, rows."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from tsdividend.config import ConfigError
from tsdividend.data import Dataset, load_dataset
from tsdividend.encoder import Encoder, EncoderConfig
from tsdividend.tasks.base import EncoderUnderTest
from tsdividend.tasks.forecasting import (
    ForecastingConfig,
    ForecastModel,
    encode_windows,
    evaluate_forecasting,
    fit_ridge,
    gather,
    predict,
    ridge_moments,
    window_starts,
)
from tsdividend.tokenizer import instance_stats

TINY = EncoderConfig(d_model=32, depth=2, n_heads=4, dropout=0.0)
SPANS = {"train": (0, 480), "val": (480, 640), "test": (640, 800)}
T = 800
CFG = ForecastingConfig(lookback=64, horizons=(16, 24), train_stride=2, val_stride=2)


def make_dataset(values: np.ndarray, name: str = "synthetic/sine") -> Dataset:
    """(C, T) values -> a one-series forecasting Dataset with SPANS."""
    X = np.asarray(values, np.float32)[None]
    return Dataset(
        name=name, task="forecasting", X=X, mask=np.ones(X.shape, bool), time_splits=SPANS
    )


def sine(n_channels: int = 2, length: int = T, period: float = 24.0) -> np.ndarray:
    t = np.arange(length)
    return np.stack([np.sin(2 * np.pi * t / period + c) for c in range(n_channels)])


def by_metric(rows: list) -> dict:
    return {r.metric: r for r in rows}


@pytest.mark.parametrize(
    ("span", "lookback", "horizon", "stride"),
    [
        ((0, 700), 64, 16, 1),
        ((700, 950), 64, 24, 3),
        ((950, 1200), 64, 16, 1),
        ((8640, 11520), 336, 96, 4),
        ((11520, 14400), 336, 720, 1),
    ],
)
def test_window_starts_match_an_explicit_loop(span, lookback, horizon, stride) -> None:
    a, b = span
    # A window belongs to [a, b) when its whole target [s + L, s + L + H) lies inside it.
    every = [s for s in range(b) if s + lookback >= a and s + lookback + horizon <= b]
    expected = every[::stride]
    got = window_starts(span, lookback, horizon, stride)
    assert got.tolist() == expected
    if a >= lookback:  # val/test: the first window starts L before the border
        assert got[0] == a - lookback
    if stride == 1:
        assert got[-1] + lookback + horizon == b  # the last one ends at the split's end
        assert got.size == b - max(a - lookback, 0) - lookback - horizon + 1


def test_etth1_test_window_count_is_the_standard_one() -> None:
    # PatchTST/Informer: len = border2 - border1 - seq_len - pred_len + 1, border1 = 11520 - 336.
    assert window_starts((11520, 14400), 336, 96).size == 2880 - 96 + 1
    with pytest.raises(ValueError, match="no window"):
        window_starts((0, 100), 64, 48)


def test_gather_matches_slicing() -> None:
    series = np.random.default_rng(0).normal(size=(3, 200)).astype(np.float32)
    starts = np.array([0, 5, 77, 136])
    got = gather(series, starts, 64)
    for k, s in enumerate(starts):
        np.testing.assert_array_equal(got[k], series[:, s : s + 64])


def test_probe_beats_zero_on_a_sine_and_not_on_noise() -> None:
    eut = EncoderUnderTest("random", TINY)
    rows = by_metric(evaluate_forecasting(eut, make_dataset(sine()), CFG, seed=0, device="cpu"))
    var = float(np.var(sine()[:, 640:]))  # MSE of predicting zero (the standardised mean)
    assert rows["mse@16"].value < 0.05 * var and rows["mse@24"].value < 0.05 * var
    # The same assertion fails where nothing is predictable: white noise.
    noise = np.random.default_rng(1).normal(size=(2, T))
    noisy = by_metric(evaluate_forecasting(eut, make_dataset(noise), CFG, seed=0, device="cpu"))
    assert noisy["mse@16"].value > 0.8 * float(np.var(noise[:, 640:]))


FINETUNE = dataclasses.replace(
    CFG, regime="finetune", horizons=(16,), steps=12, warmup=2, eval_every=3, patience=6
)


@pytest.mark.parametrize(
    ("kind", "cfg", "chosen"), [("random", CFG, "alpha"), ("scratch", FINETUNE, "best_step")]
)
def test_poisoned_test_values_change_only_the_test_metric(kind, cfg, chosen) -> None:
    rng = np.random.default_rng(2)
    clean = sine() + 0.1 * rng.normal(size=(2, T))
    poisoned = clean.copy()
    poisoned[:, SPANS["test"][0] :] = rng.normal(scale=5.0, size=(2, 160))
    eut = EncoderUnderTest(kind, TINY)
    a = by_metric(evaluate_forecasting(eut, make_dataset(clean), cfg, seed=3, device="cpu"))
    b = by_metric(evaluate_forecasting(eut, make_dataset(poisoned), cfg, seed=3, device="cpu"))
    for name in a:
        assert a[name].extra[chosen] == b[name].extra[chosen]
        assert a[name].extra["val_mse"] == b[name].extra["val_mse"]
        assert b[name].value > 3 * a[name].value  # the poison did reach the test metric


def test_denormalisation_makes_forecasts_scale_equivariant() -> None:
    enc = Encoder(TINY, generator=torch.Generator().manual_seed(0)).eval()
    model = ForecastModel(enc, 64, 16)
    torch.nn.init.normal_(model.head.weight, std=0.1, generator=torch.Generator().manual_seed(1))
    x = torch.randn(4, 3, 64, generator=torch.Generator().manual_seed(2))
    tb_stats = enc.tokenize(x).stats  # the patch tokenizer's own instance stats
    ours = instance_stats(x)
    torch.testing.assert_close(ours.mean, tb_stats.mean)
    torch.testing.assert_close(ours.std, tb_stats.std)
    with torch.no_grad():
        y, y_scaled = model(x), model(7.0 * x - 3.0)
    torch.testing.assert_close(y_scaled, 7.0 * y - 3.0, rtol=1e-4, atol=1e-4)
    head_only = model.head(enc.tokens(x).flatten(1)).reshape(4, 3, 16)
    torch.testing.assert_close(y, head_only * tb_stats.std + tb_stats.mean)


@pytest.mark.parametrize("tokenizer", ["patch", "nutime"])
def test_cached_ridge_path_equals_the_module(tokenizer: str) -> None:
    enc = Encoder(
        dataclasses.replace(TINY, tokenizer=tokenizer), generator=torch.Generator().manual_seed(0)
    ).eval()
    series = sine(3).astype(np.float32) * 4.0 + 1.0
    starts = np.arange(0, 500, 7)
    cache = encode_windows(enc, series, starts, 64, batch_size=16)
    y = gather(series, starts + 64, 16)
    mom = ridge_moments(cache, 0, starts.size)
    w, b, alpha, _ = fit_ridge(mom, cache, y, (1e-3,), (cache, y))
    model = ForecastModel(enc, 64, 16)
    with torch.no_grad():
        model.head.weight.copy_(torch.from_numpy(w.T))
        model.head.bias.copy_(torch.from_numpy(b))
        direct = model(torch.from_numpy(gather(series, starts, 64))).numpy()
    np.testing.assert_allclose(predict(cache, starts.size, w, b), direct, atol=5e-3 * 4)
    assert np.mean((direct - y) ** 2) < 0.05 * np.var(y)  # in-sample fit of a sine


def test_rows_carry_the_protocol_fields() -> None:
    eut = EncoderUnderTest("scratch", TINY)
    cfg = dataclasses.replace(CFG, regime="finetune", steps=4, warmup=1, eval_every=2)
    rows = evaluate_forecasting(eut, make_dataset(sine()), cfg, seed=5, device="cpu")
    assert sorted(r.metric for r in rows) == ["mae@16", "mae@24", "mse@16", "mse@24"]
    for r in rows:
        h = r.extra["horizon"]
        assert r.metric.endswith(f"@{h}") and r.higher_is_better is False
        assert (r.task, r.dataset, r.regime, r.seed, r.init) == (
            "forecasting",
            "synthetic/sine",
            "finetune",
            5,
            "scratch",
        )
        assert r.extra["n_test"] == window_starts(SPANS["test"], 64, h).size
        assert r.extra["best_step"] in (0, 2, 4) and r.extra["budget_steps"] == 4
        assert r.extra["converged"] == (r.extra["best_step"] < 4)
        assert np.isfinite(r.value) and r.wall_seconds > 0
        assert r.depth == 2 and r.tokenizer == "patch" and r.config_hash
    mse, mae = by_metric(rows)["mse@16"].value, by_metric(rows)["mae@16"].value
    assert mae**2 <= mse + 1e-9  # Jensen: a real pair of error summaries


def test_config_errors_name_the_bad_value() -> None:
    with pytest.raises(ConfigError, match="regime"):
        ForecastingConfig(regime="zero-shot")
    with pytest.raises(ConfigError, match="forecast/ETTh1"):
        ForecastingConfig().resolve("synthetic/x")
    assert ForecastingConfig().resolve("forecast/ILI") == (104, (24, 36, 48, 60))
    ds = make_dataset(sine())
    with pytest.raises(ValueError, match="'random' is the frozen probe baseline"):
        evaluate_forecasting(EncoderUnderTest("random", TINY), ds, FINETUNE, seed=0, device="cpu")
    with pytest.raises(ValueError, match="no window"):
        evaluate_forecasting(
            EncoderUnderTest("random", TINY),
            ds,
            dataclasses.replace(CFG, horizons=(200,)),
            seed=0,
            device="cpu",
        )
    with pytest.raises(ValueError, match="exceeds the 48 steps"):
        ForecastModel(Encoder(dataclasses.replace(TINY, max_len=4)), 64, 16)


def test_etth1_probe_with_a_tiny_encoder(shared_data) -> None:
    ds = load_dataset("forecast/ETTh1", shared_data)
    cfg = ForecastingConfig(horizons=(96,), max_train_windows=300, val_stride=32, batch_size=256)
    rows = by_metric(
        evaluate_forecasting(EncoderUnderTest("random", TINY), ds, cfg, seed=0, device="cpu")
    )
    assert set(rows) == {"mse@96", "mae@96"}
    assert (
        rows["mse@96"].extra["n_test"] == 2880 - 96 + 1 and rows["mse@96"].extra["n_train"] == 300
    )
    assert all(np.isfinite(r.value) and r.value > 0 for r in rows.values())


def test_ridge_head_equals_sklearn_weighted_ridge() -> None:
    from sklearn.linear_model import Ridge

    enc = Encoder(TINY, generator=torch.Generator().manual_seed(4)).eval()
    series = (sine(2) + np.random.default_rng(4).normal(scale=0.3, size=(2, T))).astype("f4")
    starts = np.arange(0, 600, 9)
    cache = encode_windows(enc, series, starts, 64, batch_size=32)
    y = gather(series, starts + 64, 16)
    w, b, _, _ = fit_ridge(ridge_moments(cache, 0, starts.size), cache, y, (0.01,), (cache, y))
    # Independent reference: the normalised-space fit with per-row weights std^2.
    z = cache.tokens.reshape(-1, cache.tokens.shape[-1]).astype(np.float64)
    std, mean = cache.std.reshape(-1, 1).astype(np.float64), cache.mean.reshape(-1, 1)
    yn = (y.reshape(-1, 16) - mean) / std
    wts = std[:, 0] ** 2
    zc = z - np.average(z, axis=0, weights=wts)
    lam = 0.01 * np.sum(wts[:, None] * zc**2) / z.shape[1]
    ref = Ridge(alpha=lam, fit_intercept=True, solver="cholesky").fit(z, yn, sample_weight=wts)
    np.testing.assert_allclose(w, ref.coef_.T, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(b, ref.intercept_, rtol=1e-4, atol=1e-6)
