"""Frozen-embedding utilities shared by the classification and clustering protocols.

* :func:`embed_dataset` / :class:`EmbeddingCache`: the embeddings of every series of a dataset,
  computed ONCE per (encoder, dataset) by the encoder's ``embedder(seed)`` (the narrow
  :class:`~tsdividend.tasks.base.Embeds` interface; for THE encoder eval mode,
  ``torch.inference_mode``, large batches) and reused by the probe, the few-shot draws and
  k-means.
* Long series: a series longer than the embedder's ``max_length`` (THE encoder:
  ``max_window(encoder)`` steps, e.g. ``(511 - 1) * 16 + 16 = 8176`` for the default config) is
  cut into consecutive non-overlapping windows of that length (the last one right-padded and
  masked); each window is embedded by THE pooling rule and the window embeddings are averaged per
  channel, weighted by the number of observed steps of the channel in each window (so the result
  approximates the token mean over the whole series, and padding-only windows count for
  nothing). Shorter and variable-length series go through the observation mask as they are:
  nothing is ever resized or interpolated.
* :func:`fit_probe` and the few-shot helpers live in :mod:`tsdividend.tasks.probe_fit` (C by
  stratified k-fold CV on TRAIN, row-order invariant; the ``ts2vec`` protocol) and stay
  importable from here.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from tsdividend.data import Dataset
from tsdividend.metrics import METRICS
from tsdividend.results.row import ResultRow
from tsdividend.tasks.base import EmbedderLike, Embeds, Identified, describe, row_identity
from tsdividend.tasks.probe_fit import (  # noqa: F401 (re-exported: importable from here)
    C_GRID,
    CLASSIFIERS,
    MAX_FOLDS,
    TS2VEC_C_GRID,
    TS2VEC_MAX_SAMPLES,
    ProbeFit,
    canonical_order,
    few_shot_indices,
    fit_few_shot,
    fit_probe,
    make_classifier,
)


def split_windows(
    X: np.ndarray, mask: np.ndarray, window: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Cut (N, C, T) series into W = ceil(T / window) consecutive windows (``window``: the
    encoder's ``max_length``; None = it takes any length, one window).

    Returns:
        (N, W, C, L) values and bool mask, L = min(T, window); the tail of the last window is
        padding (value 0, mask False). W = 1 and the input unchanged when T <= window.
    """
    n, c, t = X.shape
    if window is None or t <= window:
        return X[:, None], mask[:, None]
    w = -(-t // window)
    pad = w * window - t
    Xp = np.pad(X, ((0, 0), (0, 0), (0, pad)))
    mp = np.pad(mask, ((0, 0), (0, 0), (0, pad)))
    # (N, C, W, L) -> (N, W, C, L): window w of every channel holds steps [w*L, (w+1)*L).
    return (Xp.reshape(n, c, w, window).transpose(0, 2, 1, 3).copy(),
            mp.reshape(n, c, w, window).transpose(0, 2, 1, 3).copy())  # fmt: skip


def pool_windows(z: Tensor, observed: Tensor) -> Tensor:
    """Average window embeddings per channel, weighted by observed steps.

    Args:
        z: (N, W, C * D) window embeddings (channels concatenated, THE pooling rule).
        observed: (N, W, C) number of observed steps per window and channel.

    Returns:
        (N, C * D); a channel never observed gives zeros.
    """
    n, w, cd = z.shape
    c = observed.shape[-1]
    weights = observed.to(z.dtype)
    weights = weights / weights.sum(dim=1, keepdim=True).clamp_min(1.0)
    per_channel = z.reshape(n, w, c, cd // c) * weights.unsqueeze(-1)
    return per_channel.sum(dim=1).reshape(n, cd)


def embed_series(
    embedder: EmbedderLike, X: np.ndarray, mask: np.ndarray, window: int | None
) -> np.ndarray:
    """Frozen embeddings of (N, C, T) series of any length (windows + pooling beyond ``window``).

    Returns:
        float32 (N, C * D).
    """
    Xw, mw = split_windows(X, mask, window)
    n, w, c, length = Xw.shape
    z = embedder.embed(Xw.reshape(n * w, c, length), mw.reshape(n * w, c, length))
    if w == 1:
        return np.asarray(z, np.float32)
    pooled = pool_windows(torch.from_numpy(z.reshape(n, w, -1)), torch.from_numpy(mw.sum(-1)))
    return pooled.numpy().astype(np.float32)


@dataclass(frozen=True)
class Embeddings:
    """Frozen embeddings of every series of a dataset (index with ``dataset.splits``).

    Attributes:
        Z: float32 (N, C * D).
        seconds: wall time of the embedding pass that produced them (the first, uncached call).
    """

    Z: np.ndarray
    seconds: float


class EmbeddingCache:
    """In-memory LRU cache of :class:`Embeddings` keyed by (encoder, init seed, dataset content).

    The key holds the encoder's ``cache_key(seed)`` (for :class:`EncoderUnderTest`: init,
    checkpoint path, config hash and the init seed of random/scratch encoders) and a BLAKE2
    digest of the dataset's ``X`` and ``mask``, so a user-built dataset that reuses a name never
    hits a stale entry.
    """

    def __init__(self, max_items: int = 16) -> None:
        if max_items < 1:
            raise ValueError(f"max_items must be >= 1, got {max_items}")
        self.max_items = max_items
        self._items: OrderedDict[tuple, Embeddings] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(encoder: Embeds, seed: int, dataset: Dataset) -> tuple:
        digest = hashlib.blake2b(digest_size=16)
        digest.update(np.ascontiguousarray(dataset.X).tobytes())
        digest.update(np.packbits(dataset.mask).tobytes())
        return (*encoder.cache_key(seed), dataset.name, dataset.X.shape, digest.hexdigest())

    def get(
        self, encoder: Embeds, seed: int, dataset: Dataset, *,
        device: str = "auto", batch_size: int = 256,
    ) -> Embeddings:  # fmt: skip
        """Embeddings of ``dataset`` by ``encoder.embedder(seed)``, computed on the first call."""
        key = self.key(encoder, seed, dataset)
        if key in self._items:
            self.hits += 1
            self._items.move_to_end(key)
            return self._items[key]
        self.misses += 1
        out = embed_dataset(encoder, seed, dataset, device=device, batch_size=batch_size)
        self._items[key] = out
        if len(self._items) > self.max_items:
            self._items.popitem(last=False)
        return out

    def clear(self) -> None:
        self._items.clear()


DEFAULT_CACHE = EmbeddingCache()


def embed_dataset(
    encoder: Embeds, seed: int, dataset: Dataset, *,
    device: str = "auto", batch_size: int = 256,
) -> Embeddings:  # fmt: skip
    """Embed every series of ``dataset`` with the frozen encoder (init ``seed`` when random).

    An embedder with a ``fit(X, mask)`` method (a feature extractor with data-dependent
    parameters, e.g. MiniRocket's biases) is fitted first on the ``train`` split's series only,
    without labels (every series when the dataset has no split).
    """
    start = time.perf_counter()
    embedder = encoder.embedder(seed, device=device, batch_size=batch_size)
    idx = dataset.splits.get("train", np.arange(len(dataset.X)))
    fit_embedder(embedder, dataset.X[idx], dataset.mask[idx])
    Z = embed_series(embedder, dataset.X, dataset.mask, embedder.max_length)
    return Embeddings(Z, time.perf_counter() - start)


def fit_embedder(embedder: EmbedderLike, X: np.ndarray, mask: np.ndarray) -> None:
    """Fit the data-dependent parameters of an embedder that has a ``fit(X, mask)`` method (a
    feature extractor such as MiniRocket; unlabelled); neural encoders have none."""
    fit = getattr(embedder, "fit", None)
    if callable(fit):
        fit(X, mask)


def base_metric(name: str) -> str:
    """The registered metric behind a row name: "accuracy@5shot/ci_low" -> "accuracy"."""
    return name.split("@")[0].split("/")[0]


def result_rows(
    encoder: Identified, task: str, dataset: str, regime: str, seed: int,
    values: dict[str, float], *, wall_seconds: float, eval_config: object,
    extra: dict | None = None, per_metric_extra: dict[str, dict] | None = None,
) -> list[ResultRow]:  # fmt: skip
    """One :class:`ResultRow` per entry of ``values`` (direction from ``METRICS``).

    Identity fields from :func:`~tsdividend.tasks.base.row_identity`; the resolved evaluation
    config is recorded in ``extra["eval_config"]``.
    """
    fields = row_identity(encoder, eval_config)
    eval_dict = describe(eval_config)
    rows = []
    for name, value in values.items():
        more = {**(extra or {}), **(per_metric_extra or {}).get(name, {})}
        # NaN (e.g. no validation score) is not valid JSON: record it as null
        more = {k: None if isinstance(v, float) and np.isnan(v) else v for k, v in more.items()}
        direction = METRICS.get(base_metric(name)).higher_is_better
        rows.append(ResultRow(task=task, dataset=dataset, regime=regime, seed=seed, metric=name,
                              value=value, higher_is_better=direction, wall_seconds=wall_seconds,
                              extra={**more, "eval_config": eval_dict}, **fields))  # fmt: skip
    return rows
