"""Labelled anomaly injection into clean series: (series, point labels).

Seven types, in the spirit of GutenTAG (Wenig et al. 2022, ``timeeval-gutentag``) and the UCR
anomaly archive's synthetic kinds (Wu & Keogh 2021). Every anomaly occupies a half-open segment
``[start, end)`` of time steps on a random non-empty subset of channels, changes the series only
inside that segment, and the point labels are 1 exactly on the union of the segments:

- ``spike``: 1 to 3 steps shifted by ``+-m``.
- ``level_shift``: ``+-m`` added on the whole segment. Not permanent: the shifted level holds from
  the onset to the segment end (a drawn width, as for every type), then the clean series resumes.
  A permanent shift would leave either unlabelled changed points or a label on the whole tail.
- ``trend_change``: a ramp ``+-m (j + 1) / w`` added (j = 0..w-1), ending, like a level shift, at
  the segment end.
- ``frequency_change``: the segment is replaced by the series resampled at speed ``f`` (1.5..3,
  or 0.3..0.7 when the faster read would pass the series end), by linear interpolation.
- ``noise_burst``: Gaussian noise of standard deviation ``m`` added.
- ``flatline``: the segment holds the value just before it (just after it at the series start).
- ``pattern_swap``: the segment is replaced by another, non-overlapping segment of the same length
  of the clean series.

Magnitudes are relative to the series scale: ``m = u * scale_c`` with ``u ~ U(magnitude)`` shared by
the anomaly's channels and ``scale_c`` the channel's standard deviation (its mean absolute value,
or 1, when it is constant). Multiplying the input by ``a > 0`` multiplies every change by ``a``.
Types that need variation (frequency change, flatline, pattern swap) are not drawn for a constant
channel, where they would change nothing. Segments never overlap or touch (one free step between).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tsdividend.synth.kernelsynth import KernelSynthConfig

ANOMALY_TYPES: tuple[str, ...] = (
    "spike",
    "level_shift",
    "trend_change",
    "frequency_change",
    "noise_burst",
    "flatline",
    "pattern_swap",
)
ADDITIVE_TYPES: tuple[str, ...] = ("spike", "level_shift", "trend_change", "noise_burst")
_MAX_TRIES = 64


@dataclass(frozen=True)
class AnomalyConfig:
    """Anomaly injection options.

    Attributes:
        max_anomalies: anomalies per series, uniform on ``{1, ..., max_anomalies}`` (fewer when
            no free room is found after 64 tries).
        types: anomaly types to draw from (uniformly); see :data:`ANOMALY_TYPES`.
        min_width: shortest segment, in steps (spikes are 1..3 steps).
        max_width_frac: longest segment as a fraction of T (at least ``min_width``, at most T/4).
        magnitude: range of the magnitude factor ``u`` (units of the channel's scale).
        channel_prob: probability that each channel carries an anomaly (at least one does).
        max_kernels: KernelSynth ``max_kernels`` of the clean series of kind ``"anomaly"``.
    """

    max_anomalies: int = 3
    types: tuple[str, ...] = ANOMALY_TYPES
    min_width: int = 4
    max_width_frac: float = 0.1
    magnitude: tuple[float, float] = (2.0, 5.0)
    channel_prob: float = 0.5
    max_kernels: int = 5

    def __post_init__(self) -> None:
        bad = sorted(set(self.types) - set(ANOMALY_TYPES))
        if bad or not self.types:
            raise ValueError(
                f"unknown anomaly types {bad or '(none given)'}; valid: {ANOMALY_TYPES}"
            )
        if self.max_anomalies < 1 or self.min_width < 1:
            raise ValueError(
                f"need max_anomalies >= 1 and min_width >= 1, got "
                f"{self.max_anomalies}, {self.min_width}"
            )
        if not 0 < self.max_width_frac <= 0.25:
            raise ValueError(f"max_width_frac must be in (0, 0.25], got {self.max_width_frac}")
        lo, hi = self.magnitude
        if not 0 < lo <= hi:
            raise ValueError(f"magnitude must be (lo, hi) with 0 < lo <= hi, got {self.magnitude}")
        if not 0 < self.channel_prob <= 1:
            raise ValueError(f"channel_prob must be in (0, 1], got {self.channel_prob}")
        KernelSynthConfig(self.max_kernels)  # validates max_kernels


@dataclass(frozen=True)
class Anomaly:
    """One anomaly: ``kind`` on steps ``[start, end)`` of ``channels``."""

    kind: str
    start: int
    end: int
    channels: tuple[int, ...]


def channel_scale(x: np.ndarray) -> np.ndarray:
    """Per-channel scale (C,): standard deviation, else mean absolute value, else 1."""
    std = x.std(axis=1)
    mean_abs = np.abs(x).mean(axis=1)
    return np.where(std > 0, std, np.where(mean_abs > 0, mean_abs, 1.0))


def inject_anomaly(
    rng: np.random.Generator,
    x: np.ndarray,
    anomaly: Anomaly,
    config: AnomalyConfig = AnomalyConfig(),
    clean: np.ndarray | None = None,
) -> np.ndarray:
    """Apply one anomaly to a copy of ``x`` (C, T); only ``[start, end)`` of its channels change.

    Args:
        rng: source of the anomaly's random draws.
        x: (C, T) series to modify (not modified in place).
        anomaly: what and where.
        config: magnitudes.
        clean: (C, T) clean series read by pattern swap / frequency change / scales
            (default ``x``).

    Returns:
        float64 (C, T).
    """
    clean = x if clean is None else clean
    out = np.array(x, dtype=np.float64, copy=True)
    s, e, ch = anomaly.start, anomaly.end, list(anomaly.channels)
    w, length = e - s, x.shape[1]
    if not (0 <= s < e <= length) or not ch:
        raise ValueError(f"bad anomaly segment/channels {anomaly} for a series of length {length}")
    m = rng.uniform(*config.magnitude) * channel_scale(clean)[ch][:, None]  # (c, 1)
    sign = 1.0 if rng.random() < 0.5 else -1.0
    kind = anomaly.kind
    if kind in ("spike", "level_shift"):
        out[ch, s:e] += sign * m
    elif kind == "trend_change":
        out[ch, s:e] += sign * m * (np.arange(1, w + 1) / w)
    elif kind == "noise_burst":
        out[ch, s:e] += rng.standard_normal((len(ch), w)) * m
    elif kind == "flatline":
        hold = s - 1 if s > 0 else e
        out[ch, s:e] = clean[ch, hold][:, None]
    elif kind == "frequency_change":
        phase = rng.uniform(0.25, 0.75)
        fast = s + phase + (w - 1) * 3.0 <= length - 1 and rng.random() < 0.5
        speed = rng.uniform(1.5, 3.0) if fast else rng.uniform(0.3, 0.7)
        u = s + phase + speed * np.arange(w)
        for c in ch:
            out[c, s:e] = np.interp(u, np.arange(length), clean[c])
    elif kind == "pattern_swap":
        starts = np.concatenate([np.arange(0, s - w + 1), np.arange(e, length - w + 1)])
        if not len(starts):
            raise ValueError(f"no room for a pattern swap source of width {w} in length {length}")
        src = int(starts[rng.integers(len(starts))])
        out[ch, s:e] = clean[ch, src : src + w]
    else:
        raise ValueError(f"unknown anomaly type {kind!r}; valid: {ANOMALY_TYPES}")
    return out


def draw_anomalies(
    rng: np.random.Generator, x: np.ndarray, config: AnomalyConfig = AnomalyConfig()
) -> list[Anomaly]:
    """Draw 1..max_anomalies non-overlapping anomalies for a (C, T) series."""
    n_ch, length = x.shape
    max_width = max(config.min_width, int(config.max_width_frac * length))
    if length < 4 * max_width:
        raise ValueError(
            f"series of length {length} too short for anomalies of width up to {max_width} "
            f"(need >= {4 * max_width}); lower min_width"
        )
    constant = np.ptp(x, axis=1) == 0
    busy = np.zeros(length + 2, bool)  # padded by one step each side: segments never touch
    out: list[Anomaly] = []
    for _ in range(int(rng.integers(1, config.max_anomalies + 1))):
        chosen = np.flatnonzero(rng.random(n_ch) < config.channel_prob)
        channels = tuple(int(c) for c in chosen) or (int(rng.integers(n_ch)),)
        allowed = [
            t for t in config.types if t in ADDITIVE_TYPES or not constant[list(channels)].any()
        ]
        if not allowed:
            raise ValueError(f"anomaly types {config.types} cannot change a constant channel")
        kind = allowed[int(rng.integers(len(allowed)))]
        lo, hi = (1, 3) if kind == "spike" else (config.min_width, max_width)
        for _ in range(_MAX_TRIES):
            w = int(rng.integers(lo, hi + 1))
            s = int(rng.integers(0, length - w + 1))
            if not busy[s : s + w + 2].any():
                busy[s + 1 : s + w + 1] = True
                out.append(Anomaly(kind, s, s + w, channels))
                break
    return out


def inject_anomalies(
    rng: np.random.Generator, x: np.ndarray, config: AnomalyConfig = AnomalyConfig()
) -> tuple[np.ndarray, np.ndarray]:
    """Inject 1..max_anomalies labelled anomalies (see module docstring).

    Args:
        rng: source of every draw.
        x: clean series, (T,) or (C, T).
        config: injection options.

    Returns:
        (float64 series of ``x``'s shape, uint8 labels (T,) = 1 exactly on the anomalous steps).
    """
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim not in (1, 2) or arr.shape[-1] == 0 or not np.isfinite(arr).all():
        raise ValueError(f"x must be a finite (T,) or (C, T) array, got shape {arr.shape}")
    clean = np.atleast_2d(arr)
    out = clean.copy()
    labels = np.zeros(clean.shape[1], np.uint8)
    for anomaly in draw_anomalies(rng, clean, config):
        out = inject_anomaly(rng, out, anomaly, config, clean=clean)
        labels[anomaly.start : anomaly.end] = 1
    return out.reshape(arr.shape), labels
