"""Classical references: registry/rows, MiniRocket, matrix profile, DLinear, seasonal naive,
raw k-means; each against an independent reference or a case with a known answer, and each
shown not to read the test split for its choices."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge

from tsdividend.config import ConfigError
from tsdividend.data import Dataset, load_dataset
from tsdividend.metrics import METRICS
from tsdividend.tasks.baselines import BASELINES, run_baseline
from tsdividend.tasks.baselines.forecast import (
    data_season,
    decomposition_matrix,
    fit_dlinear,
    seasonal_naive_forecast,
)
from tsdividend.tasks.baselines.matrix_profile import (
    MatrixProfileConfig,
    centre_scores,
    estimate_window,
    mean_scores,
    pair_distances,
    point_scores,
)
from tsdividend.tasks.baselines.minirocket import fill_unobserved
from tsdividend.tasks.baselines.raw_kmeans import znormalise

SMALL_ROCKET = {"n_kernels": 840}  # 10 kernel sets instead of 119: same code path, faster


def _check_rows(rows, name, task, metrics):
    assert [r.metric for r in rows] == metrics
    for r in rows:
        assert (r.init, r.regime, r.encoder_id, r.task) == ("classical", "classical", name, task)
        assert r.higher_is_better == METRICS.get(r.metric.split("@")[0]).higher_is_better
        assert r.wall_seconds > 0 and np.isfinite(r.value) and r.config_hash
        r.to_json()  # extra is JSON-able


# ---------------------------------------------------------------- registry and entry point


def test_registry_lists_the_five_baselines_and_rejects_bad_requests(gunpoint):
    assert sorted(BASELINES.names()) == sorted(
        ["minirocket", "matrix_profile", "dlinear", "seasonal_naive", "raw_kmeans"]
    )
    with pytest.raises(KeyError, match="valid: .*minirocket"):
        run_baseline("rocket", "classification", gunpoint, 0)
    with pytest.raises(ValueError, match="serves task 'classification'.*raw_kmeans"):
        run_baseline("minirocket", "clustering", gunpoint, 0)
    with pytest.raises(ValueError, match="needs a 'forecasting' dataset"):
        run_baseline("dlinear", "forecasting", gunpoint, 0)
    with pytest.raises(ConfigError, match="unknown key.*n_kernel"):
        run_baseline("minirocket", "classification", gunpoint, 0, n_kernel=100)


# ---------------------------------------------------------------- MiniRocket


def test_minirocket_gunpoint_accuracy(gunpoint):
    rows = run_baseline("minirocket", "classification", gunpoint, seed=0)
    _check_rows(rows, "minirocket", "classification", ["accuracy", "balanced_accuracy"])
    assert rows[0].value > 0.9  # published MiniRocket GunPoint accuracy: ~1.0
    assert rows[0].extra["n_features"] > 9000 and rows[0].extra["n_test"] == 150


def test_minirocket_choices_ignore_the_test_split(gunpoint):
    rng = np.random.default_rng(0)
    test = gunpoint.splits["test"]
    X, y = gunpoint.X.copy(), gunpoint.y.copy()
    X[test] = rng.normal(size=X[test].shape).astype(np.float32)
    y[test] = rng.permutation(y[test])
    poisoned = replace(gunpoint, X=X, y=y)
    clean = run_baseline("minirocket", "classification", gunpoint, 0, **SMALL_ROCKET)
    dirty = run_baseline("minirocket", "classification", poisoned, 0, **SMALL_ROCKET)
    assert clean[0].extra["alpha"] == dirty[0].extra["alpha"]
    assert dirty[0].value < 0.8 < clean[0].value  # the poison did reach the test metric


def test_minirocket_multivariate_and_variable_length():
    motions = load_dataset("uea/BasicMotions")
    rows = run_baseline("minirocket", "classification", motions, 0, **SMALL_ROCKET)
    assert rows[0].value > 0.8  # published: 1.0
    vowels = load_dataset("uea/JapaneseVowels")  # 12 channels, lengths 7..29, right-padded
    assert not vowels.mask.all()
    rows = run_baseline("minirocket", "classification", vowels, 0, **SMALL_ROCKET)
    assert rows[0].value > 0.8  # published: ~0.99


def test_fill_unobserved_matches_an_explicit_loop():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(4, 3, 12))
    mask = rng.random((4, 3, 12)) < 0.6
    mask[0, 0] = False  # a channel with no observation
    mask[1, 1, :5] = False  # a leading gap
    got = fill_unobserved(np.where(mask, X, 0.0), mask)
    for n in range(4):
        for c in range(3):
            seen = np.flatnonzero(mask[n, c])
            for t in range(12):
                if seen.size == 0:
                    want = 0.0
                elif (seen <= t).any():
                    want = X[n, c, seen[seen <= t][-1]]
                else:
                    want = X[n, c, seen[0]]
                assert got[n, c, t] == want


# ---------------------------------------------------------------- matrix profile (fast parts)


def test_estimate_window_finds_the_period_of_the_train_prefix_only():
    t = np.arange(3000)
    rng = np.random.default_rng(0)
    series = np.sin(2 * np.pi * t / 50) + 0.1 * rng.normal(size=t.size)
    cfg = MatrixProfileConfig()
    assert estimate_window(series[:1000], cfg) == (50, "period")
    assert estimate_window(rng.normal(size=1000), cfg)[1] == "fallback"
    assert estimate_window(series[:1000], MatrixProfileConfig(window=30)) == (30, "config")
    with pytest.raises(ValueError, match="exceeds n_train // 4"):
        estimate_window(series[:100], MatrixProfileConfig(window=30))


def test_pair_distances_match_explicit_znormalised_distances():
    rng = np.random.default_rng(2)
    series = rng.normal(size=200)
    series[100:120] = 3.0  # constant subsequences
    m = 10
    a = np.array([0, 5, 100, 101, 150])
    b = np.array([30, 105, 102, 140, 7])

    def z(s):
        return (s - s.mean()) / s.std()

    want = []
    for i, j in zip(a, b, strict=True):
        si, sj = series[i : i + m], series[j : j + m]
        flat_i, flat_j = np.ptp(si) == 0, np.ptp(sj) == 0
        if flat_i and flat_j:
            want.append(0.0)
        elif flat_i or flat_j:
            want.append(np.sqrt(m))
        else:
            want.append(np.linalg.norm(z(si) - z(sj)))
    np.testing.assert_allclose(pair_distances(series, a, b, m), want, rtol=1e-10)


def test_centre_scores_pad_as_tsb_uad_and_mean_scores_average_the_covering_subsequences():
    sub = np.array([1.0, 5.0, 2.0, 7.0, 3.0])
    for m in (1, 2, 3, 4, 5, 6):
        # TSB-UAD: ceil((m - 1) / 2) copies of the first score, the scores, (m - 1) // 2 copies
        # of the last one
        want = [sub[0]] * ((m - 1 + 1) // 2) + list(sub) + [sub[-1]] * ((m - 1) // 2)
        assert centre_scores(sub, m).tolist() == want
        got = mean_scores(sub, m)
        assert got.shape == (sub.size + m - 1,)
        for t in range(got.size):  # mean over the starts i with i <= t <= i + m - 1
            assert got[t] == pytest.approx(np.mean(sub[max(0, t - m + 1) : min(t, 4) + 1]))
    sub[:2] = -np.inf  # unscored subsequences are left out of the mean
    assert mean_scores(sub, 2).tolist() == [-np.inf, -np.inf, 2.0, 4.5, 5.0, 3.0]
    with pytest.raises(ValueError, match=r"'median'.*\['mean', 'centre'\]"):
        point_scores(sub, 2, "median")
    with pytest.raises(ConfigError, match="point_rule"):
        MatrixProfileConfig(point_rule="max")


def _max_over_covering(sub: np.ndarray, m: int) -> np.ndarray:
    """The replaced rule (an explicit loop): a point gets the max over the covering subsequences."""
    return np.array([sub[max(0, t - m + 1) : min(t, sub.size - 1) + 1].max()
                     for t in range(sub.size + m - 1)])  # fmt: skip


@pytest.mark.parametrize("kind", ["flat", "bump", "frequency"])
def test_point_scores_put_a_planted_discord_argmax_inside_it_with_a_large_window(kind):
    """Period 50, window m = 200, a 40-step discord. Subsequence scores without stumpy: for a
    periodic series the nearest earlier neighbour is a whole number of periods back, so each
    subsequence's score is its smallest z-normalised distance to the subsequences 1..8 periods
    earlier (the left matrix profile restricted to those candidates)."""
    rng = np.random.default_rng(7)
    T, n_train, m, period, b, e = 5000, 2000, 200, 50, 3517, 3557
    t = np.arange(T)
    x = np.sin(2 * np.pi * t / period) + 0.05 * rng.normal(size=T)
    if kind == "flat":
        x[b:e] = 0.0
    elif kind == "bump":
        x[b:e] += 1.5 * np.hanning(e - b)
    else:
        x[b:e] = np.sin(2 * np.pi * t[b:e] / 25)
    scored = np.arange(n_train - m + 1, T - m + 1)
    near = [pair_distances(x, scored, scored - k * period, m) for k in range(1, 9)]
    sub = np.full(T - m + 1, -np.inf)
    sub[scored] = np.min(near, axis=0)
    top = int(np.argmax(point_scores(sub, m, "mean")[n_train:])) + n_train
    assert b <= top < e
    old = int(np.argmax(_max_over_covering(sub, m)[n_train:])) + n_train
    assert old < b - m // 4  # the replaced rule: at the top subsequence's start, far before
    # TSB-UAD's centring: within m / 2 of the discord (the top subsequence lies anywhere on the
    # plateau of subsequences that hold the whole discord)
    centre = int(np.argmax(point_scores(sub, m, "centre")[n_train:])) + n_train
    assert b - m // 2 <= centre < e + m // 2


# ---------------------------------------------------------------- matrix profile (stumpy)
# stumpy JIT-compiles its matrix-profile kernels on the first call of a process (10-50 s here,
# with no supported on-disk cache), so the end-to-end runs are marked slow.


def _discord_dataset(values: np.ndarray, n_train: int, begin: int, end: int) -> Dataset:
    T = values.size
    y = np.zeros((1, T), np.uint8)
    y[0, begin:end] = 1
    return Dataset(
        name="synthetic/discord",
        task="anomaly",
        X=values[None, None].astype(np.float32),
        mask=np.ones((1, 1, T), bool),
        y=y,
        time_splits={"train": (0, n_train), "test": (n_train, T)},
    )


@pytest.mark.slow
def test_matrix_profile_finds_a_clear_discord_and_ignores_test_values_for_its_window():
    rng = np.random.default_rng(4)
    t = np.arange(4000)
    values = np.sin(2 * np.pi * t / 40) + 0.05 * rng.normal(size=t.size)
    values[2500:2520] = 0.0  # a flat stretch inside the oscillation: the discord
    ds = _discord_dataset(values, 1000, 2500, 2520)
    rows = run_baseline("matrix_profile", "anomaly", ds, 0)
    _check_rows(rows, "matrix_profile", "anomaly", ["vus_pr", "auc_pr", "auc_roc", "best_f1"])
    assert rows[0].extra["window"] == 40
    assert 2500 - 40 <= rows[0].extra["top_index"] < 2520 + 40
    assert dict((r.metric, r.value) for r in rows)["auc_roc"] > 0.95
    poisoned = values.copy()
    poisoned[1000:] = rng.normal(size=3000)
    dirty = run_baseline(
        "matrix_profile", "anomaly", _discord_dataset(poisoned, 1000, 2500, 2520), 0
    )
    assert dirty[0].extra["window"] == 40


@pytest.mark.slow
def test_matrix_profile_on_ucr_anomaly_135():
    rows = run_baseline("matrix_profile", "anomaly", load_dataset("anomaly/ucr/135"), 0)
    names = ["ucr_score_kdd21", "ucr_score_rewicki23", "vus_pr", "auc_pr", "auc_roc"]
    _check_rows(rows, "matrix_profile", "anomaly", names)
    assert rows[0].value == 1.0  # the top-scored point is within +-100 of [4187, 4199)
    assert rows[0].extra["vus_buffer"] == "fixed" and rows[0].extra["vus_max_window"] == 100
    period = run_baseline("matrix_profile", "anomaly", load_dataset("anomaly/ucr/135"), 0,
                          vus_buffer="period")  # fmt: skip
    m = period[0].extra["window"]
    assert period[0].extra["vus_max_window"] == 2 * m  # the VUS authors' 2 x window


@pytest.mark.slow
def test_matrix_profile_puts_a_planted_discord_top_inside_it_with_window_200():
    """End to end with stumpy: period 50, m = 200, a 40-step flat discord: the top point lies
    inside the discord (the replaced max-over-covering rule put it about m / 2 before)."""
    rng = np.random.default_rng(7)
    t = np.arange(5000)
    values = np.sin(2 * np.pi * t / 50) + 0.05 * rng.normal(size=t.size)
    values[3517:3557] = 0.0
    ds = _discord_dataset(values, 2000, 3517, 3557)
    rows = run_baseline("matrix_profile", "anomaly", ds, 0, window=200)
    assert rows[0].extra["window"] == 200 and rows[0].extra["point_rule"] == "mean"
    assert 3517 <= rows[0].extra["top_index"] < 3557


# ---------------------------------------------------------------- forecasting


def _fc(series: np.ndarray, borders=(400, 500, 600), step: str | None = None) -> Dataset:
    """(C, T) values -> a one-series forecasting dataset (train/val/test borders, dates)."""
    C, T = series.shape
    meta = {}
    if step is not None:
        dates = pd.date_range("2020-01-01", periods=T, freq=step)
        meta = {"first_date": str(dates[0]), "last_date": str(dates[-1]), "rows_used": T}
    a, b, c = borders
    return Dataset(
        name="synthetic/forecast",
        task="forecasting",
        X=series[None].astype(np.float32),
        mask=np.ones((1, C, T), bool),
        time_splits={"train": (0, a), "val": (a, b), "test": (b, c)},
        meta=meta,
    )


WINDOWS = {"lookback": 48, "horizons": [12, 24]}


def test_dlinear_is_exact_on_a_noiseless_linear_trend():
    t = np.arange(600, dtype=np.float64)
    ds = _fc(np.stack([0.01 * t - 3.0, -0.005 * t + 1.0]))
    rows = run_baseline("dlinear", "forecasting", ds, 0, **WINDOWS)
    _check_rows(rows, "dlinear", "forecasting", ["mse@12", "mae@12", "mse@24", "mae@24"])
    assert max(r.value for r in rows if r.metric.startswith("mse")) < 1e-8


def test_dlinear_beats_seasonal_naive_on_trend_plus_noise():
    rng = np.random.default_rng(5)
    t = np.arange(600)
    ds = _fc(np.stack([0.01 * t + 0.5 * rng.normal(size=600) for _ in range(3)]))
    dl = {r.metric: r.value for r in run_baseline("dlinear", "forecasting", ds, 0, **WINDOWS)}
    sn = run_baseline("seasonal_naive", "forecasting", ds, 0, **WINDOWS)
    assert sn[0].extra["season"] == 1  # no dates: the naive last value
    for r in sn:
        assert dl[r.metric] < 0.8 * r.value


def test_dlinear_fit_matches_sklearn_ridge_on_decomposed_features():
    rng = np.random.default_rng(6)
    L, H, kernel = 20, 5, 7
    x, y = rng.normal(size=(300, L)), rng.normal(size=(300, H))
    seen = np.ones_like(y, bool)
    M, b, alpha = fit_dlinear([(x[:150], y[:150], seen[:150]), (x[150:], y[150:], seen[150:])],
                              [(x[:10], y[:10], seen[:10])], kernel, (0.5,))  # fmt: skip
    # independent reference: trend by replicate-padded moving average, then sklearn's Ridge
    half = kernel // 2
    padded = np.concatenate([np.repeat(x[:, :1], half, 1), x, np.repeat(x[:, -1:], half, 1)], 1)
    trend = np.stack([np.convolve(r, np.ones(kernel) / kernel, "valid") for r in padded])
    np.testing.assert_allclose(x @ decomposition_matrix(L, kernel).T, trend, atol=1e-12)
    Z = np.concatenate([x - trend, trend], axis=1)
    Zc = Z - Z.mean(0)
    lam = 0.5 * np.trace(Zc.T @ Zc) / (2 * L)
    ref = Ridge(alpha=lam).fit(Z, y)
    np.testing.assert_allclose(x @ M + b, ref.predict(Z), atol=1e-8)


def test_dlinear_choices_ignore_the_test_split():
    rng = np.random.default_rng(7)
    t = np.arange(600)
    series = np.stack([np.sin(2 * np.pi * t / 24) + 0.3 * rng.normal(size=600) for _ in range(2)])
    clean = run_baseline("dlinear", "forecasting", _fc(series), 0, **WINDOWS)
    series[:, 500:] = 100 * rng.normal(size=(2, 100))  # everything after the test border
    dirty = run_baseline("dlinear", "forecasting", _fc(series), 0, **WINDOWS)
    for h in (12, 24):
        assert clean[0].extra[f"alpha@{h}"] == dirty[0].extra[f"alpha@{h}"]
    assert dirty[0].value > 10 * clean[0].value


def test_seasonal_naive_is_exact_on_a_periodic_series_and_reads_the_frequency():
    rng = np.random.default_rng(8)
    series = np.tile(rng.normal(size=(2, 24)), (1, 25))  # period 24, 600 steps
    ds = _fc(series, step="h")
    rows = run_baseline("seasonal_naive", "forecasting", ds, 0, **WINDOWS)
    _check_rows(rows, "seasonal_naive", "forecasting", ["mse@12", "mae@12", "mse@24", "mae@24"])
    assert rows[0].extra["season"] == 24 and max(r.value for r in rows) == 0.0
    assert data_season(_fc(series, step="D")) == 7
    assert data_season(_fc(series, step="7D")) == 52
    assert data_season(_fc(series, step="2h")) == 1


def test_seasonal_naive_forecast_matches_an_explicit_loop():
    x = np.arange(20.0).reshape(2, 10)
    got = seasonal_naive_forecast(x, 7, 3)
    for n in range(2):
        for h in range(7):
            assert got[n, h] == x[n, 10 - 3 + h % 3]
    with pytest.raises(ValueError, match="longer than the look-back"):
        seasonal_naive_forecast(x, 5, 11)


@pytest.mark.slow
def test_dlinear_and_seasonal_naive_on_etth1(shared_data):
    ds = load_dataset("forecast/ETTh1", shared_data)
    dl = run_baseline("dlinear", "forecasting", ds, 0, horizons=[96])
    sn = run_baseline("seasonal_naive", "forecasting", ds, 0, horizons=[96])
    assert 0.33 < dl[0].value < 0.40  # DLinear paper (L = 336): 0.375
    assert sn[0].extra["season"] == 24 and dl[0].value < sn[0].value


# ---------------------------------------------------------------- raw k-means


def _classes_dataset(rng: np.random.Generator) -> Dataset:
    t = np.linspace(0, 1, 60)
    shapes = [np.sin(2 * np.pi * 3 * t), np.sign(np.sin(2 * np.pi * t)), t]
    X = np.stack([shapes[k] * rng.uniform(1, 5) + rng.uniform(-9, 9) + 0.1 * rng.normal(size=60)
                  for k in np.repeat([0, 1, 2], 20)])[:, None]  # fmt: skip
    y = np.repeat(np.arange(3), 20)
    return Dataset(
        name="synthetic/classes",
        task="classification",
        X=X.astype(np.float32),
        mask=np.ones(X.shape, bool),
        y=y.astype(np.int64),
        classes=("sine", "square", "ramp"),
        splits={"train": np.arange(0, 60, 2), "test": np.arange(1, 60, 2)},
    )


def test_raw_kmeans_separates_well_separated_classes():
    rows = run_baseline("raw_kmeans", "clustering", _classes_dataset(np.random.default_rng(9)), 3)
    _check_rows(rows, "raw_kmeans", "clustering", ["nmi", "ari"])
    assert rows[0].value > 0.95 and rows[1].value > 0.95  # offsets and scales are z-normalised
    assert rows[0].extra["k"] == 3 and rows[0].extra["n"] == 30


def test_znormalise_uses_observed_values_only():
    rng = np.random.default_rng(10)
    X = rng.normal(3, 2, size=(3, 2, 15))
    mask = np.ones(X.shape, bool)
    mask[0, :, 10:] = False  # a shorter series
    mask[2, 1] = False
    X[~mask] = 0.0
    X[1, 0] = 4.0  # constant channel
    got = znormalise(X, mask).reshape(X.shape)
    for n in range(3):
        for c in range(2):
            obs = X[n, c, mask[n, c]]
            if obs.size:
                sd = obs.std() if obs.std() > 0 else 1.0
                np.testing.assert_allclose(got[n, c, mask[n, c]], (obs - obs.mean()) / sd)
            assert np.all(got[n, c, ~mask[n, c]] == 0)
