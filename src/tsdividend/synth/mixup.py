"""TSMixup: convex Dirichlet combinations of mean-scaled real series (Chronos).

Ansari et al. 2024, "Chronos: Learning the Language of Time Series", Sec. 4.1 and Algorithm 1:
draw ``k ~ U{1, K}`` (K = 3) and a length ``l ~ U{l_min, l_max}``; for each of the k components pick
a dataset uniformly, a series of it uniformly, and a window of length l at a uniform start; divide
each window by its mean absolute value (mean scaling); mix with weights ``lambda ~ Dir(alpha 1_k)``
(alpha = 1.5) and return ``sum_i lambda_i x_i``. Chronos' own TSMixup code was never released
(chronos-forecasting#212); this follows the paper's algorithm.

Sources are univariate: every channel of every series of a ``Dataset`` train split is split into
its maximal runs of observed values (the mask), each run one candidate series; NaN never enters.
Only runs at least l long are eligible for a draw of length l.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class MixupConfig:
    """TSMixup options (defaults: Chronos).

    Attributes:
        datasets: dataset names whose train splits are the real sources (``generate`` and
            ``write_shards``); empty = every available classification, anomaly and forecasting
            dataset of the data root (or aeon's bundled sets). Ignored when arrays are passed.
        data_dir: data root for ``datasets`` (else ``$TSDIVIDEND_DATA``, else the user cache).
        max_components: K, the largest number of mixed series.
        alpha: Dirichlet concentration of the mixing weights.
        min_length: shortest output length; None = always the requested length. Otherwise each
            output length is uniform on ``{min_length, ..., length}``.
    """

    datasets: tuple[str, ...] = ()
    data_dir: str | None = None
    max_components: int = 3
    alpha: float = 1.5
    min_length: int | None = None

    def __post_init__(self) -> None:
        if self.max_components < 1:
            raise ValueError(f"max_components must be >= 1, got {self.max_components}")
        if self.alpha <= 0:
            raise ValueError(f"alpha must be > 0, got {self.alpha}")
        if self.min_length is not None and self.min_length < 1:
            raise ValueError(f"min_length must be >= 1 or None, got {self.min_length}")


def _runs(values: np.ndarray, observed: np.ndarray) -> list[np.ndarray]:
    """Maximal runs of observed, finite values of a 1-D series, as float64 copies."""
    ok = observed & np.isfinite(values)
    edges = np.diff(np.concatenate([[0], ok.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [values[a:b].astype(np.float64) for a, b in zip(starts, stops, strict=True)]


class MixupSources:
    """Univariate source series in groups (one group per dataset), indexed by length.

    Args:
        groups: per group, a list of 1-D float arrays (finite values).
        names: one name per group (for messages and the manifest).
    """

    def __init__(self, groups: Sequence[Sequence[np.ndarray]], names: Sequence[str]) -> None:
        self.names = list(names)
        self._groups: list[list[np.ndarray]] = []
        self._lengths: list[np.ndarray] = []
        for group in groups:
            series = sorted((np.asarray(s, np.float64) for s in group if len(s)), key=len)
            self._groups.append(series)
            self._lengths.append(np.array([len(s) for s in series], np.int64))
        if not any(self._groups):
            raise ValueError(f"no non-empty source series in {self.names}")

    @classmethod
    def from_arrays(
        cls, data: Any, mask: np.ndarray | None = None, name: str = "arrays"
    ) -> MixupSources:
        """One group from a ``Dataset``-like object (``.X`` (N, C, T), ``.mask``), an array
        (N, C, T) or (N, T) with optional bool ``mask`` of the same shape (NaN counts as
        missing), or a list of 1-D arrays."""
        if hasattr(data, "X") and hasattr(data, "mask"):
            data, mask = data.X, data.mask
        if isinstance(data, np.ndarray) and data.ndim in (2, 3):
            rows = data.reshape(-1, data.shape[-1])
            obs = (
                np.ones(rows.shape, bool)
                if mask is None
                else np.asarray(mask, bool).reshape(rows.shape)
            )
            series = [run for r, o in zip(rows, obs, strict=True) for run in _runs(r, o)]
        elif isinstance(data, np.ndarray) and data.ndim == 1:
            series = _runs(data, np.ones(len(data), bool))
        elif isinstance(data, Sequence) and not isinstance(data, str):
            series = [
                run for s in data for run in _runs(np.asarray(s, float), np.ones(len(s), bool))
            ]
        else:
            raise TypeError(
                f"cannot read series from {type(data).__name__}; pass a Dataset, an array "
                "(N, C, T) / (N, T) / (T,), or a list of 1-D arrays"
            )
        return cls([series], [name])

    @classmethod
    def from_datasets(cls, names: Sequence[str], data_dir: str | None = None) -> MixupSources:
        """Train splits of named datasets (``tsdividend.data.load_dataset``), one group each."""
        return _load_sources(tuple(names), data_dir)

    def max_length(self) -> int:
        """Length of the longest source series."""
        return int(max((lengths[-1] for lengths in self._lengths if len(lengths)), default=0))

    def fingerprint(self) -> str:
        """sha256 over every group's series (order and values): identifies the source data."""
        digest = hashlib.sha256()
        for name, group in zip(self.names, self._groups, strict=True):
            digest.update(name.encode())
            for s in group:
                digest.update(np.int64(len(s)).tobytes())
                digest.update(np.ascontiguousarray(s).tobytes())
        return digest.hexdigest()

    def draw_window(self, rng: np.random.Generator, length: int) -> np.ndarray:
        """A uniform window of ``length`` from a uniform eligible series of a uniform group."""
        eligible = [
            g for g, lengths in enumerate(self._lengths) if len(lengths) and lengths[-1] >= length
        ]
        if not eligible:
            raise ValueError(
                f"no source series is >= {length} steps long (longest: {self.max_length()} in "
                f"{self.names}); use a shorter length or longer datasets"
            )
        g = eligible[int(rng.integers(len(eligible)))]
        first = int(np.searchsorted(self._lengths[g], length))  # series sorted by length
        series = self._groups[g][int(rng.integers(first, len(self._groups[g])))]
        start = int(rng.integers(0, len(series) - length + 1))
        return series[start : start + length]


@functools.lru_cache(maxsize=8)
def _load_sources(names: tuple[str, ...], data_dir: str | None) -> MixupSources:
    from tsdividend.data import list_datasets, load_dataset  # lazy: data is heavier than synth

    if not names:
        names = tuple(
            row["name"]
            for row in list_datasets(data_dir)
            if row["available"] and row["task"] in ("classification", "anomaly", "forecasting")
        )
    if not names:
        raise ValueError("no dataset available as TSMixup source; pass datasets or a data_dir")
    groups = []
    for name in names:
        train = load_dataset(name, data_dir).subset("train")
        groups.append(MixupSources.from_arrays(train.X, train.mask, name)._groups[0])
    return MixupSources(groups, names)


def resolve_sources(config: MixupConfig, sources: Any = None) -> MixupSources:
    """``sources`` as :class:`MixupSources` (arrays accepted), else the config's datasets."""
    if sources is None:
        data_dir = None if config.data_dir is None else str(Path(config.data_dir))
        return _load_sources(tuple(config.datasets), data_dir)
    return sources if isinstance(sources, MixupSources) else MixupSources.from_arrays(sources)


def tsmixup(
    rng: np.random.Generator,
    sources: Any,
    length: int,
    config: MixupConfig = MixupConfig(),
) -> np.ndarray:
    """One TSMixup series (Chronos Algorithm 1).

    Args:
        rng: source of every draw (k, length, per component: group, series, start; then weights).
        sources: :class:`MixupSources`, or anything :meth:`MixupSources.from_arrays` reads.
        length: output length (the maximum when ``config.min_length`` is set).
        config: TSMixup options.

    Returns:
        float64 (l,), l = length, or uniform on ``{min_length, ..., length}``.
    """
    pool = sources if isinstance(sources, MixupSources) else MixupSources.from_arrays(sources)
    if length < 1:
        raise ValueError(f"length must be >= 1, got {length}")
    lo = length if config.min_length is None else min(config.min_length, length)
    k = int(rng.integers(1, config.max_components + 1))
    size = int(rng.integers(lo, length + 1))
    parts = []
    for _ in range(k):
        window = pool.draw_window(rng, size)
        scale = float(np.mean(np.abs(window)))
        parts.append(window / scale if scale > 0 else window)  # an all-zero window stays zero
    weights = rng.dirichlet(np.full(k, config.alpha))
    return weights @ np.stack(parts)
