"""Anomaly windows, the encoder pass and the two scorers (see :mod:`tsdividend.tasks.anomaly`).

Where the windows of one series lie (:func:`_layout`, shared by both regimes), the frozen-encoder
pass over them (:func:`_encode`), the spreading of per-token scores onto steps, the linear decoder
(its seeded init, the probe's fit) and the ``recon`` / ``knn`` scorers. The protocol, the settings
and the entry points are in :mod:`tsdividend.tasks.anomaly`; the end-to-end fine-tune in
:mod:`tsdividend.tasks.anomaly_finetune`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from tsdividend.data.dataset import Dataset
from tsdividend.encoder import Encoder

if TYPE_CHECKING:
    from tsdividend.tasks.anomaly import AnomalyConfig


@dataclass
class _Windows:
    """Frozen-encoder outputs of a set of windows (n windows, C channels, N tokens)."""

    starts: np.ndarray  # (n,) window starts along T
    tokens: np.ndarray  # (n, C, N, D) float32
    padding: np.ndarray  # (n, C, N) bool, True = token with no observed step
    patches: np.ndarray  # (n, C, N, P) instance-normalised target values
    observed: np.ndarray  # (n, C, N, P) bool
    scale: np.ndarray  # (n, C) instance std of each window channel


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


def window_length(cfg: AnomalyConfig, encoder: Encoder, n_train: int, n_test: int) -> int:
    """``min(context, n_test, n_train // 2, most steps the encoder takes)`` (module docstring)."""
    ec = encoder.config
    capacity = (encoder.max_tokens - 1) * ec.stride + ec.patch_len
    width = min(cfg.context, n_test, n_train // 2, capacity)
    if width < 1:
        raise ValueError(f"training part of {n_train} steps is too short (need >= 2)")
    return width


def _standardise(dataset: Dataset) -> tuple[np.ndarray, np.ndarray]:
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


def _slice(x: np.ndarray, m: np.ndarray, starts: np.ndarray, width: int) -> tuple[np.ndarray, ...]:
    """(C, T) values and mask -> (n, C, W) windows ``[:, s:s+width]`` of both."""
    idx = starts[:, None] + np.arange(width)  # (n, W)
    return x[:, idx].transpose(1, 0, 2), m[:, idx].transpose(1, 0, 2)


@torch.inference_mode()
def _encode(
    encoder: Encoder, x: np.ndarray, m: np.ndarray, starts: np.ndarray, width: int, batch: int
) -> _Windows:
    """Run the frozen encoder on the windows ``x[:, s:s+width]`` (one pass, reused by both
    scorers)."""
    device = next(encoder.parameters()).device
    xs, ms = _slice(x, m, starts, width)  # (n, C, W)
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
    return _Windows(starts, cat["t"], cat["pad"], cat["p"], cat["o"], cat["s"])


def _spread(values: np.ndarray, w: _Windows, stride: int, offset: int, length: int) -> np.ndarray:
    """(n, C, N, P) per-step values of each token's patch -> (length,) point scores: mean over
    the (window, token) pairs observing a step, then over channels with any observation; 0 where
    nothing was observed."""
    n, n_ch, n_tok, p = values.shape
    pos = w.starts[:, None, None] + np.arange(n_tok)[:, None] * stride + np.arange(p) - offset
    pos = np.broadcast_to(pos[:, None], values.shape)
    keep = w.observed & (pos >= 0) & (pos < length)
    total, count = np.zeros((n_ch, length)), np.zeros((n_ch, length))
    ch = np.broadcast_to(np.arange(n_ch)[None, :, None, None], values.shape)
    np.add.at(total, (ch[keep], pos[keep]), values[keep])
    np.add.at(count, (ch[keep], pos[keep]), 1.0)
    per_channel = total / np.maximum(count, 1.0)
    seen = (count > 0).sum(axis=0)
    return per_channel.sum(axis=0) / np.maximum(seen, 1)


def _new_decoder(d: int, p: int, gen: torch.Generator, device: torch.device) -> nn.Linear:
    """Linear (D -> P) decoder, weights uniform in nn.Linear's range drawn from ``gen`` (so the
    init is reproducible whatever the global RNG), zero bias."""
    decoder = nn.Linear(d, p).to(device)
    with torch.no_grad():
        bound = 1.0 / d**0.5
        decoder.weight.copy_(torch.rand(decoder.weight.shape, generator=gen) * 2 * bound - bound)
        decoder.bias.zero_()
    return decoder


def _fit_decoder(
    train: _Windows, n_fit: int, cfg: AnomalyConfig, seed: int, device: torch.device
) -> tuple[nn.Linear, int]:
    """Linear token -> patch decoder on the first ``n_fit`` training windows, early-stopped on the
    rest. Returns the best (lowest validation loss) decoder and its epoch count."""
    gen = torch.Generator().manual_seed(seed)

    def rows(sl: slice) -> tuple[torch.Tensor, ...]:
        keep = ~train.padding[sl].reshape(-1)
        arrs = (train.tokens[sl], train.patches[sl], train.observed[sl])
        return tuple(torch.from_numpy(a.reshape(keep.size, -1)[keep]).to(device) for a in arrs)

    (tf, yf, of), (tv, yv, ov) = rows(slice(0, n_fit)), rows(slice(n_fit, None))
    decoder = _new_decoder(tf.shape[1], yf.shape[1], gen, device)
    opt = torch.optim.AdamW(
        decoder.parameters(), lr=cfg.decoder_lr, weight_decay=cfg.decoder_weight_decay
    )

    def loss(t: torch.Tensor, y: torch.Tensor, o: torch.Tensor) -> torch.Tensor:
        return ((decoder(t) - y) ** 2 * o).sum() / o.sum().clamp_min(1)

    best, best_state, best_epoch, bad = float("inf"), None, 0, 0
    for epoch in range(1, cfg.decoder_max_epochs + 1):
        perm = torch.randperm(tf.shape[0], generator=gen).to(device)
        for i in range(0, perm.numel(), cfg.decoder_batch_size):
            j = perm[i : i + cfg.decoder_batch_size]
            opt.zero_grad(set_to_none=True)
            loss(tf[j], yf[j], of[j]).backward()
            opt.step()
        with torch.no_grad():
            val = float(loss(tv, yv, ov))
        if val < best:
            best, best_epoch, bad = val, epoch, 0
            best_state = {k: v.clone() for k, v in decoder.state_dict().items()}
        else:
            bad += 1
            if bad >= cfg.decoder_patience:
                break
    assert best_state is not None  # the first epoch always improves on +inf
    decoder.load_state_dict(best_state)
    return decoder, best_epoch


def _recon_scores(decoder: nn.Linear, test: _Windows, device: torch.device) -> np.ndarray:
    """(n, C, N, P) squared reconstruction errors on the train-standardised scale."""
    with torch.no_grad():
        pred = decoder(torch.from_numpy(test.tokens).to(device)).cpu().numpy()
    err = (pred - test.patches) ** 2 * test.scale[:, :, None, None] ** 2
    return np.where(test.observed, err, 0.0)


def _knn_scores(train: _Windows, test: _Windows, k: int, device: torch.device) -> np.ndarray:
    """(n, C, N) mean distance of each test token to its ``k`` nearest training tokens of the
    same channel (padded tokens never enter the bank)."""
    n, n_ch, n_tok, _ = test.tokens.shape
    out = np.zeros((n, n_ch, n_tok), np.float32)
    for c in range(n_ch):
        bank = torch.from_numpy(train.tokens[:, c][~train.padding[:, c]]).to(device)
        queries = torch.from_numpy(test.tokens[:, c].reshape(n * n_tok, -1)).to(device)
        kk = min(k, bank.shape[0])
        dist = [
            torch.cdist(q, bank).topk(kk, largest=False).values.mean(dim=1)
            for q in queries.split(4096)
        ]
        out[:, c] = torch.cat(dist).reshape(n, n_tok).cpu().numpy()
    return out


@dataclass
class _Layout:
    """Where the windows of one anomaly series lie (shared by both regimes)."""

    x: np.ndarray  # (C, T) train-standardised values, 0 where unobserved
    m: np.ndarray  # (C, T) bool mask
    width: int
    train_starts: np.ndarray  # all training windows (the kNN bank)
    n_fit: int  # the first n_fit train the decoder (and the encoder when fine-tuning)
    n_val: int  # the last n_val validate them
    test: tuple[int, int]


def _layout(encoder: Encoder, dataset: Dataset, cfg: AnomalyConfig) -> _Layout:
    if dataset.X.shape[0] != 1 or not {"train", "test"} <= set(dataset.time_splits):
        raise ValueError(
            f"{dataset.name}: anomaly detection needs one series with time splits 'train' and "
            f"'test', got N={dataset.X.shape[0]}, splits {sorted(dataset.time_splits)}"
        )
    (a, b), (ta, tb) = dataset.time_splits["train"], dataset.time_splits["test"]
    width = window_length(cfg, encoder, b - a, tb - ta)
    x, m = _standardise(dataset)
    starts = window_starts(a, b, width, max(1, width // 4))
    n_val = max(1, round(cfg.val_fraction * len(starts)))
    # Fit windows end before the first validation window starts: no shared steps.
    n_fit = int(np.sum(starts[:-n_val] + width <= starts[-n_val]))
    return _Layout(x, m, width, starts, n_fit, n_val, (ta, tb))
