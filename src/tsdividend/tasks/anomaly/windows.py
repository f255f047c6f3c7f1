"""Anomaly windows (see :mod:`tsdividend.tasks.anomaly`): where they lie, the encoder pass.

Where the windows of one series lie (:func:`layout`, shared by both regimes), their copies
(:func:`slice_windows`) and the encoder pass over them (:func:`encode`, one pass reused by both
scorers).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from tsdividend.data.dataset import Dataset
from tsdividend.encoder.adapter import TokenEncoder, module_device
from tsdividend.tasks.anomaly.config import AnomalyConfig


@dataclass
class Windows:
    """Frozen-encoder outputs of a set of windows (n windows, C channels, N tokens)."""

    starts: np.ndarray  # (n,) window starts along T
    tokens: np.ndarray  # (n, C, N, D) float32
    padding: np.ndarray  # (n, C, N) bool, True = token with no observed step
    patches: np.ndarray  # (n, C, N, P) instance-normalised target values
    observed: np.ndarray  # (n, C, N, P) bool
    scale: np.ndarray  # (n, C) instance std of each window channel

    def take(self, idx: np.ndarray) -> Windows:
        """The windows ``idx`` (an index array) of every field."""
        return Windows(*(getattr(self, f.name)[idx] for f in dataclasses.fields(self)))


def window_starts(start: int, end: int, width: int, stride: int) -> np.ndarray:
    """Starts of windows of ``width`` every ``stride`` steps inside ``[start, end)``, plus one
    aligned to ``end`` when the last regular window stops short of it.

    Raises:
        ValueError: when the span is shorter than one window.
    """
    if end - start < width:
        raise ValueError(f"span [{start}, {end}) is shorter than one window of {width} steps")
    starts = np.arange(start, end - width + 1, stride, dtype=np.int64)
    if starts[-1] + width < end:
        starts = np.append(starts, end - width)
    return starts


def window_length(cfg: AnomalyConfig, encoder: TokenEncoder, n_train: int, n_test: int) -> int:
    """``min(context, n_test, n_train // 2, most steps the encoder takes)`` (module docstring)."""
    capacity = encoder.max_length or cfg.context  # None: the encoder takes any length
    width = min(cfg.context, n_test, n_train // 2, capacity)
    if width < 1:
        raise ValueError(f"training part of {n_train} steps is too short (need >= 2)")
    return width


def standardise(dataset: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """(C, T) values standardised by the training part's observed statistics, and the mask."""
    a, b = dataset.time_splits["train"]
    x, m = dataset.X[0].astype(np.float64), dataset.mask[0]
    out = np.zeros_like(x)
    for c in range(x.shape[0]):
        vals = x[c, a:b][m[c, a:b]]
        mean = vals.mean() if vals.size else 0.0
        std = vals.std() if vals.size else 0.0
        out[c] = (x[c] - mean) / (std if std > 0 else 1.0)  # constant channel: keep std 1
    return np.where(m, out, 0.0).astype(np.float32), m


def slice_windows(
    x: np.ndarray, m: np.ndarray, starts: np.ndarray, width: int
) -> tuple[np.ndarray, ...]:
    """(C, T) values and mask -> (n, C, W) windows ``[:, s:s+width]`` of both."""
    idx = starts[:, None] + np.arange(width)  # (n, W)
    return x[:, idx].transpose(1, 0, 2), m[:, idx].transpose(1, 0, 2)


@torch.inference_mode()
def encode(
    encoder: TokenEncoder, x: np.ndarray, m: np.ndarray, starts: np.ndarray, width: int, batch: int
) -> Windows:
    """Run the frozen encoder on the windows ``x[:, s:s+width]`` (one pass, reused by both
    scorers)."""
    device = module_device(encoder)
    xs, ms = slice_windows(x, m, starts, width)  # (n, C, W)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("t", "pad", "p", "o", "s")}
    n_ch = x.shape[0]
    for i in range(0, len(starts), batch):
        xb = torch.from_numpy(np.ascontiguousarray(xs[i : i + batch])).to(device)
        mb = torch.from_numpy(np.ascontiguousarray(ms[i : i + batch])).to(device)
        tok = encoder.tokens(xb, mb).float()
        pat = encoder.patchify(xb, mb)
        nb, n, p = xb.shape[0], tok.shape[1], pat.values.shape[-1]
        parts["t"].append(tok.reshape(nb, n_ch, n, -1).cpu().numpy())
        parts["pad"].append(pat.padding.reshape(nb, n_ch, n).cpu().numpy())
        parts["p"].append(pat.values.reshape(nb, n_ch, n, p).float().cpu().numpy())
        parts["o"].append(pat.observed.reshape(nb, n_ch, n, p).cpu().numpy())
        parts["s"].append(pat.stats.std.reshape(nb, n_ch).float().cpu().numpy())
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    return Windows(starts, cat["t"], cat["pad"], cat["p"], cat["o"], cat["s"])


@dataclass
class Layout:
    """Where the windows of one anomaly series lie (shared by both regimes)."""

    x: np.ndarray  # (C, T) train-standardised values, 0 where unobserved
    m: np.ndarray  # (C, T) bool mask
    width: int
    train_starts: np.ndarray  # all training windows (the kNN bank)
    n_fit: int  # the first n_fit train the decoder (and the encoder when fine-tuning)
    n_val: int  # the last n_val validate them
    test: tuple[int, int]


def layout(encoder: TokenEncoder, dataset: Dataset, cfg: AnomalyConfig) -> Layout:
    """Where the windows of the one series of ``dataset`` lie (module docstring of
    :mod:`tsdividend.tasks.anomaly`): width, training starts, the fit/validation cut, test span."""
    if dataset.X.shape[0] != 1 or not {"train", "test"} <= set(dataset.time_splits):
        raise ValueError(
            f"{dataset.name}: anomaly detection needs one series with time splits 'train' and "
            f"'test', got N={dataset.X.shape[0]}, splits {sorted(dataset.time_splits)}"
        )
    (a, b), (ta, tb) = dataset.time_splits["train"], dataset.time_splits["test"]
    width = window_length(cfg, encoder, b - a, tb - ta)
    x, m = standardise(dataset)
    starts = window_starts(a, b, width, max(1, width // 4))
    n_val = max(1, round(cfg.val_fraction * len(starts)))
    # Fit windows end before the first validation window starts: no shared steps.
    n_fit = int(np.sum(starts[:-n_val] + width <= starts[-n_val]))
    return Layout(x, m, width, starts, n_fit, n_val, (ta, tb))
