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
