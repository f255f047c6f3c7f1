"""One generation path: a corpus written to disk, the on-the-fly stream and the trainer's
synthetic batches hold the same numbers for the same indices; the series cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tsdividend.synth import SynthStream, read_shards, write_shards
from tsdividend.synth.corpus import SeriesCache, SynthCorpus
from tsdividend.train.sources import DataConfig, PretrainSource


def test_shards_stream_and_trainer_batches_are_the_same_series(tmp_path: Path) -> None:
    n, length, seed = 20, 64, 3
    write_shards("kernelsynth", n, length, tmp_path, seed=seed, shard_size=8, progress=False)
    disk = np.stack([r.values for r in read_shards(tmp_path)])  # (n, 1, L)
    stream = np.stack([x.numpy() for x in SynthStream("kernelsynth", length, seed, stop=n)])
    source = PretrainSource(DataConfig(context=length), seed=seed, global_batch=n)
    x, mask = source.batch(0, 0, n)  # samples 0..n-1 = series 0..n-1
    np.testing.assert_array_equal(disk, stream)
    np.testing.assert_array_equal(x, disk)
    assert mask.all() and len({row.tobytes() for row in x}) == n  # n distinct series
    x2, _ = source.batch(1, 1, 4)  # step 1, shard 1 of 4: samples 24..27, beyond the shards
    corpus = SynthCorpus.of("kernelsynth", seed, length)
    expected = np.stack([corpus.sample(i).values[0] for i in range(24, 28)])
    np.testing.assert_array_equal(x2[:, 0], expected)


def test_trainer_takes_the_channels_of_a_multivariate_series_in_order(tmp_path: Path) -> None:
    length, seed = 32, 1
    write_shards("lmc", 2, length, tmp_path, seed=seed, progress=False)  # 160 channels each
    channels = np.concatenate([r.values for r in read_shards(tmp_path)])  # (320, L)
    n = channels.shape[0]
    source = PretrainSource(DataConfig(context=length, synth_kind="lmc"), seed=seed, global_batch=n)
    x, _ = source.batch(0, 0, n)
    np.testing.assert_array_equal(x[:, 0], channels)  # sample j = channel j % C of series j // C


def test_bounded_trainer_corpus_repeats_the_written_corpus(tmp_path: Path) -> None:
    write_shards("kernelsynth", 5, 32, tmp_path, seed=2, progress=False)
    disk = np.concatenate([r.values for r in read_shards(tmp_path)])
    cfg = DataConfig(context=32, synth_corpus_size=5)
    x, _ = PretrainSource(cfg, seed=2, global_batch=12).batch(0, 0, 12)
    np.testing.assert_array_equal(x[:, 0], disk[np.arange(12) % 5])


def test_corpus_series_through_a_cache_are_the_same_and_read_only() -> None:
    corpus = SynthCorpus.of("kernelsynth", 0, 48)
    cache = SeriesCache(max_bytes=10**6)
    first = corpus.series(7, cache)
    assert corpus.series(7, cache) is first and len(cache) == 1  # the second read is a hit
    np.testing.assert_array_equal(first, corpus.sample(7).values)
    with pytest.raises(ValueError, match="read-only"):
        first[0, 0] = 1.0
    other = SynthCorpus.of("kernelsynth", 1, 48)  # another seed is another key
    assert not np.array_equal(other.series(7, cache), first) and len(cache) == 2
    mixed = SynthCorpus.of("mixup", 0, 48, sources=np.ones((3, 1, 60)))
    mixed.series(0, cache)
    assert len(cache) == 2  # explicit sources are no cache key: never cached


def test_series_cache_evicts_the_least_recently_used() -> None:
    cache = SeriesCache(max_bytes=3 * 80)  # three float64 arrays of 10 values
    for k in "abc":
        cache.put(k, np.zeros(10))
    assert cache.get("a") is not None  # "a" becomes the most recent
    cache.put("d", np.zeros(10))
    assert cache.get("b") is None and all(cache.get(k) is not None for k in "acd")
    cache.put("big", np.zeros(100))  # larger than the whole budget: skipped
    assert cache.get("big") is None and len(cache) == 3
