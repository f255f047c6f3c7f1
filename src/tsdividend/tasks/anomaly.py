"""Anomaly detection with a frozen or fine-tuned encoder: two scorers, leak-free metrics.

Protocol (docs/protocols.md, "Anomaly detection"):

1. **Normalise** every channel with the mean/std of the observed TRAINING part only (a constant
   channel keeps std 1). Dataset: one series (1, C, T) with ``time_splits`` "train" (UCR's
   anomaly-free prefix, NAB's probationary period, MSL's train file) and "test".
2. **Windows** of ``W = min(context, n_test, n_train // 2, encoder capacity)`` steps (``context``
   336 = the seed paper's look-back; ``n_train // 2`` so at least two training windows exist and
   the last 20% can validate). Training windows every ``max(1, W // 4)`` steps; test windows are
   non-overlapping, the last one aligned to the end of the series (never zero-padded: padding,
   if any, is the tokenizer's masked right-padding of a last patch). A step's score is the mean of
   the per-step scores of every (window, token) covering it, then the mean over channels.
3. **Embeddings once**: the (frozen or fine-tuned) encoder's per-token outputs (one token stream
   per channel) of every training and test window are computed once, in inference mode, and feed
   both scorers.
4. **Scorers** from ONE encoder (``regime="probe"``; "finetune" below):
   ``recon``: a linear decoder token -> patch values (the seed paper's anomaly head: Linear per
   token, MSE on instance-normalised patches) trained on the frozen tokens of the normal training
   windows with AdamW and early stopping on the last 20% of them (patience ``decoder_patience``,
   best state kept); score = squared error, rescaled by the window's instance std so errors are
   on the train-standardised scale of every window alike.
   ``knn``: PER-TOKEN kNN (for temporal resolution, one token = one patch of ``patch_len``
   steps): mean Euclidean distance of each test token to its ``k`` nearest training tokens of the
   same channel (all training windows; ``k`` is fixed, nothing is selected).
5. **Metrics**, only after every score exists (the test labels are read once, at the end):
   UCR archive ("anomaly/ucr/..."): ucr_score (+-``tolerance``), vus_pr, auc_pr, auc_roc; other
   archives (NAB, MSL): vus_pr, auc_pr, best_f1 and the extra pa_f1. No threshold is fitted.
   Rows are named ``"<scorer>/<metric>"``, e.g. ``"knn/vus_pr"``.

``regime="finetune"``: the encoder AND the same linear decoder (same seeded init) are trained end
to end on the reconstruction loss of the normal fitting windows (AdamW, ``encoder_lr`` 1e-4 for the
encoder, ten times below the decoder's ``decoder_lr`` 1e-3 so that the first steps, driven by a
random decoder, do not wreck the pretrained features; batch size chosen from
``finetune_batch_sizes`` by validation error;
at most ``finetune_max_epochs``), early-stopped on the validation windows' reconstruction error
(patience ``decoder_patience``, best encoder+decoder state restored). The fine-tuned encoder then
feeds both scorers exactly as above: ``recon`` with the fine-tuned decoder, ``knn`` with its tokens
of all training windows as the bank. Dropout and batch order draw from ``seed`` only
(``torch.random.fork_rng``); the caller's module is deep-copied, never modified.

Baselines, through this same code path: ``random`` (random init from ``seed``, frozen) is the probe
baseline; ``scratch`` (random init from ``seed``, fine-tuned) the fine-tune baseline. Each is
refused in the other regime, as in :mod:`tsdividend.tasks.classification`.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from tsdividend.config import ConfigError, check_int
from tsdividend.data.dataset import Dataset
from tsdividend.device import pick_device
from tsdividend.encoder import Encoder
from tsdividend.metrics import METRICS, ucr_score, vus
from tsdividend.metrics.anomaly import auc_pr, auc_roc, best_f1, pa_f1, segments
from tsdividend.results.row import ResultRow
from tsdividend.tasks.base import EncoderUnderTest, describe

SCORERS = ("recon", "knn")
UCR_METRICS = ("ucr_score", "vus_pr", "auc_pr", "auc_roc")
OTHER_METRICS = ("vus_pr", "auc_pr", "best_f1", "pa_f1")
REGIMES = ("probe", "finetune")
_FIELDS = ("starts", "tokens", "padding", "patches", "observed", "scale")


@dataclass(frozen=True)
class AnomalyConfig:
    """Anomaly protocol settings (defaults and their sources).

    Attributes:
        context: window length in steps (336: the seed paper's look-back).
        k: neighbours of the kNN scorer (5).
        val_fraction: last fraction of the training windows that validates the decoder (0.2,
            as the seed paper's anomaly head: early stopping on the last 20% of train).
        decoder_lr: AdamW learning rate of the decoder (1e-3, the seed paper's head).
        decoder_weight_decay: AdamW weight decay (1e-2, torch's AdamW default).
        decoder_max_epochs: epochs at most (200: a UCR prefix gives only a few hundred tokens,
            i.e. a few steps per epoch).
        decoder_patience: epochs without a validation improvement before stopping (5; the seed
            paper's head uses 3 with far more data per epoch).
        decoder_batch_size: token rows per decoder step (64).
        tolerance: UCR score tolerance in steps (100, Wu & Keogh 2021).
        vus_max_window: largest VUS buffer (100, matching the UCR tolerance).
        embed_batch_size: windows per encoder forward pass (256).
        regime: "probe" (frozen encoder) or "finetune" (encoder + decoder end to end).
        encoder_lr: fine-tune AdamW learning rate of the encoder (1e-4: the seed paper's
            PatchTST-MAE rate, a tenth of the decoder's; weight decay is decoder_weight_decay).
        finetune_max_epochs: fine-tune epochs at most (200, the decoder's cap: a short UCR
            prefix gives a handful of fitting windows, i.e. one or two steps per epoch).
        finetune_batch_sizes: candidate windows per fine-tune step; one fine-tune per candidate
            and the lowest validation reconstruction error wins (small batches give several steps
            per epoch when a short training prefix yields fewer than ten fitting windows).
    """

    context: int = 336
    k: int = 5
    val_fraction: float = 0.2
    decoder_lr: float = 1e-3
    decoder_weight_decay: float = 1e-2
    decoder_max_epochs: int = 200
    decoder_patience: int = 5
    decoder_batch_size: int = 64
    tolerance: int = 100
    vus_max_window: int = 100
    embed_batch_size: int = 256
    regime: str = "probe"
    encoder_lr: float = 1e-4
    finetune_max_epochs: int = 200
    finetune_batch_sizes: tuple[int, ...] = (4, 16)

    def __post_init__(self) -> None:
        for name in ("context", "k", "decoder_max_epochs", "decoder_patience"):
            check_int(name, getattr(self, name), 1)
        for name in ("decoder_batch_size", "embed_batch_size", "finetune_max_epochs"):
            check_int(name, getattr(self, name), 1)
        object.__setattr__(self, "finetune_batch_sizes", tuple(self.finetune_batch_sizes))
        if not self.finetune_batch_sizes:
            raise ConfigError("finetune_batch_sizes must list at least one batch size")
        for bs in self.finetune_batch_sizes:
            check_int("finetune_batch_sizes entry", bs, 1)
        check_int("tolerance", self.tolerance, 0)
        check_int("vus_max_window", self.vus_max_window, 0)
        if not 0.0 < self.val_fraction < 1.0:
            raise ConfigError(f"val_fraction must be in (0, 1), got {self.val_fraction}")
        if not (self.decoder_lr > 0 and self.encoder_lr > 0 and self.decoder_weight_decay >= 0):
            raise ConfigError(
                "need decoder_lr > 0, encoder_lr > 0 and decoder_weight_decay >= 0, got "
                f"{self.decoder_lr}, {self.encoder_lr}, {self.decoder_weight_decay}"
            )
        if self.regime not in REGIMES:
            raise ConfigError(f"regime {self.regime!r} unknown; valid: {list(REGIMES)}")


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


def _window_loss(
    encoder: Encoder, decoder: nn.Linear, x: torch.Tensor, m: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed squared error of the decoded tokens on the observed instance-normalised patch
    values of (B, C, W) windows, and the number of observed values (the probe's loss, end to
    end)."""
    with torch.no_grad():  # targets do not depend on the weights
        pat = encoder.patchify(x, m)
    obs = pat.observed.float()
    err = (decoder(encoder.tokens(x, m).float()) - pat.values.float()) ** 2
    return (err * obs).sum(), obs.sum()


def finetune_anomaly(
    encoder: Encoder, dataset: Dataset, cfg: AnomalyConfig, seed: int, *, device: str = "auto",
    batch_size: int | None = None,
) -> tuple[Encoder, nn.Linear, dict[str, float]]:  # fmt: skip
    """Train a COPY of ``encoder`` and the linear decoder end to end on the normal training
    windows (module docstring, "finetune"); reads no labels and never modifies ``encoder``.

    Returns:
        The fine-tuned encoder copy and decoder with their best-validation weights restored (eval
        mode), and a summary (best_epoch, epochs_run, val_loss = mean squared error per value).
    """
    dev = pick_device(device)
    lay = _layout(encoder, dataset, cfg)

    def windows(starts: np.ndarray) -> list[torch.Tensor]:
        parts = _slice(lay.x, lay.m, starts, lay.width)
        return [torch.from_numpy(np.ascontiguousarray(a)).to(dev) for a in parts]

    (fit_x, fit_m), (val_x, val_m) = (windows(lay.train_starts[: lay.n_fit]),
                                      windows(lay.train_starts[-lay.n_val :]))  # fmt: skip
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        torch.manual_seed(seed)  # dropout draws from the global RNG: seed it, restore after
        enc = copy.deepcopy(encoder).to(dev)
        gen = torch.Generator().manual_seed(seed)
        n_values = enc.patchify(fit_x[:1], fit_m[:1]).values.shape[-1]  # P of any tokenizer
        decoder = _new_decoder(enc.config.d_model, n_values, gen, dev)
        opt = torch.optim.AdamW(
            [{"params": enc.parameters(), "lr": cfg.encoder_lr},
             {"params": decoder.parameters(), "lr": cfg.decoder_lr}],
            weight_decay=cfg.decoder_weight_decay,
        )  # fmt: skip
        best, best_epoch, best_state, epoch, bad = float("inf"), 0, None, 0, 0
        bs = cfg.finetune_batch_sizes[0] if batch_size is None else batch_size
        for epoch in range(1, cfg.finetune_max_epochs + 1):
            enc.train()
            for j in torch.randperm(fit_x.shape[0], generator=gen).to(dev).split(bs):
                total, count = _window_loss(enc, decoder, fit_x[j], fit_m[j])
                opt.zero_grad(set_to_none=True)
                (total / count.clamp_min(1)).backward()
                opt.step()
            enc.eval()
            with torch.no_grad():  # every validation window, no batch dropped
                sums = [_window_loss(enc, decoder, val_x[i : i + bs], val_m[i : i + bs])
                        for i in range(0, val_x.shape[0], bs)]  # fmt: skip
                val = float(sum(t for t, _ in sums) / max(float(sum(c for _, c in sums)), 1.0))
            if val < best:
                best, best_epoch, bad = val, epoch, 0
                best_state = copy.deepcopy((enc.state_dict(), decoder.state_dict()))
            else:
                bad += 1
                if bad >= cfg.decoder_patience:
                    break
    assert best_state is not None  # the first epoch always improves on +inf
    enc.load_state_dict(best_state[0])
    decoder.load_state_dict(best_state[1])
    summary = {"best_epoch": best_epoch, "epochs_run": epoch, "val_loss": best}
    return enc.eval(), decoder, summary


def anomaly_scores(
    encoder: Encoder, dataset: Dataset, cfg: AnomalyConfig, seed: int, *, device: str = "auto"
) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Point scores of the test part by both scorers; reads NO labels (``dataset.y`` unused).

    Args:
        encoder: the encoder; frozen for ``cfg.regime == "probe"`` (moved to ``device``, eval
            mode), copied and fine-tuned for "finetune" (this module is left unchanged).
        dataset: a one-series anomaly dataset with time splits "train" and "test".
        cfg: the protocol settings.
        seed: seeds the decoder's init, batch order and (fine-tune) dropout.
        device: "auto", "cpu" or "cuda".

    Returns:
        ``{"recon": (n_test,), "knn": (n_test,)}`` scores (higher = more anomalous) and details
        (window length, window counts, decoder_epochs = the selected epoch; fine-tune also
        epochs_run).
    """
    dev = pick_device(device)
    lay = _layout(encoder, dataset, cfg)
    extra: dict[str, int] = {}
    if cfg.regime == "finetune":
        # One fine-tune per candidate batch size; the lowest validation error wins (no label and
        # no test value is read).
        runs = [
            (bs, finetune_anomaly(encoder, dataset, cfg, seed, device=device, batch_size=bs))
            for bs in cfg.finetune_batch_sizes
        ]
        bs, (encoder, decoder, summary) = min(runs, key=lambda r: r[1][2]["val_loss"])
        epochs = int(summary["best_epoch"])
        extra = {"epochs_run": int(summary["epochs_run"]), "finetune_batch_size": bs}
    encoder = encoder.to(dev).eval()
    (ta, tb), width, n_fit, n_val = lay.test, lay.width, lay.n_fit, lay.n_val
    train = _encode(encoder, lay.x, lay.m, lay.train_starts, width, cfg.embed_batch_size)
    test_starts = window_starts(ta, tb, width, width)
    test = _encode(encoder, lay.x, lay.m, test_starts, width, cfg.embed_batch_size)
    if cfg.regime == "probe":
        train_val = _Windows(*(getattr(train, f)[np.r_[:n_fit, -n_val:0]] for f in _FIELDS))
        decoder, epochs = _fit_decoder(train_val, n_fit, cfg, seed, dev)
    stride = encoder.config.stride
    knn = _knn_scores(train, test, cfg.k, dev)
    scores = {
        "recon": _spread(_recon_scores(decoder, test, dev), test, stride, ta, tb - ta),
        "knn": _spread(
            np.broadcast_to(knn[..., None], test.patches.shape), test, stride, ta, tb - ta
        ),
    }
    details = {
        "window": width,
        "train_windows": len(lay.train_starts),
        "fit_windows": n_fit,
        "val_windows": n_val,
        "test_windows": len(test.starts),
        "decoder_epochs": epochs,
        **extra,
    }
    return scores, details


def _metric_values(
    dataset: Dataset, labels: np.ndarray, score: np.ndarray, cfg: AnomalyConfig
) -> dict[str, float]:
    """{metric name: value} for one scorer's test scores (UCR archive vs NAB/MSL sets). The UCR
    anomaly is ``[begin of the first labelled run, end of the last)`` (the archive has one)."""
    segs = segments(labels)
    fns: dict[str, Callable[[], float]] = {
        "ucr_score": lambda: ucr_score(score, int(segs[0, 0]), int(segs[-1, 1]), cfg.tolerance),
        "vus_pr": lambda: vus(labels, score, cfg.vus_max_window)[1],
        "auc_pr": lambda: auc_pr(labels, score),
        "auc_roc": lambda: auc_roc(labels, score),
        "best_f1": lambda: best_f1(labels, score),
        "pa_f1": lambda: pa_f1(labels, score),
    }
    names = UCR_METRICS if dataset.name.startswith("anomaly/ucr/") else OTHER_METRICS
    return {name: fns[name]() for name in names}


def evaluate_anomaly(
    encoder: EncoderUnderTest,
    dataset: Dataset,
    cfg: AnomalyConfig,
    seed: int,
    *,
    device: str = "auto",
) -> list[ResultRow]:
    """Score the test part with both scorers of one (frozen or fine-tuned) encoder, measure them.

    Args:
        encoder: the encoder under test; ``random`` is the probe baseline, ``scratch`` the
            fine-tune one (each is refused in the other regime).
        dataset: ``load_dataset("anomaly/ucr/NNN" | "anomaly/nab/<cat>/<file>" |
            "anomaly/msl/<chan>")``.
        cfg: protocol settings.
        seed: random-init draw (``random``/``scratch``), decoder and fine-tune seed.
        device: "auto", "cpu" or "cuda".

    Returns:
        One row per (scorer, metric), metric ``"<scorer>/<metric>"``, regime ``cfg.regime``.

    Raises:
        ValueError: for an encoder kind the regime does not take, or a test part with no
            labelled anomaly.
    """
    valid = {"probe": ["pretrained", "random"], "finetune": ["pretrained", "scratch"]}[cfg.regime]
    if encoder.kind not in valid:
        raise ValueError(
            f"encoder kind {encoder.kind!r} does not apply to anomaly regime {cfg.regime!r}; "
            f"valid kinds: {valid} ('random' is the frozen probe baseline, 'scratch' the "
            "fine-tune baseline)"
        )
    t0 = time.perf_counter()
    scores, details = anomaly_scores(encoder.encoder(seed), dataset, cfg, seed, device=device)
    ta, tb = dataset.time_splits["test"]
    labels = dataset.y[0, ta:tb].astype(np.int64)  # the one read of the test labels
    if not labels.any():
        raise ValueError(f"{dataset.name}: no labelled anomaly in the test part; cannot score")
    values = {s: _metric_values(dataset, labels, scores[s], cfg) for s in SCORERS}
    wall = time.perf_counter() - t0
    extra = {**details, "n_test": tb - ta, "config": describe(cfg)}
    return [
        ResultRow(
            **encoder.row_fields(),
            task="anomaly",
            dataset=dataset.name,
            regime=cfg.regime,
            seed=seed,
            metric=f"{scorer}/{name}",
            value=value,
            higher_is_better=METRICS.get(name).higher_is_better,
            wall_seconds=wall,
            extra=extra,
        )
        for scorer in SCORERS
        for name, value in values[scorer].items()
    ]
