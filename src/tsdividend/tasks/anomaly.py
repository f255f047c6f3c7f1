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

Code layout: this module holds the settings, :func:`anomaly_scores`, the metrics and
:func:`evaluate_anomaly`; :mod:`tsdividend.tasks.anomaly_windows` the windows, the encoder pass,
the decoder and the two scorers; :mod:`tsdividend.tasks.anomaly_finetune` the end-to-end
fine-tune (:func:`finetune_anomaly`, importable from here as before).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tsdividend.config import ConfigError, check_int
from tsdividend.data.dataset import Dataset
from tsdividend.device import pick_device
from tsdividend.encoder import Encoder
from tsdividend.metrics import METRICS, ucr_score, vus
from tsdividend.metrics.anomaly import auc_pr, auc_roc, best_f1, pa_f1, segments
from tsdividend.results.row import ResultRow
from tsdividend.tasks.anomaly_finetune import finetune_anomaly
from tsdividend.tasks.anomaly_windows import (
    _encode,
    _fit_decoder,
    _knn_scores,
    _layout,
    _recon_scores,
    _spread,
    _Windows,
    window_length,
    window_starts,
)
from tsdividend.tasks.base import EncoderUnderTest, describe

__all__ = [
    "OTHER_METRICS",
    "REGIMES",
    "SCORERS",
    "UCR_METRICS",
    "AnomalyConfig",
    "anomaly_scores",
    "evaluate_anomaly",
    "finetune_anomaly",
    "window_length",
    "window_starts",
]

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
