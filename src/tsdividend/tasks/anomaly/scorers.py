"""The anomaly scorers (see :mod:`tsdividend.tasks.anomaly`): linear decoder and kNN.

Per-token scores are spread onto steps (:func:`spread`); ``recon`` is the squared error of a linear
token -> patch decoder (:func:`new_decoder`, fitted by :func:`fit_decoder`), ``knn`` the mean
distance of a test token to its nearest training tokens of the same channel.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from tsdividend.tasks.anomaly.config import AnomalyConfig
from tsdividend.tasks.anomaly.windows import Windows


def spread(values: np.ndarray, w: Windows, stride: int, offset: int, length: int) -> np.ndarray:
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


def new_decoder(d: int, p: int, gen: torch.Generator, device: torch.device) -> nn.Linear:
    """Linear (D -> P) decoder, weights uniform in nn.Linear's range drawn from ``gen`` (so the
    init is reproducible whatever the global RNG), zero bias."""
    decoder = nn.Linear(d, p).to(device)
    with torch.no_grad():
        bound = 1.0 / d**0.5
        decoder.weight.copy_(torch.rand(decoder.weight.shape, generator=gen) * 2 * bound - bound)
        decoder.bias.zero_()
    return decoder


def fit_decoder(
    train: Windows, n_fit: int, cfg: AnomalyConfig, seed: int, device: torch.device
) -> tuple[nn.Linear, int]:
    """Linear token -> patch decoder on the first ``n_fit`` training windows, early-stopped on the
    rest. Returns the best (lowest validation loss) decoder and its epoch count."""
    gen = torch.Generator().manual_seed(seed)

    def rows(sl: slice) -> tuple[torch.Tensor, ...]:
        keep = ~train.padding[sl].reshape(-1)
        arrs = (train.tokens[sl], train.patches[sl], train.observed[sl])
        return tuple(torch.from_numpy(a.reshape(keep.size, -1)[keep]).to(device) for a in arrs)

    (tf, yf, of), (tv, yv, ov) = rows(slice(0, n_fit)), rows(slice(n_fit, None))
    decoder = new_decoder(tf.shape[1], yf.shape[1], gen, device)
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


def recon_scores(decoder: nn.Linear, test: Windows, device: torch.device) -> np.ndarray:
    """(n, C, N, P) squared reconstruction errors on the train-standardised scale."""
    with torch.no_grad():
        pred = decoder(torch.from_numpy(test.tokens).to(device)).cpu().numpy()
    err = (pred - test.patches) ** 2 * test.scale[:, :, None, None] ** 2
    return np.where(test.observed, err, 0.0)


def knn_scores(train: Windows, test: Windows, k: int, device: torch.device) -> np.ndarray:
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
