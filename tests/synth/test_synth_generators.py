"""KernelSynth / LMC / TSMixup generators and the per-index entry point."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tsdividend.config import ConfigError
from tsdividend.synth import (
    KINDS,
    LMCConfig,
    MixupConfig,
    MixupSources,
    generate,
    generate_sample,
    sample_kernelsynth,
    sample_lmc,
    tsmixup,
)
from tsdividend.synth.lmc import draw_n_latents, latent_bounds


def test_kernelsynth_shape_and_finiteness() -> None:
    for i in range(20):
        x = sample_kernelsynth(np.random.default_rng(i), 1 + 37 * i)
        assert x.shape == (1 + 37 * i,) and np.isfinite(x).all()


def test_lmc_rank_equals_number_of_latents() -> None:
    # W (C, K) has full column rank a.s. and the K latent paths are independent, so the (C, T)
    # output has rank K when K < C: an independent check of the W @ latents structure.
    cfg = LMCConfig(n_channels=12)
    for seed in range(5):
        x = sample_lmc(np.random.default_rng(seed), 200, config=cfg)
        k = draw_n_latents(np.random.default_rng(seed), 12, cfg)  # the first draw of sample_lmc
        assert x.shape == (12, 200)
        sv = np.linalg.svd(x, compute_uv=False)
        assert int((sv > 1e-8 * sv[0]).sum()) <= k


def test_lmc_latent_count_distribution() -> None:
    # K = round(Weibull(1.5) * 2 + 1) clipped to [max(2, C // 20), C]: compare with the exact
    # probabilities from the Weibull CDF F(w) = 1 - exp(-w^1.5).
    cfg, c, n = LMCConfig(), 40, 4000
    lo, hi = latent_bounds(c)
    assert (lo, hi) == (2, 40) and latent_bounds(160) == (8, 160) and latent_bounds(1) == (1, 1)
    rng = np.random.default_rng(0)
    ks = np.array([draw_n_latents(rng, c, cfg) for _ in range(n)])

    def cdf(k: float) -> float:  # P(round(2W + 1) <= k) = P(W < (k + 0.5 - 1) / 2)
        w = max((k - 0.5) / 2.0, 0.0)
        return 1.0 - math.exp(-(w**1.5))

    for k in range(lo, 8):
        p = cdf(k) if k == lo else cdf(k) - cdf(k - 1)
        assert abs((ks == k).mean() - p) <= 5 * math.sqrt(p * (1 - p) / n)


def test_tsmixup_of_constant_series_is_exactly_one() -> None:
    # Mean scaling turns every window of a positive constant series into ones; a convex
    # combination of ones is ones, whatever k and the Dirichlet weights.
    sources = [np.full(50, c) for c in (0.5, 3.0, 7.0, 100.0)]
    for seed in range(10):
        x = tsmixup(np.random.default_rng(seed), sources, 40)
        np.testing.assert_allclose(x, 1.0, rtol=1e-12)


def test_tsmixup_single_component_is_a_scaled_window() -> None:
    rng = np.random.default_rng(0)
    series = rng.standard_normal(300).cumsum() + 50.0
    x = tsmixup(np.random.default_rng(1), [series], 64, MixupConfig(max_components=1))
    windows = np.lib.stride_tricks.sliding_window_view(series, 64)
    scaled = windows / np.abs(windows).mean(axis=1, keepdims=True)
    assert np.isclose(scaled, x).all(axis=1).any()
    assert np.isclose(np.abs(x).mean(), 1.0)


def test_tsmixup_lengths_masks_and_errors() -> None:
    data = np.random.default_rng(0).standard_normal((6, 2, 120))
    mask = np.ones_like(data, bool)
    mask[:, :, 100:] = False  # padded tail
    data[0, 0, 50] = np.nan  # a hole: splits that row into two runs
    pool = MixupSources.from_arrays(data, mask)
    cfg = MixupConfig(min_length=30)
    lengths = {len(tsmixup(np.random.default_rng(s), pool, 90, cfg)) for s in range(40)}
    assert min(lengths) >= 30 and max(lengths) <= 90 and len(lengths) > 5
    assert all(np.isfinite(tsmixup(np.random.default_rng(s), pool, 90)).all() for s in range(20))
    with pytest.raises(ValueError, match="no source series is >= 101"):
        tsmixup(np.random.default_rng(0), pool, 101)


def test_mixup_from_a_named_dataset() -> None:
    x = generate("mixup", 4, 0, 100, datasets=["ucr/GunPoint"])  # bundled with aeon
    assert x.shape == (1, 100) and x.dtype == np.float32 and np.isfinite(x).all()


@pytest.mark.parametrize("kind", KINDS)
def test_generate_is_a_pure_function_of_seed_and_index(kind: str) -> None:
    opts = {"n_channels": 3} if kind == "lmc" else {}
    if kind == "mixup":
        opts["sources"] = np.random.default_rng(9).standard_normal((5, 1, 200))
    a = [generate(kind, i, 7, 64, **dict(opts)) for i in (0, 1, 2, 3)]
    b = [generate(kind, i, 7, 64, **dict(opts)) for i in (3, 2, 1, 0)][::-1]  # other order
    for x, y in zip(a, b, strict=True):
        assert x.dtype == np.float32 and np.array_equal(x, y)
    assert not np.array_equal(a[0], a[1])
    assert not np.array_equal(a[0], generate(kind, 0, 8, 64, **dict(opts)))


def test_anomaly_kind_injects_into_the_kernelsynth_series() -> None:
    clean = generate("kernelsynth", 5, 3, 128)
    sample = generate_sample("anomaly", 5, 3, 128)
    assert sample.labels is not None and sample.labels.any()
    changed = (sample.values != clean)[0]
    assert changed.any() and not changed[sample.labels == 0].any()


def test_bad_kind_and_option_errors_name_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="valid: kernelsynth, lmc, mixup, anomaly"):
        generate("gp", 0, 0, 10)
    with pytest.raises(ConfigError, match="n_channels"):
        generate("lmc", 0, 0, 10, n_chanels=3)
    with pytest.raises(ValueError, match=">= 0"):
        generate("kernelsynth", -1, 0, 10)
