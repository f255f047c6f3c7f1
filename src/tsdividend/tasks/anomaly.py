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
   UCR archive ("anomaly/ucr/..."): ucr_score_kdd21 (+-``tolerance``, KDD Cup 2021),
   ucr_score_rewicki23 (+-max(anomaly length, ``tolerance``), Rewicki et al. 2023), vus_pr,
   auc_pr, auc_roc; other archives (NAB, MSL): vus_pr, auc_pr, best_f1 and the extra pa_f1. No
   threshold is fitted. VUS buffer by ``vus_buffer`` (:func:`tsdividend.metrics.vus_max_window`:
   "fixed" 100, or "period" = 2 x the dominant period of the first channel's training part),
   recorded in the rows' extras (``vus_buffer``, ``vus_max_window``, ``vus_window_rule``).
   Rows are named ``"<scorer>/<metric>"``, e.g. ``"knn/vus_pr"``.

``regime="finetune"``: LP-FT (Kumar et al. 2022). The probe's linear decoder is first fitted on
the frozen encoder's tokens (as in "probe"), then the encoder AND that decoder are trained end to
end on the reconstruction loss of the normal fitting windows through the shared step-budget engine
(:mod:`tsdividend.tasks.finetune`: AdamW, ``encoder_lr`` 1e-4 for the encoder, a tenth of the
decoder's ``decoder_lr`` 1e-3, warm-up + cosine over ``finetune_steps``, gradient clipping; batch
size chosen from ``finetune_batch_sizes`` by validation error), the step (0 = the probe's decoder
on the frozen encoder) chosen by the validation windows' reconstruction error, early-stopped after
``finetune_patience`` updates without improvement, best encoder+decoder state restored. The
fine-tuned encoder then feeds both scorers exactly as above: ``recon`` with the fine-tuned
decoder, ``knn`` with its tokens of all training windows as the bank. Dropout and batch order
draw from ``seed`` only (``torch.random.fork_rng``); the caller's module is deep-copied, never
modified.

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
from tsdividend.metrics import (
    METRICS,
    ucr_score_kdd21,
    ucr_score_rewicki23,
    vus,
    vus_max_window,
)
from tsdividend.metrics.anomaly import VUS_BUFFERS, auc_pr, auc_roc, best_f1, pa_f1, segments
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
from tsdividend.tasks.finetune import StepBudget

__all__ = [
    "OTHER_METRICS",
    "REGIMES",
    "SCORERS",
    "UCR_METRICS",
    "AnomalyConfig",
    "anomaly_scores",
    "evaluate_anomaly",
    "finetune_anomaly",
    "vus_buffer",
    "window_length",
    "window_starts",
]

SCORERS = ("recon", "knn")
UCR_METRICS = ("ucr_score_kdd21", "ucr_score_rewicki23", "vus_pr", "auc_pr", "auc_roc")
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
        tolerance: UCR score tolerance in steps (100, Wu & Keogh 2021 / KDD Cup 2021); the
            floor of the Rewicki et al. 2023 rule, whose tolerance is max(anomaly length, 100).
        vus_buffer: VUS buffer rule (:func:`tsdividend.metrics.vus_max_window`): "fixed"
            (default: ``vus_max_window`` for every series, so no dataset's metric depends on a
            period estimate; fixed before any score was read) or "period" (the VUS authors'
            setting: 2 x the dominant period of the first channel's training part).
        vus_max_window: largest VUS buffer of the "fixed" rule (100: buffers l = 0..100, soft
            labels reach l // 2 <= 50 steps beyond an anomaly; the value of the first
            implementation, kept so stores stay comparable).
        embed_batch_size: windows per encoder forward pass (256).
        regime: "probe" (frozen encoder) or "finetune" (encoder + decoder end to end).
        encoder_lr: fine-tune AdamW learning rate of the encoder (1e-4: the seed paper's
            PatchTST-MAE rate, a tenth of the decoder's; weight decay is decoder_weight_decay).
        finetune_steps, finetune_warmup, finetune_eval_every, finetune_patience,
            finetune_grad_clip: the fine-tune's step budget (AdamW updates, warm-up + cosine,
            validation reconstruction error every ``finetune_eval_every`` updates, early stop
            after ``finetune_patience`` updates without improvement; docs/protocols.md,
            "Fine-tune budgets").
        finetune_lp: LP-FT (Kumar et al. 2022): start from the probe's decoder fitted on the
            frozen encoder (True) or from the seeded random decoder (False).
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
    vus_buffer: str = "fixed"
    vus_max_window: int = 100
    embed_batch_size: int = 256
    regime: str = "probe"
    encoder_lr: float = 1e-4
    finetune_steps: int = 1000
    finetune_warmup: int = 50
    finetune_eval_every: int = 10
    finetune_patience: int = 300
    finetune_grad_clip: float | None = 1.0
    finetune_lp: bool = True
    finetune_batch_sizes: tuple[int, ...] = (4, 16)

    def __post_init__(self) -> None:
        for name in ("context", "k", "decoder_max_epochs", "decoder_patience"):
            check_int(name, getattr(self, name), 1)
        for name in ("decoder_batch_size", "embed_batch_size"):
            check_int(name, getattr(self, name), 1)
        StepBudget(self.finetune_steps, self.finetune_warmup, self.finetune_eval_every,
                   self.finetune_patience, self.finetune_grad_clip)
        object.__setattr__(self, "finetune_batch_sizes", tuple(self.finetune_batch_sizes))
        if not self.finetune_batch_sizes:
            raise ConfigError("finetune_batch_sizes must list at least one batch size")
        for bs in self.finetune_batch_sizes:
            check_int("finetune_batch_sizes entry", bs, 1)
        check_int("tolerance", self.tolerance, 0)
        check_int("vus_max_window", self.vus_max_window, 0)
        if self.vus_buffer not in VUS_BUFFERS:
            raise ConfigError(f"vus_buffer {self.vus_buffer!r} unknown; valid: {list(VUS_BUFFERS)}")
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
        (window length, window counts, decoder_epochs = the selected decoder epoch of the probe /
        of the LP stage; fine-tune also best_step, budget_steps, converged and the curve).
    """
    dev = pick_device(device)
    lay = _layout(encoder, dataset, cfg)
    extra: dict = {}
    if cfg.regime == "finetune":
        # One fine-tune per candidate batch size; the lowest validation error wins (no label and
        # no test value is read).
        runs = [
            (bs, finetune_anomaly(encoder, dataset, cfg, seed, device=device, batch_size=bs))
            for bs in cfg.finetune_batch_sizes
        ]
        bs, (encoder, decoder, summary) = min(runs, key=lambda r: r[1][2]["val_loss"])
        epochs = int(summary["lp_epochs"])  # the LP decoder's epochs; the FT step is best_step
        extra = {**summary, "finetune_batch_size": bs}
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


def vus_buffer(dataset: Dataset, cfg: AnomalyConfig) -> tuple[int, str]:
    """The VUS ``max_window`` of a dataset under ``cfg.vus_buffer``, from the first channel's
    observed training part only (no test value, no label); see
    :func:`tsdividend.metrics.vus_max_window`."""
    a, b = dataset.time_splits["train"]
    prefix = np.where(dataset.mask[0, 0, a:b], dataset.X[0, 0, a:b], np.nan).astype(np.float64)
    return vus_max_window(cfg.vus_buffer, prefix, cfg.vus_max_window)


def _metric_values(
    dataset: Dataset, labels: np.ndarray, score: np.ndarray, cfg: AnomalyConfig, window: int
) -> dict[str, float]:
    """{metric name: value} for one scorer's test scores (UCR archive vs NAB/MSL sets), VUS with
    buffers 0..``window``. The UCR anomaly is ``[begin of the first labelled run, end of the
    last)`` (the archive has one)."""
    segs = segments(labels)
    begin, end = int(segs[0, 0]), int(segs[-1, 1])
    fns: dict[str, Callable[[], float]] = {
        "ucr_score_kdd21": lambda: ucr_score_kdd21(score, begin, end, cfg.tolerance),
        "ucr_score_rewicki23": lambda: ucr_score_rewicki23(score, begin, end, cfg.tolerance),
        "vus_pr": lambda: vus(labels, score, window)[1],
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
    window, how = vus_buffer(dataset, cfg)
    values = {s: _metric_values(dataset, labels, scores[s], cfg, window) for s in SCORERS}
    wall = time.perf_counter() - t0
    extra = {**details, "n_test": tb - ta, "config": describe(cfg), "vus_buffer": cfg.vus_buffer,
             "vus_max_window": window, "vus_window_rule": how}  # fmt: skip
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
