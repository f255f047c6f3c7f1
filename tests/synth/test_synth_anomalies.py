"""Labelled anomaly injection: each type changes exactly its labelled segment, at series scale."""

from __future__ import annotations

import numpy as np
import pytest

from tsdividend.synth import (
    ANOMALY_TYPES,
    Anomaly,
    AnomalyConfig,
    inject_anomalies,
    inject_anomaly,
    sample_kernelsynth,
)
from tsdividend.synth.gp import sample_gp
from tsdividend.synth.kernels import RBF, Periodic, Sum, White


def clean_series(n_channels: int = 3, length: int = 200, seed: int = 0) -> np.ndarray:
    """Continuous GP paths (smooth + periodic + noise): no two steps share a value."""
    kernel = Sum(Sum(RBF(0.1), Periodic(24.0)), White(0.01))
    return sample_gp(kernel, length, np.random.default_rng(seed), n_channels) * 10.0 + 3.0


@pytest.mark.parametrize("kind", ANOMALY_TYPES)
@pytest.mark.parametrize(("start", "end"), [(60, 75), (0, 12), (185, 200)])
def test_each_type_changes_exactly_its_segment(kind: str, start: int, end: int) -> None:
    x = clean_series()
    if kind == "spike":
        end = start + 2
    anomaly = Anomaly(kind, start, end, (0, 2))
    y = inject_anomaly(np.random.default_rng(1), x, anomaly)
    changed = y != x
    expected = np.zeros_like(changed)
    expected[[0, 2], start:end] = True
    np.testing.assert_array_equal(changed, expected)


@pytest.mark.parametrize("kind", ANOMALY_TYPES)
def test_changes_scale_with_the_series(kind: str) -> None:
    x = clean_series(seed=2)
    anomaly = Anomaly(kind, 40, 60, (1,))
    y1 = inject_anomaly(np.random.default_rng(5), x, anomaly)
    y2 = inject_anomaly(np.random.default_rng(5), 1000.0 * x, anomaly)
    np.testing.assert_allclose(y2 - 1000.0 * x, 1000.0 * (y1 - x), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("kind", ["spike", "level_shift", "trend_change"])
def test_additive_magnitude_is_relative_to_the_channel_std(kind: str) -> None:
    x = clean_series(seed=3)
    cfg = AnomalyConfig(magnitude=(2.0, 5.0))
    for seed in range(10):
        y = inject_anomaly(np.random.default_rng(seed), x, Anomaly(kind, 50, 70, (0,)), cfg)
        peak = np.abs(y - x)[0].max() / x[0].std()
        assert 2.0 - 1e-9 <= peak <= 5.0 + 1e-9


def test_random_injection_labels_cover_exactly_the_changed_points() -> None:
    cfg = AnomalyConfig(max_anomalies=4)
    for seed in range(40):
        x = clean_series(n_channels=2, length=300, seed=seed)
        y, labels = inject_anomalies(np.random.default_rng(seed), x, cfg)
        assert labels.dtype == np.uint8 and labels.shape == (300,) and labels.any()
        np.testing.assert_array_equal((y != x).any(axis=0), labels.astype(bool))


def test_kernelsynth_series_get_labels_and_changes_only_inside() -> None:
    for seed in range(30):
        x = sample_kernelsynth(np.random.default_rng(seed), 128)
        y, labels = inject_anomalies(np.random.default_rng(100 + seed), x)
        assert y.shape == x.shape and labels.any()
        assert not (y != x)[labels == 0].any()


def test_constant_series_only_get_additive_anomalies() -> None:
    x = np.full((1, 100), 4.0)
    cfg = AnomalyConfig(max_anomalies=3)
    for seed in range(20):
        y, labels = inject_anomalies(np.random.default_rng(seed), x, cfg)
        np.testing.assert_array_equal((y != x)[0], labels.astype(bool))
    with pytest.raises(ValueError, match="constant"):
        inject_anomalies(np.random.default_rng(0), x, AnomalyConfig(types=("flatline",)))


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="unknown anomaly types"):
        AnomalyConfig(types=("spike", "glitch"))
    with pytest.raises(ValueError, match="too short"):
        inject_anomalies(np.random.default_rng(0), np.arange(10.0))
    with pytest.raises(ValueError, match="finite"):
        inject_anomalies(np.random.default_rng(0), np.array([1.0, np.nan] * 40))
    with pytest.raises(ValueError, match="bad anomaly segment"):
        inject_anomaly(np.random.default_rng(0), np.zeros((1, 50)), Anomaly("spike", 49, 52, (0,)))
