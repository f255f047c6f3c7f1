"""Random fixed-length windows of real series for pretraining.

Every window start inside the observed span of every (series[, channel]) of the pool is equally
likely, so long series contribute in proportion to their length (as when cropping a concatenated
corpus) and no window starts in trailing padding. A series shorter than the window is taken whole
and right-padded with mask False. Channel-independent sampling (the default, matching the
channel-independent encoder) draws single channels and returns (n, 1, L).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tsdividend.data.dataset import DataError, Dataset


class WindowSampler:
    """Draw windows of ``length`` steps from the ``split`` part of each dataset.

    Args:
        datasets: the pool (any tasks; labels are ignored).
        length: window length L.
        split: part of each dataset to use (``"train"`` by default: an index or time split);
            None uses everything.
        channel_independent: draw single channels (n, 1, L); else whole series (n, C, L), which
            needs the same C in every dataset.

    Raises:
        DataError: empty pool, bad length, a missing split, or mismatched channel counts.
    """

    def __init__(
        self,
        datasets: Sequence[Dataset],
        length: int,
        *,
        split: str | None = "train",
        channel_independent: bool = True,
    ) -> None:
        if length < 1:
            raise DataError(f"window length must be >= 1, got {length}")
        if not datasets:
            raise DataError("WindowSampler needs at least one dataset")
        parts = [ds if split is None else ds.subset(split) for ds in datasets]
        if not channel_independent and len({p.n_channels for p in parts}) > 1:
            counts = {p.name: p.n_channels for p in parts}
            raise DataError(f"channel counts differ ({counts}); use channel_independent=True")
        self.length = length
        self.channel_independent = channel_independent
        self._X: list[np.ndarray] = []
        self._mask: list[np.ndarray] = []
        rows: list[np.ndarray] = []  # (dataset, series, channel, n_starts) per candidate
        for d, part in enumerate(parts):
            pad = ((0, 0), (0, 0), (0, length))  # so every window slice stays in bounds
            self._X.append(np.pad(part.X, pad))
            self._mask.append(np.pad(part.mask, pad))
            observed = part.mask if channel_independent else part.mask.any(axis=1, keepdims=True)
            span = np.where(
                observed.any(-1), observed.shape[-1] - observed[..., ::-1].argmax(-1), 0
            )
            n_idx, c_idx = np.nonzero(span > 0)
            starts = np.maximum(span[n_idx, c_idx] - length + 1, 1)
            rows.append(np.stack([np.full_like(n_idx, d), n_idx, c_idx, starts], axis=1))
        self._candidates = np.concatenate(rows) if rows else np.empty((0, 4), dtype=np.int64)
        if self._candidates.shape[0] == 0:
            raise DataError("no observed values in the sampling pool")
        weights = self._candidates[:, 3].astype(np.float64)
        self._p = weights / weights.sum()

    @property
    def n_windows(self) -> int:
        """Number of distinct windows in the pool."""
        return int(self._candidates[:, 3].sum())

    def sample(self, n: int, generator: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` windows uniformly over all window positions.

        Args:
            n: number of windows.
            generator: the only source of randomness.

        Returns:
            X: float32 (n, 1, L) (channel-independent) or (n, C, L), 0.0 where not observed.
            mask: bool of the same shape.
        """
        pick = generator.choice(self._candidates.shape[0], size=n, p=self._p)
        cand = self._candidates[pick]
        starts = (generator.random(n) * cand[:, 3]).astype(np.int64)
        steps = starts[:, None] + np.arange(self.length)[None, :]
        C = 1 if self.channel_independent else self._X[0].shape[1]
        X = np.zeros((n, C, self.length), dtype=np.float32)
        mask = np.zeros((n, C, self.length), dtype=bool)
        for d in np.unique(cand[:, 0]):
            rows = np.flatnonzero(cand[:, 0] == d)
            series = cand[rows, 1][:, None, None]
            channels = cand[rows, 2][:, None, None] if self.channel_independent else np.arange(C)
            index = (series, np.reshape(channels, (-1, C, 1)), steps[rows][:, None, :])
            X[rows] = self._X[d][index]
            mask[rows] = self._mask[d][index]
        return X, mask
