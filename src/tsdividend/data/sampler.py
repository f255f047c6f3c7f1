"""Random fixed-length windows of real series for pretraining, degenerate windows filtered out.

Every window start inside the observed span of every (series[, channel]) of the pool is a
candidate; the sampler draws uniformly over the candidates that pass the :class:`WindowFilter`, so
long series contribute in proportion to their length (as when cropping a concatenated corpus) and
no window starts in trailing padding. A series shorter than the window is taken whole and
right-padded with mask False. Channel-independent sampling (the default, matching the
channel-independent encoder) draws single channels and returns (n, 1, L).

The filter is decided exactly for every candidate window once, at construction (rolling sums and
rolling extrema, O(T) per series), so the counts of kept and dropped windows are exact and a draw
costs one integer per window. Why each rule exists (measured on the development data, see
docs/data.md): 85% of the MSL windows (79% of the unfiltered corpus, its command channels) were
exactly constant and 97% flat; they teach nothing, and under a masked or causal objective a rare
jump after a flat visible part is an unpredictable target of enormous normalised size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import maximum_filter1d, minimum_filter1d

from tsdividend.data.dataset import DataError, Dataset

RULES = ("mostly_missing", "constant", "flat")


@dataclass(frozen=True)
class WindowFilter:
    """Rules that drop degenerate windows, applied in the order of ``RULES`` (a window is counted
    under the first rule it breaks).

    Attributes:
        min_observed: drop a window when fewer than this share of its in-span steps (the steps
            before the end of its series; trailing padding of a short series does not count) are
            observed: instance statistics from a few steps are noise and most tokens would be
            padding. 0 disables the rule.
        constant_rtol: drop a window whose observed values span at most ``constant_rtol`` times
            their largest magnitude (float32 resolution is ~1.2e-7): it normalises to all zeros,
            every such window gives the same tokens, and it carries no shape. Negative disables.
        max_flat: drop a window when at least this share of its consecutive observed pairs repeat
            the previous value exactly (a stuck sensor, a binary flag, a flat line with a few
            steps): after instance normalisation it is a flat line plus a few jumps of size up to
            sqrt(L), which reconstruction objectives cannot predict from the visible part and
            latent objectives cannot tell apart. Values > 1 disable.
    """

    min_observed: float = 0.5
    constant_rtol: float = 1e-6
    max_flat: float = 0.9

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_observed <= 1.0:
            raise DataError(f"min_observed must be in [0, 1], got {self.min_observed}")
        if not 0.0 < self.max_flat:
            raise DataError(f"max_flat must be > 0 (> 1 disables), got {self.max_flat}")

    @classmethod
    def off(cls) -> WindowFilter:
        """A filter that keeps every window (the unfiltered corpus)."""
        return cls(min_observed=0.0, constant_rtol=-1.0, max_flat=2.0)

    def describe(self) -> dict[str, str]:
        """One sentence per rule (with its threshold) for run metadata and reports."""
        return {
            "mostly_missing": f"fewer than {self.min_observed:.0%} of the window's in-span steps "
            "observed: instance statistics from a few steps, mostly padded tokens",
            "constant": f"observed values span <= {self.constant_rtol:g} x their largest "
            "magnitude: normalises to all zeros, no shape",
            "flat": f">= {self.max_flat:.0%} of consecutive observed steps repeat the previous "
            "value exactly (stuck sensors, binary flags): a flat line with a few unpredictable "
            "jumps of normalised size up to sqrt(L)",
        }


def window_flags(
    values: np.ndarray, observed: np.ndarray, span: np.ndarray, length: int, rule: WindowFilter
) -> np.ndarray:
    """The first rule each candidate window breaks.

    Args:
        values: (R, T + length) float rows (already right-padded with ``length`` unobserved steps).
        observed: (R, T + length) bool.
        span: (R,) int, end of each row's observed span (starts in ``[0, max(span - L, 0)]``).
        length: window length L.
        rule: the :class:`WindowFilter`.

    Returns:
        (R, T + 1) int8: 0 = keep, ``1 + RULES.index(rule)`` = dropped by that rule; entries past
        a row's last start are meaningless (the caller ignores them).
    """
    r, t_pad = values.shape
    n_starts = t_pad - length + 1
    starts = np.arange(n_starts)
    in_span = np.clip(span[:, None] - starts[None, :], 1, length)
    n_obs = rolling_sum(observed, length, n_starts)
    pair = observed[:, 1:] & observed[:, :-1]  # pair j = steps (j, j + 1)
    same = pair & (values[:, 1:] == values[:, :-1])
    # window [s, s + L - 1] holds pairs s .. s + L - 2: a rolling sum of L - 1 pairs
    n_pair = rolling_sum(pair, length - 1, n_starts)
    n_same = rolling_sum(same, length - 1, n_starts)
    big = 1e300  # beyond any float32 value, and twice it stays finite
    hi = np.where(observed, values, -big)
    lo = np.where(observed, values, big)
    # origin (L - 1) // 2 - (L - 1) aligns scipy's window with [s, s + L - 1] (tested)
    origin = (length - 1) // 2 - (length - 1)
    w_max = maximum_filter1d(hi, length, axis=1, origin=origin, mode="nearest")[:, :n_starts]
    w_min = minimum_filter1d(lo, length, axis=1, origin=origin, mode="nearest")[:, :n_starts]
    magnitude = np.maximum(np.abs(w_max), np.abs(w_min))
    flags = np.zeros((r, n_starts), np.int8)
    checks = (
        n_obs < rule.min_observed * in_span,
        (n_obs > 0) & (w_max - w_min <= rule.constant_rtol * magnitude),
        (n_pair > 0) & (n_same >= rule.max_flat * n_pair),
    )
    for code, broken in enumerate(checks, start=1):
        flags = np.where((flags == 0) & broken, np.int8(code), flags)
    return flags


def rolling_sum(a: np.ndarray, width: int, n: int) -> np.ndarray:
    """Sums of ``a[:, s : s + width]`` for ``s = 0 .. n - 1`` (zeros past the end of ``a``).

    Args:
        a: (R, T) bool or int rows. width: window width (>= 0). n: number of starts.

    Returns:
        (R, n) int64.
    """
    r, t = a.shape
    c = np.zeros((r, max(t, n + width) + 1), np.int64)
    np.cumsum(a, axis=1, out=c[:, 1 : t + 1])
    c[:, t + 1 :] = c[:, t : t + 1]
    return c[:, width : width + n] - c[:, :n]


class WindowSampler:
    """Draw windows of ``length`` steps from the ``split`` part of each dataset.

    Args:
        datasets: the pool (any tasks; labels are ignored).
        length: window length L.
        split: part of each dataset to use (``"train"`` by default: an index or time split);
            None uses everything.
        channel_independent: draw single channels (n, 1, L); else whole series (n, C, L), which
            needs the same C in every dataset.
        window_filter: rules dropping degenerate windows (channel-independent windows only; a
            joint window is kept when any of its channels would be). None keeps every window.

    Raises:
        DataError: empty pool, bad length, a missing split, mismatched channel counts, or no
            window left after filtering.
    """

    def __init__(
        self,
        datasets: Sequence[Dataset],
        length: int,
        *,
        split: str | None = "train",
        channel_independent: bool = True,
        window_filter: WindowFilter | None = None,
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
        self.window_filter = window_filter
        self._X: list[np.ndarray] = []
        self._mask: list[np.ndarray] = []
        self._names = [p.name for p in parts]
        cands: list[np.ndarray] = []  # (dataset, series, channel) per kept window
        starts: list[np.ndarray] = []
        self._counts: list[dict[str, int]] = []
        for d, part in enumerate(parts):
            pad = ((0, 0), (0, 0), (0, length))  # so every window slice stays in bounds
            self._X.append(np.pad(part.X, pad))
            self._mask.append(np.pad(part.mask, pad))
            observed = np.asarray(
                self._mask[d] if channel_independent else self._mask[d].any(1, keepdims=True)
            )
            span = np.where(
                observed.any(-1), observed.shape[-1] - observed[..., ::-1].argmax(-1), 0
            )
            n_idx, c_idx = np.nonzero(span > 0)
            n_start = np.maximum(span[n_idx, c_idx] - length + 1, 1)
            keep = self._keep(d, n_idx, c_idx, span[n_idx, c_idx], n_start)
            rows, pos = np.nonzero(keep)
            cands.append(np.stack([np.full_like(rows, d), n_idx[rows], c_idx[rows]], axis=1))
            starts.append(pos)
        self._cand = np.concatenate(cands).astype(np.int64)
        self._start = np.concatenate(starts).astype(np.int64)
        if self._cand.shape[0] == 0:
            raise DataError(
                f"no window of {length} steps left to sample (filter: {self.window_filter}); "
                f"counts per dataset: {self._counts}"
            )

    def _keep(
        self, d: int, n_idx: np.ndarray, c_idx: np.ndarray, span: np.ndarray, n_start: np.ndarray
    ) -> np.ndarray:
        """(rows, max start + 1) bool: window start ``s`` of candidate row kept; records counts."""
        width = int(n_start.max()) if n_start.size else 1
        valid = np.arange(width)[None, :] < n_start[:, None]
        counts = {"series": int(n_idx.size), "windows": int(n_start.sum())}
        counts.update({name: 0 for name in RULES})
        rule = self.window_filter
        if rule is not None and n_idx.size:
            x, m = self._X[d], self._mask[d]
            if not self.channel_independent:  # any channel: the same test per channel, OR-ed
                flags = np.stack(
                    [
                        self._flags(x[n_idx, c], m[n_idx, c], span, width, rule)
                        for c in range(x.shape[1])
                    ]  # fmt: skip
                ).min(0)
            else:
                flags = self._flags(x[n_idx, c_idx], m[n_idx, c_idx], span, width, rule)
            for code, name in enumerate(RULES, start=1):
                counts[name] = int(((flags == code) & valid).sum())
            valid &= flags == 0
        counts["kept"] = int(valid.sum())
        self._counts.append(counts)
        return valid

    def _flags(
        self, x: np.ndarray, m: np.ndarray, span: np.ndarray, width: int, rule: WindowFilter
    ) -> np.ndarray:
        """Rule codes of the first ``width`` starts of each row (rows trimmed to what is read)."""
        t = min(x.shape[-1], width - 1 + self.length)
        x, m = x[:, :t].astype(np.float64), m[:, :t]
        out = window_flags(x, m, span, self.length, rule)
        return out[:, :width]

    @property
    def n_windows(self) -> int:
        """Number of distinct windows in the pool (after filtering)."""
        return int(self._start.size)

    def counts(self) -> list[dict[str, int | str]]:
        """Per dataset: name, candidate rows (series x channels), windows, windows dropped by
        each rule of ``RULES``, and windows kept."""
        return [{"name": n, **c} for n, c in zip(self._names, self._counts, strict=True)]

    def sample(self, n: int, generator: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` windows uniformly over all kept window positions.

        Args:
            n: number of windows.
            generator: the only source of randomness.

        Returns:
            X: float32 (n, 1, L) (channel-independent) or (n, C, L), 0.0 where not observed.
            mask: bool of the same shape.
        """
        pick = generator.integers(0, self._start.size, size=n)
        cand, starts = self._cand[pick], self._start[pick]
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
