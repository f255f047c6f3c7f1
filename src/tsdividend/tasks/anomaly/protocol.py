"""The anomaly protocol's entry points: point scores of both scorers, metrics, result rows.

See :mod:`tsdividend.tasks.anomaly` for the protocol.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from tsdividend.data.dataset import Dataset
from tsdividend.device import pick_device
from tsdividend.encoder.adapter import TokenEncoder
from tsdividend.metrics import (
    METRICS,
    ucr_score_kdd21,
    ucr_score_rewicki23,
    vus,
    vus_max_window,
)
from tsdividend.metrics.anomaly import auc_pr, auc_roc, best_f1, pa_f1, segments
from tsdividend.results.row import ResultRow
from tsdividend.tasks.anomaly.config import OTHER_METRICS, SCORERS, UCR_METRICS, AnomalyConfig
from tsdividend.tasks.anomaly.finetune import finetune_anomaly
from tsdividend.tasks.anomaly.scorers import fit_decoder, knn_scores, recon_scores, spread
from tsdividend.tasks.anomaly.windows import encode, layout, window_starts
from tsdividend.tasks.base import Builds, check_init, describe, row_identity

__all__ = ["anomaly_scores", "evaluate_anomaly", "vus_buffer"]


def anomaly_scores(
    encoder: TokenEncoder, dataset: Dataset, cfg: AnomalyConfig, seed: int, *, device: str = "auto"
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
    lay = layout(encoder, dataset, cfg)
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
    train = encode(encoder, lay.x, lay.m, lay.train_starts, width, cfg.embed_batch_size)
    test_starts = window_starts(ta, tb, width, width)
    test = encode(encoder, lay.x, lay.m, test_starts, width, cfg.embed_batch_size)
    if cfg.regime == "probe":
        train_val = train.take(np.r_[:n_fit, -n_val:0])
        decoder, epochs = fit_decoder(train_val, n_fit, cfg, seed, dev)
    stride = encoder.token_stride
    knn = knn_scores(train, test, cfg.k, dev)
    scores = {
        "recon": spread(recon_scores(decoder, test, dev), test, stride, ta, tb - ta),
        "knn": spread(
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
    encoder: Builds,
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
        ValueError: for an encoder init the regime does not take, or a test part with no
            labelled anomaly.
    """
    check_init(encoder, cfg.regime, "anomaly")
    t0 = time.perf_counter()
    scores, details = anomaly_scores(encoder.build(seed), dataset, cfg, seed, device=device)
    ta, tb = dataset.time_splits["test"]
    if dataset.y is None:
        raise ValueError(f"{dataset.name}: no point labels; anomaly detection needs them to score")
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
            **row_identity(encoder, cfg),
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
