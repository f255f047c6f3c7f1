"""Pretraining sources: a bounded synthetic corpus repeats, the unbounded stream does not."""

from __future__ import annotations

import numpy as np
import pytest

from tsdividend.train.sources import DataConfig, PretrainSource


def test_bounded_corpus_repeats_every_n_samples() -> None:
    src = PretrainSource(DataConfig(context=64, synth_corpus_size=12), seed=3, global_batch=8)
    x0, _ = src.batch(0, 0, 8)  # samples 0..7
    x1, _ = src.batch(1, 0, 8)  # samples 8..15 = series 8..11, 0..3
    np.testing.assert_array_equal(x1[4:], x0[:4])
    assert not np.array_equal(x1[:4], x0[:4])


def test_unbounded_stream_never_repeats_and_matches_bounded_before_wrapping() -> None:
    free = PretrainSource(DataConfig(context=64), seed=3, global_batch=8)
    bounded = PretrainSource(DataConfig(context=64, synth_corpus_size=12), seed=3, global_batch=8)
    a, _ = free.batch(1, 0, 8)
    b, _ = bounded.batch(1, 0, 8)
    np.testing.assert_array_equal(a[:4], b[:4])  # series 8..11 in both
    assert not np.array_equal(a[4:], b[4:])  # 12..15 vs 0..3


def test_corpus_size_is_validated() -> None:
    with pytest.raises(ValueError, match="synth_corpus_size"):
        DataConfig(synth_corpus_size=-1)
    with pytest.raises(ValueError, match="real"):
        DataConfig(source="real", synth_corpus_size=10)


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> str:
    """40 KernelSynth series of 64 steps under seed 3, in shards of 16 (the last one short)."""
    from tsdividend.synth.shards import write_shards

    out = tmp_path_factory.mktemp("corpus")
    write_shards("kernelsynth", 40, 64, out, seed=3, shard_size=16, progress=False)
    return str(out)


def _batches(src: PretrainSource, steps: int, size: int) -> list[np.ndarray]:
    return [src.batch(step, shard, size)[0] for step in range(steps) for shard in range(2)]


def test_shards_give_the_batches_of_generation_with_the_same_seed(stored: str) -> None:
    """Sample i of a stored corpus is sample i of on-the-fly generation under the corpus seed,
    across shard boundaries and past the end (the corpus repeats like a bounded one)."""
    on_disk = PretrainSource(DataConfig(context=64, synth_path=stored), seed=99, global_batch=12)
    generated = PretrainSource(
        DataConfig(context=64, synth_corpus_size=40), seed=3, global_batch=12
    )
    for a, b in zip(_batches(on_disk, 6, 6), _batches(generated, 6, 6), strict=True):
        np.testing.assert_array_equal(a, b)  # 72 samples: shards 0-2 then a wrap to series 0


def test_shards_bounded_by_corpus_size(stored: str) -> None:
    small = PretrainSource(
        DataConfig(context=64, synth_path=stored, synth_corpus_size=10), seed=0, global_batch=12
    )
    x0, x1 = small.batch(0, 0, 12)[0], small.batch(1, 0, 12)[0]  # samples 0..11, 12..23
    np.testing.assert_array_equal(x0[10:], x0[:2])
    np.testing.assert_array_equal(x1[:8], x0[2:10])


def test_a_mismatched_corpus_is_refused_before_training(stored: str, tmp_path) -> None:
    with pytest.raises(ValueError, match="64 steps but data.context is 128"):
        PretrainSource(DataConfig(context=128, synth_path=stored), seed=0, global_batch=4)
    with pytest.raises(ValueError, match="'kernelsynth' corpus but data.synth_kind is 'lmc'"):
        PretrainSource(
            DataConfig(context=64, synth_path=stored, synth_kind="lmc"), seed=0, global_batch=4
        )
    with pytest.raises(ValueError, match="exceeds the 40 samples"):
        PretrainSource(
            DataConfig(context=64, synth_path=stored, synth_corpus_size=41), seed=0, global_batch=4
        )
    with pytest.raises(FileNotFoundError, match="manifest.json"):
        PretrainSource(DataConfig(context=64, synth_path=str(tmp_path)), seed=0, global_batch=4)
    with pytest.raises(ValueError, match="source 'real'"):
        DataConfig(source="real", synth_path=stored)


def test_a_corrupted_shard_is_named(stored: str, tmp_path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(stored, copy)
    shard = copy / "shard-00001.parquet"
    shard.write_bytes(shard.read_bytes()[:-8] + b"\0" * 8)
    src = PretrainSource(DataConfig(context=64, synth_path=str(copy)), seed=0, global_batch=8)
    src.batch(0, 0, 8)  # shard 0 is intact
    with pytest.raises(ValueError, match="shard-00001.parquet does not match its sha256"):
        src.batch(2, 0, 8)


def test_the_hash_of_configs_without_a_stored_corpus_is_unchanged(stored: str) -> None:
    """synth_path joined DataConfig after configs were hashed: unset, it is not hashed."""
    from tsdividend.config import _hashed, config_hash

    assert "synth_path" not in _hashed(DataConfig())
    assert config_hash(DataConfig()) != config_hash(DataConfig(synth_path=stored))


def test_reading_later_shards_never_reloads_the_first(stored: str, tmp_path) -> None:
    """The channel count is read once: with one shard in memory, batches from shards 1-2 must
    not go back to shard 0 (here corrupted after the first read, so a reload would raise)."""
    import shutil

    from tsdividend.synth.shards import ShardCorpus

    copy = tmp_path / "copy"
    shutil.copytree(stored, copy)
    corpus = ShardCorpus(copy, cache_shards=1)
    assert corpus.n_samples == 40
    shard0 = copy / "shard-00000.parquet"
    shard0.write_bytes(shard0.read_bytes()[:-8] + b"\0" * 8)
    for lo in (16, 24, 32):
        assert corpus.univariate(np.arange(lo, lo + 8)).shape == (8, 64)


def test_run_ahead_keeps_order_raises_errors_and_stops_when_closed() -> None:
    import threading
    import time

    from tsdividend.train.sources import run_ahead

    assert list(run_ahead(range(50), depth=3)) == list(range(50))

    def broken():
        yield 1
        raise ValueError("bad batch 2")

    it = run_ahead(broken())
    assert next(it) == 1
    with pytest.raises(ValueError, match="bad batch 2"):
        next(it)
    before = threading.active_count()
    endless = run_ahead(iter(int, 1))  # never ends
    next(endless)
    endless.close()
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= before  # the producer thread ended


def test_periodic_sampler_cache_is_bounded_by_bytes_and_exact() -> None:
    import numpy as np

    from tsdividend.synth import lines

    calls = []

    class Big:
        def __init__(self, n: int) -> None:
            self.nbytes = n

    cache = lines.BytesLRU(lambda k: calls.append(k) or Big(40), limit=100)
    for k in (1, 2, 1, 3, 1):  # 3 entries exceed 100 bytes: the least recent (2) goes
        cache(k)
    assert calls == [1, 2, 3] and cache._bytes == 80
    cache(2)
    assert calls == [1, 2, 3, 2]
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    from tsdividend.synth.kernelsynth import sample_kernelsynth

    a = [sample_kernelsynth(rng_a, 100) for _ in range(50)]
    lines.periodic_sampler.cache_clear()
    b = [sample_kernelsynth(rng_b, 100) for _ in range(50)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))  # cached = fresh
