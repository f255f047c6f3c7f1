"""The pretraining window sampler: exact slices, uniform over positions, splits, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from tsdividend.data import DataError, Dataset, from_numpy
from tsdividend.data.sampler import WindowSampler


def _coded(lengths: list[int], channels: int = 1) -> Dataset:
    """Series n, channel c, step t holds 10000 n + 1000 c + t (so a window names its origin)."""
    T = max(lengths)
    values = np.full((len(lengths), channels, T), np.nan)
    for n, L in enumerate(lengths):
        for c in range(channels):
            values[n, c, :L] = 10000 * n + 1000 * c + np.arange(L)
    return from_numpy(values, min_length=1)


def test_windows_are_exact_slices_and_uniform_over_positions():
    ds = _coded([20, 40])
    sampler = WindowSampler([ds], 10, split=None)
    assert sampler.n_windows == 11 + 31
    X, mask = sampler.sample(4000, np.random.default_rng(0))
    assert X.shape == (4000, 1, 10) and mask.all()
    series, start = X[:, 0, 0] // 10000, X[:, 0, 0] % 10000
    np.testing.assert_array_equal(X[:, 0, :], X[:, :1, 0] + np.arange(10))  # contiguous
    assert start[series == 0].max() <= 10 and start[series == 1].max() <= 30
    share = (series == 1).mean()
    assert abs(share - 31 / 42) < 4 * np.sqrt(share * (1 - share) / 4000)


def test_short_series_padded_and_no_start_in_padding():
    ds = _coded([5, 30])
    X, mask = WindowSampler([ds], 12, split=None).sample(500, np.random.default_rng(1))
    short = X[:, 0, 0] < 10000
    assert short.any() and (mask[short, 0, :5].all()) and not mask[short, 0, 5:].any()
    assert mask[~short].all()  # long series: windows never reach into its padding


def test_channel_independent_and_joint_modes():
    ds = _coded([30, 30], channels=3)
    X, _ = WindowSampler([ds], 8, split=None).sample(300, np.random.default_rng(2))
    assert X.shape == (300, 1, 8) and set(np.unique((X[:, 0, 0] % 10000) // 1000)) == {0, 1, 2}
    X, _ = WindowSampler([ds], 8, split=None, channel_independent=False).sample(
        50, np.random.default_rng(2)
    )
    np.testing.assert_array_equal(X[:, 1] - X[:, 0], 1000.0)


def test_time_split_limits_windows_and_seed_is_deterministic():
    values = np.arange(100.0)
    y = np.zeros(100, dtype=int)
    y[80] = 1
    ds = from_numpy(values, y)
    ds.time_splits = {"train": (0, 60), "test": (60, 100)}
    sampler = WindowSampler([ds], 16)
    X, _ = sampler.sample(200, np.random.default_rng(3))
    assert X.max() <= 59
    again, _ = sampler.sample(200, np.random.default_rng(3))
    np.testing.assert_array_equal(X, again)


def test_errors():
    with pytest.raises(DataError, match="window length"):
        WindowSampler([_coded([20])], 0)
    with pytest.raises(DataError, match="unknown split 'train'"):
        WindowSampler([_coded([20])], 4)
    with pytest.raises(DataError, match="channel counts differ"):
        WindowSampler([_coded([20]), _coded([20], 2)], 4, split=None, channel_independent=False)
