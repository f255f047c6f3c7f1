"""Frozen-embedding utilities shared by the classification and clustering protocols.

* :func:`embed_dataset` / :class:`EmbeddingCache`: the embeddings of every series of a dataset,
  computed ONCE per (encoder, dataset) by :meth:`EncoderUnderTest.embedder` (eval mode,
  ``torch.inference_mode``, large batches) and reused by the probe, the few-shot draws and
  k-means.
* Long series: a series longer than the encoder's context (``max_window(encoder)`` steps, e.g.
  ``(511 - 1) * 16 + 16 = 8176`` for the default config) is cut into consecutive non-overlapping
  windows of that length (the last one right-padded and masked); each window is embedded by THE
  pooling rule and the window embeddings are averaged per channel, weighted by the number of
  observed steps of the channel in each window (so the result approximates the token mean over
  the whole series, and padding-only windows count for nothing). Shorter and variable-length
  series go through the observation mask as they are: nothing is ever resized or interpolated.
* :func:`fit_probe`: a scikit-learn classifier on standardised features with ``C`` chosen on a
  stratified validation split carved from TRAIN, then refit on all of train; the test features
  are used once, for the final prediction.
"""

from __future__ import annotations

import hashlib
import time
import warnings
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, PredefinedSplit, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from threadpoolctl import threadpool_limits
from torch import Tensor

from tsdividend.config import config_hash
from tsdividend.data import Dataset
from tsdividend.encoder import Encoder
from tsdividend.metrics import METRICS
from tsdividend.results.row import ResultRow
from tsdividend.tasks.base import EmbedderLike, EncoderUnderTest, describe, stratified_split

CLASSIFIERS = ("logistic", "svm")
C_GRID = tuple(10.0**k for k in range(-4, 5))  # 1e-4 .. 1e4, the TS2Vec SVM grid (Yue et al. 2022)


def max_window(encoder: Encoder) -> int:
    """Longest series (steps) the encoder takes in one pass: ``(max_tokens - 1) * stride + P``."""
    cfg = encoder.config
    return (encoder.max_tokens - 1) * cfg.stride + cfg.patch_len


def split_windows(X: np.ndarray, mask: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut (N, C, T) series into W = ceil(T / window) consecutive windows.

    Returns:
        (N, W, C, L) values and bool mask, L = min(T, window); the tail of the last window is
        padding (value 0, mask False). W = 1 and the input unchanged when T <= window.
    """
    n, c, t = X.shape
    if t <= window:
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
    embedder: EmbedderLike, X: np.ndarray, mask: np.ndarray, window: int
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

    The key holds the encoder kind, checkpoint path, config hash, the init seed (random/scratch
    only: a pretrained encoder ignores it) and a BLAKE2 digest of the dataset's ``X`` and ``mask``,
    so a user-built dataset that reuses a name never hits a stale entry.
    """

    def __init__(self, max_items: int = 16) -> None:
        if max_items < 1:
            raise ValueError(f"max_items must be >= 1, got {max_items}")
        self.max_items = max_items
        self._items: OrderedDict[tuple, Embeddings] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(encoder: EncoderUnderTest, seed: int, dataset: Dataset) -> tuple:
        digest = hashlib.blake2b(digest_size=16)
        digest.update(np.ascontiguousarray(dataset.X).tobytes())
        digest.update(np.packbits(dataset.mask).tobytes())
        init_seed = None if encoder.kind == "pretrained" else seed
        return (encoder.kind, str(encoder.path), config_hash(encoder.config), init_seed,
                dataset.name, dataset.X.shape, digest.hexdigest())  # fmt: skip

    def get(
        self, encoder: EncoderUnderTest, seed: int, dataset: Dataset, *,
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
    encoder: EncoderUnderTest, seed: int, dataset: Dataset, *,
    device: str = "auto", batch_size: int = 256,
) -> Embeddings:  # fmt: skip
    """Embed every series of ``dataset`` with the frozen encoder (init ``seed`` when random)."""
    start = time.perf_counter()
    embedder = encoder.embedder(seed, device=device, batch_size=batch_size)
    Z = embed_series(embedder, dataset.X, dataset.mask, max_window(embedder.encoder))
    return Embeddings(Z, time.perf_counter() - start)


@dataclass(frozen=True)
class ProbeFit:
    """Outcome of :func:`fit_probe`.

    Attributes:
        pred: (N_test,) predicted class ids.
        C: the chosen regularisation constant.
        val_score: validation accuracy of the chosen C (NaN when C was fixed).
        fit_idx, val_idx: indices into the training set used to fit / validate during selection.
        selection: "validation", "fixed" (no usable validation split) or "constant" (one class).
    """

    pred: np.ndarray
    C: float
    val_score: float
    fit_idx: np.ndarray
    val_idx: np.ndarray
    selection: str


def make_classifier(kind: str, C: float, max_iter: int = 2000) -> Pipeline:
    """Standardise (train statistics) -> logistic regression (lbfgs) or RBF SVM (gamma "scale")."""
    if kind == "logistic":
        clf = LogisticRegression(C=C, solver="lbfgs", max_iter=max_iter)
    elif kind == "svm":
        clf = SVC(C=C, kernel="rbf", gamma="scale")
    else:
        raise ValueError(f"classifier {kind!r} unknown; valid: {list(CLASSIFIERS)}")
    return Pipeline([("scale", StandardScaler()), ("clf", clf)])


def _grid_search(
    kind: str, grid: tuple[float, ...], max_iter: int, cv: object, Z: np.ndarray, y: np.ndarray
) -> GridSearchCV:
    # Ties go to the first (smallest, most regularised) C: GridSearchCV ranks ties equally and
    # takes the lowest index, as TS2Vec's search over an ascending grid does.
    search = GridSearchCV(make_classifier(kind, 1.0, max_iter), {"clf__C": list(grid)},
                          scoring="accuracy", cv=cv, refit=True, n_jobs=1)  # fmt: skip
    _quiet_fit(search, Z, y)
    return search


def _quiet_fit(model: object, Z: np.ndarray, y: np.ndarray) -> None:
    # One BLAS thread: these fits are small, and multi-threaded BLAS made them ~10x slower on a
    # busy 2-core machine (measured). At C = 1e4 lbfgs may stop at max_iter: the validation
    # score judges that C like any other, so the warning is noise.
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(Z, y)


def fit_probe(
    Z_train: np.ndarray, y_train: np.ndarray, Z_test: np.ndarray, *, classifier: str = "logistic",
    grid: tuple[float, ...] = C_GRID, val_fraction: float = 0.2, seed: int = 0,
    fixed_C: float = 1.0, max_iter: int = 2000,
) -> ProbeFit:  # fmt: skip
    """Choose C on a stratified validation split of TRAIN, refit on all train, predict test once.

    Selection standardises with the statistics of the fitting part; the refit with those of the
    whole training set. When the validation split is empty (every class has one member) or the
    fitting part holds a single class, ``fixed_C`` is used (selection "fixed"); a training set
    with a single class predicts it everywhere (selection "constant").

    Args:
        Z_train: (N_train, F) features; y_train: (N_train,) class ids; Z_test: (N_test, F).

    Returns:
        A :class:`ProbeFit`.
    """
    if classifier not in CLASSIFIERS:
        raise ValueError(f"classifier {classifier!r} unknown; valid: {list(CLASSIFIERS)}")
    y_train = np.asarray(y_train)
    fit_idx, val_idx = stratified_split(y_train, val_fraction, seed)
    if np.unique(y_train).size < 2:
        pred = np.full(len(Z_test), y_train[0], dtype=y_train.dtype)
        return ProbeFit(pred, float("nan"), float("nan"), fit_idx, val_idx, "constant")
    if val_idx.size == 0 or np.unique(y_train[fit_idx]).size < 2:
        model = make_classifier(classifier, fixed_C, max_iter)
        _quiet_fit(model, Z_train, y_train)
        return ProbeFit(model.predict(Z_test), fixed_C, float("nan"), fit_idx, val_idx, "fixed")
    fold = np.full(len(y_train), -1)
    fold[val_idx] = 0  # PredefinedSplit: -1 = always in the fitting part, 0 = the one val fold
    search = _grid_search(classifier, grid, max_iter, PredefinedSplit(fold), Z_train, y_train)
    return ProbeFit(search.predict(Z_test), float(search.best_params_["clf__C"]),
                    float(search.best_score_), fit_idx, val_idx, "validation")  # fmt: skip


def few_shot_indices(y: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Exactly ``k`` distinct indices per class of ``y`` (sorted), drawn by ``rng``.

    Raises:
        ValueError: when a class has fewer than ``k`` members (naming it).
    """
    picks = []
    for cls in np.unique(y):
        members = np.flatnonzero(y == cls)
        if members.size < k:
            raise ValueError(f"class {cls} has {members.size} training series, fewer than k={k}")
        picks.append(rng.choice(members, size=k, replace=False))
    return np.sort(np.concatenate(picks))


def fit_few_shot(
    Z_support: np.ndarray, y_support: np.ndarray, Z_test: np.ndarray, k: int, *,
    classifier: str = "logistic", grid: tuple[float, ...] = C_GRID, seed: int = 0,
    fixed_C: float = 1.0, max_iter: int = 2000,
) -> tuple[np.ndarray, float]:  # fmt: skip
    """Probe on a k-shot support set only; returns (test predictions, chosen C).

    k = 1: no series can be held out without emptying its class, so C = ``fixed_C``. k >= 2:
    stratified ``min(k, 5)``-fold cross-validation on the support set (for k <= 5 that is
    leave-one-per-class-out), then a refit on the whole support set.
    """
    if k < 2:
        model = make_classifier(classifier, fixed_C, max_iter)
        _quiet_fit(model, Z_support, y_support)
        return model.predict(Z_test), fixed_C
    cv = StratifiedKFold(n_splits=min(k, 5), shuffle=True, random_state=seed)
    search = _grid_search(classifier, grid, max_iter, cv, Z_support, y_support)
    return search.predict(Z_test), float(search.best_params_["clf__C"])


def t_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): Student-t confidence interval of the mean of ``values`` (n >= 2)."""
    values = np.asarray(values, np.float64)
    mean = float(values.mean())
    if values.size < 2 or np.all(values == values[0]):
        return mean, mean, mean
    half = stats.t.ppf(0.5 + level / 2, df=values.size - 1) * stats.sem(values)
    return mean, mean - float(half), mean + float(half)


def base_metric(name: str) -> str:
    """The registered metric behind a row name: "accuracy@5shot/ci_low" -> "accuracy"."""
    return name.split("@")[0].split("/")[0]


def result_rows(
    encoder: EncoderUnderTest, task: str, dataset: str, regime: str, seed: int,
    values: dict[str, float], *, wall_seconds: float, eval_config: object,
    extra: dict | None = None, per_metric_extra: dict[str, dict] | None = None,
) -> list[ResultRow]:  # fmt: skip
    """One :class:`ResultRow` per entry of ``values`` (direction from ``METRICS``).

    ``config_hash`` hashes the encoder's config hash together with the evaluation config, whose
    resolved dict is recorded in ``extra["eval_config"]``.
    """
    fields = encoder.row_fields()
    eval_dict = describe(eval_config)
    fields["config_hash"] = config_hash({"encoder": fields["config_hash"], "eval": eval_dict})
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
