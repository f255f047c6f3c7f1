"""One synthetic corpus by index: the single generation path of shards, streams and pretraining.

A corpus is ``(kind, seed, length, config)`` (plus, for ``mixup``, the real series it mixes);
series ``i`` is :func:`~tsdividend.synth.generate.generate_sample` of that tuple and ``i``. Every
consumer reads series through :class:`SynthCorpus`:

- :func:`~tsdividend.synth.shards.write_shards` stores rows ``i`` = :meth:`SynthCorpus.sample`;
- :class:`~tsdividend.synth.stream.SynthStream` yields the same samples on the fly;
- the trainer's ``PretrainSource`` (``tsdividend.train.sources``) takes univariate training
  samples from :meth:`SynthCorpus.univariate`: sample ``j`` is channel ``j mod C`` of series
  ``j // C`` (C = channels of a series; 1 except for LMC).

So a corpus written to disk, streamed, or drawn by the trainer holds the same numbers for the same
indices (tests/synth/test_synth_corpus.py checks it).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from tsdividend.synth.generate import KindConfig, SynthSample, generate_sample, resolve_config


class SeriesCache:
    """Generated series (read-only float32 arrays) by key, least recently used evicted beyond
    ``max_bytes``.

    Generation (~1-2 ms a KernelSynth series) dominates small-encoder pretraining on a CPU; with a
    process-wide cache a finite corpus is generated once per process and reused by every run in
    it that draws the same corpus.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        self._bytes = 0

    def get(self, key: Hashable) -> np.ndarray | None:
        """The cached array of ``key`` (now most recently used), or None."""
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def put(self, key: Hashable, value: np.ndarray) -> None:
        """Keep ``value`` (made read-only) under ``key``; arrays above ``max_bytes`` are skipped."""
        if value.nbytes > self.max_bytes or key in self._items:
            return
        value.setflags(write=False)
        self._items[key] = value
        self._bytes += value.nbytes
        while self._bytes > self.max_bytes:
            _, old = self._items.popitem(last=False)
            self._bytes -= old.nbytes

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True)
class SynthCorpus:
    """Series ``i`` of kind ``kind`` under ``seed``, length ``length``, deterministic per index.

    Attributes:
        kind: one of :data:`~tsdividend.synth.generate.KINDS`.
        seed: corpus seed >= 0.
        length: series length T.
        config: the kind's resolved config.
        sources: kind ``mixup`` only: its real series (``MixupSources`` or arrays); None = the
            config's ``datasets`` (loaded on first use).
    """

    kind: str
    seed: int
    length: int
    config: KindConfig
    sources: Any = field(default=None, compare=False)

    @classmethod
    def of(
        cls,
        kind: str,
        seed: int,
        length: int,
        options: Mapping[str, Any] | KindConfig | None = None,
        sources: Any = None,
    ) -> SynthCorpus:
        """The corpus of ``kind`` with keyword ``options`` (validated: unknown keys and kinds are
        errors naming the valid ones)."""
        return cls(kind, int(seed), int(length), resolve_config(kind, options), sources)

    def sample(self, index: int) -> SynthSample:
        """Series ``index``: float32 values (C, T) and, for kind ``anomaly``, uint8 labels (T,)."""
        return generate_sample(self.kind, index, self.seed, self.length, self.config, self.sources)

    def samples(self, indices: Iterable[int]) -> Iterator[SynthSample]:
        """:meth:`sample` of each index, in order."""
        for i in indices:
            yield self.sample(i)

    def series(self, index: int, cache: SeriesCache | None = None) -> np.ndarray:
        """Values (C, T) float32 of series ``index``, through ``cache`` when given (then
        read-only). Corpora with explicit ``sources`` are never cached (arrays are no key)."""
        if cache is None or self.sources is not None:
            return self.sample(index).values
        key = (self.kind, index, self.seed, self.length, self.config)
        values = cache.get(key)
        if values is None:
            values = self.sample(index).values
            cache.put(key, values)
        return values

    @cached_property
    def n_channels(self) -> int:
        """Channels C of a series (read off series 0 once)."""
        return int(self.sample(0).values.shape[0])

    def univariate(self, indices: np.ndarray, cache: SeriesCache | None = None) -> np.ndarray:
        """Univariate samples: sample ``j`` is channel ``j mod C`` of series ``j // C``.

        Args:
            indices: int sample indices (n,), each >= 0.
            cache: optional :class:`SeriesCache` for the series.

        Returns:
            float32 (n, T).
        """
        return univariate_samples(
            lambda k: self.series(k, cache), self.n_channels, self.length, indices
        )


def univariate_samples(
    series: Callable[[int], np.ndarray], n_channels: int, length: int, indices: np.ndarray
) -> np.ndarray:
    """Univariate training samples of a corpus of (C, T) series: sample ``j`` is channel
    ``j mod C`` of series ``j // C`` (the one mapping of generated and stored corpora).

    Args:
        series: series index -> float32 (C, T) values.
        n_channels: C.
        length: T.
        indices: int sample indices (n,), each >= 0.

    Returns:
        float32 (n, T).
    """
    out = np.empty((indices.size, length), np.float32)
    for row, j in enumerate(indices.tolist()):
        k, c = divmod(j, n_channels)
        out[row] = series(k)[c]
    return out
