"""The real pretraining corpus: degenerate windows filtered and counted exactly, the corpus
description, and its place in the run's meta."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tsdividend.data import DataError, from_numpy
from tsdividend.data.sampler import RULES, WindowFilter, WindowSampler, window_flags
from tsdividend.encoder import EncoderConfig
from tsdividend.train import sources
from tsdividend.train.sources import DataConfig, describe_corpus, family
from tsdividend.train.trainer import TrainConfig, train

T, L = 80, 32
N_STARTS = T - L + 1


def _degenerate_pool() -> np.ndarray:
    """Series 0 constant, 1 flat with two steps, 2 a noisy sine with 80% missing steps (NaN),
    3 a random walk: the only one whose windows should all be kept."""
    rng = np.random.default_rng(0)
    x = np.empty((4, T))
    x[0] = 3.5
    x[1] = 0.0
    x[1, 40:] = 1.0
    x[1, 60] = 5.0
    x[2] = np.sin(np.arange(T) / 3) + 0.1 * rng.standard_normal(T)
    x[2, rng.random(T) < 0.8] = np.nan
    x[2, 0] = x[2, T - 1] = 0.5  # observed at both ends: the span stays the whole series
    x[3] = np.cumsum(rng.standard_normal(T))
    return x


def test_constant_flat_and_missing_windows_are_dropped_and_counted():
    ds = from_numpy(_degenerate_pool(), min_length=1)
    sampler = WindowSampler([ds], L, split=None, window_filter=WindowFilter())
    counts = sampler.counts()[0]
    assert counts["windows"] == 4 * N_STARTS and counts["series"] == 4
    # series 0, and the 9 windows of series 1 inside its first 40 zeros (a window counts under
    # the first rule it breaks); series 1's other windows: >= 90% of steps repeat the previous
    assert counts["constant"] == N_STARTS + 9
    assert counts["flat"] == N_STARTS - 9
    assert counts["mostly_missing"] == N_STARTS  # series 2
    assert counts["kept"] == N_STARTS == sampler.n_windows
    assert sum(counts[r] for r in RULES) + counts["kept"] == counts["windows"]
    X, mask = sampler.sample(300, np.random.default_rng(1))
    walk = _degenerate_pool()[3].astype(np.float32)
    starts = [int(np.argmin(np.abs(walk - row[0]))) for row in X[:, 0]]
    np.testing.assert_array_equal(X[:, 0], np.stack([walk[s : s + L] for s in starts]))
    assert mask.all()
    unfiltered = WindowSampler([ds], L, split=None)
    assert unfiltered.n_windows == 4 * N_STARTS and unfiltered.counts()[0]["kept"] == 4 * N_STARTS


def _brute_flags(x: np.ndarray, m: np.ndarray, span: int, rule: WindowFilter) -> list[int]:
    out = []
    for s in range(len(x) - L + 1):
        xs, ms = x[s : s + L], m[s : s + L]
        in_span = min(max(span - s, 1), L)
        vals = xs[ms]
        pairs = ms[1:] & ms[:-1]
        same = pairs & (xs[1:] == xs[:-1])
        if ms.sum() < rule.min_observed * in_span:
            out.append(1)
        elif vals.size and np.ptp(vals) <= rule.constant_rtol * np.abs(vals).max():
            out.append(2)
        elif pairs.sum() and same.sum() >= rule.max_flat * pairs.sum():
            out.append(3)
        else:
            out.append(0)
    return out


def test_rolling_flags_equal_a_per_window_loop():
    rng = np.random.default_rng(5)
    length = 200
    x = np.round(rng.standard_normal((6, length)), 1)  # coarse values: some repeats
    x[1, 50:150] = 2.0  # a flat stretch
    x[2] = 7.0
    m = rng.random((6, length)) > 0.15
    m[3, 20:120] = False  # a long gap
    rule = WindowFilter()
    pad_x = np.pad(x, ((0, 0), (0, L)))
    pad_m = np.pad(m, ((0, 0), (0, L)))
    span = np.full(6, length)
    flags = window_flags(pad_x[:, :length], pad_m[:, :length], span, L, rule)
    for r in range(6):
        assert flags[r].tolist() == _brute_flags(x[r], m[r], length, rule), r
    assert set(np.unique(flags)) == {0, 1, 2, 3}  # every rule fires somewhere


def test_short_series_are_not_mostly_missing_and_all_dropped_is_an_error():
    short = from_numpy(np.sin(np.arange(12.0))[None], min_length=1)  # 12 steps in a 32 window
    sampler = WindowSampler([short], L, split=None, window_filter=WindowFilter())
    assert sampler.counts()[0]["kept"] == 1
    with pytest.raises(DataError, match="no window"):
        WindowSampler([from_numpy(np.full((2, T), 1.0))], L, split=None,
                      window_filter=WindowFilter())  # fmt: skip
    with pytest.raises(DataError, match="min_observed"):
        WindowFilter(min_observed=1.5)


def _pool_with_splits():
    x = _degenerate_pool()
    ds = from_numpy(x, min_length=1)
    ds.name = "anomaly/msl/X-1"
    ds.splits = {"train": np.array([0, 1, 3]), "test": np.array([2])}
    walk = from_numpy(np.cumsum(np.random.default_rng(2).standard_normal((3, T)), 1))
    walk.name = "ucr/Walk"
    walk.splits = {"train": np.array([0, 1]), "test": np.array([2])}
    return [ds, walk]


def test_describe_corpus_lists_datasets_rules_and_counts(monkeypatch):
    monkeypatch.setattr(sources, "real_corpus", lambda names, data_dir: _pool_with_splits())
    d = describe_corpus(DataConfig(source="mix", context=L, synthetic_ratio=0.25))
    assert d["source"] == "mix" and d["synthetic"]["share"] == 0.25
    real = d["real"]
    assert real["datasets"] == ["anomaly/msl/X-1", "ucr/Walk"] and real["n_datasets"] == 2
    assert real["split"].startswith("train") and real["share"] == 0.75
    assert set(real["filters"]) == set(RULES)
    c = real["counts"]
    assert c["series"] == 5 and c["windows"] == 5 * N_STARTS  # train rows only (3 + 2)
    assert (c["constant"], c["flat"], c["mostly_missing"]) == (N_STARTS + 9, N_STARTS - 9, 0)
    assert c["kept"] == 3 * N_STARTS
    fam = real["families"]
    assert fam["anomaly/msl"]["kept"] == N_STARTS and fam["ucr"]["share"] == pytest.approx(
        2 / 3, abs=1e-3
    )
    assert [p["name"] for p in real["per_dataset"]] == real["datasets"]
    off = describe_corpus(DataConfig(source="real", context=L, filter_windows=False))
    assert off["real"]["filters"] == {} and off["real"]["counts"]["kept"] == 5 * N_STARTS
    assert describe_corpus(DataConfig(context=L)) == {
        "source": "synthetic", "context": L,
        "synthetic": {"generator": "kernelsynth", "series": "a fresh series for every sample",
                      "share": 1.0}}  # fmt: skip
    assert family("anomaly/nab/realTweets/x") == "anomaly/nab" and family("forecast/ILI") == (
        "forecast"
    )


def test_run_meta_holds_the_corpus(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "real_corpus", lambda names, data_dir: _pool_with_splits())
    enc = EncoderConfig(d_model=16, depth=1, n_heads=2, dropout=0.0, max_len=16)
    cfg = TrainConfig(objective="mae", encoder=enc, steps=2, batch_size=4,
                      data=DataConfig(source="real", context=L), device="cpu",
                      precision="fp32", diag_every=0, checkpoint_every=2)  # fmt: skip
    train(cfg, tmp_path, progress=False)
    meta = json.loads((tmp_path / "encoder.json").read_text())
    corpus = meta["corpus"]
    assert corpus["source"] == "real"
    for key in ("split", "datasets", "sampling", "weighting", "filters", "counts", "families"):
        assert key in corpus["real"], key
    assert corpus["real"]["counts"]["kept"] == 3 * N_STARTS
    state = json.loads(next((tmp_path / "checkpoints").glob("step-*/state.json")).read_text())
    assert state["corpus"] == corpus
