"""MiniRocket (Dempster, Schmidt & Webb, KDD 2021) + ridge: the classification reference.

The standard recipe of the paper: aeon's MiniRocket transform (10,000 features, at most 32
dilations per kernel; multivariate data use its multivariate form automatically), features
standardised with the training mean/std, ``RidgeClassifierCV`` with ``alphas = logspace(-3, 3,
10)`` (alpha chosen by efficient leave-one-out on TRAIN). Fit on train, predict test once.

Unobserved values (``mask`` False: right padding of shorter series, interior gaps): aeon's
MiniRocket takes no unequal-length input, so each (series, channel) holds its last observed value
forward over a gap and to the padded end, and takes its first observed value backward over a
leading gap (a channel with no observation stays 0). Holding the last value keeps the scale of
the series (no resampling) and adds no spurious edges for the convolutions to detect; it is
documented in docs/protocols.md ("Classical references").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from aeon.transformations.collection.convolution_based import MiniRocket
from sklearn.linear_model import RidgeClassifierCV
from sklearn.preprocessing import StandardScaler

from tsdividend.config import ConfigError, check_int
from tsdividend.data import Dataset
from tsdividend.metrics import accuracy, balanced_accuracy
from tsdividend.tasks.baselines.base import register_baseline

MIN_LENGTH = 9  # MiniRocket's kernels have length 9


@dataclass(frozen=True)
class MiniRocketConfig:
    """MiniRocket settings (defaults: Dempster et al. 2021 and aeon's MiniRocket).

    Attributes:
        n_kernels: number of features (10,000).
        max_dilations_per_kernel: 32.
        alphas: ridge penalties searched by leave-one-out CV on train (logspace(-3, 3, 10)).
    """

    n_kernels: int = 10_000
    max_dilations_per_kernel: int = 32
    alphas: tuple[float, ...] = tuple(float(a) for a in np.logspace(-3, 3, 10))

    def __post_init__(self) -> None:
        check_int("n_kernels", self.n_kernels, 84)  # aeon needs at least one kernel set of 84
        check_int("max_dilations_per_kernel", self.max_dilations_per_kernel, 1)
        if not self.alphas or any(not float(a) > 0 for a in self.alphas):
            raise ConfigError(f"alphas must be positive numbers, got {self.alphas}")
        object.__setattr__(self, "alphas", tuple(float(a) for a in self.alphas))


def fill_unobserved(X: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Fill unobserved steps with the last observed value (the first one before it).

    Args:
        X: (N, C, T) values (anything at unobserved steps).
        mask: (N, C, T) bool, True = observed.

    Returns:
        float64 (N, C, T) copy; a channel with no observed step is all 0.
    """
    T = X.shape[-1]
    pos = np.where(mask, np.arange(T), -1)
    last = np.maximum.accumulate(pos, axis=-1)
    first = np.argmax(mask, axis=-1)[..., None]
    idx = np.where(last >= 0, last, first)
    out = np.take_along_axis(np.asarray(X, np.float64), idx, axis=-1)
    return np.where(mask.any(axis=-1, keepdims=True), out, 0.0)


@register_baseline("minirocket", "classification", MiniRocketConfig)
def minirocket(
    dataset: Dataset, cfg: MiniRocketConfig, seed: int
) -> tuple[dict[str, float], dict[str, Any]]:
    """Fit MiniRocket + ridge on ``train``, then predict ``test`` once.

    Returns:
        ({"accuracy", "balanced_accuracy"} on test, {"alpha": chosen ridge alpha, ...}).
    """
    if dataset.length < MIN_LENGTH:
        raise ValueError(f"{dataset.name}: MiniRocket needs series of >= {MIN_LENGTH} steps, "
                         f"got {dataset.length}")  # fmt: skip
    train, test = dataset.subset("train"), dataset.subset("test")
    transform = MiniRocket(
        n_kernels=cfg.n_kernels,
        max_dilations_per_kernel=cfg.max_dilations_per_kernel,
        n_jobs=1,
        random_state=seed,
    )
    features = transform.fit_transform(fill_unobserved(train.X, train.mask))
    scaler = StandardScaler().fit(features)
    ridge = RidgeClassifierCV(alphas=np.asarray(cfg.alphas)).fit(
        scaler.transform(features), train.y
    )
    # the test split is touched here, once, after every choice is made
    test_features = transform.transform(fill_unobserved(test.X, test.mask))
    pred = ridge.predict(scaler.transform(test_features))
    values = {
        "accuracy": accuracy(test.y, pred),
        "balanced_accuracy": balanced_accuracy(test.y, pred),
    }
    extra = {
        "alpha": float(ridge.alpha_),
        "n_features": int(features.shape[1]),
        "n_train": len(train),
        "n_test": len(test),
    }
    return values, extra


class MiniRocketFeatures:
    """MiniRocket as an embedder, so the classical reference also runs through the encoders'
    probes (``--encoder python:tsdividend.tasks.baselines.minirocket:minirocket_features``).

    ``fit`` sets the kernels' dilations and biases from the training series (unsupervised:
    quantiles of convolution outputs; the probes call it on the train split only); ``embed``
    returns the PPV features, unobserved steps held as in :func:`fill_unobserved`.
    """

    max_length = None

    def __init__(self, cfg: MiniRocketConfig = MiniRocketConfig(), seed: int = 0) -> None:
        self.cfg, self.seed = cfg, seed
        self._transform: MiniRocket | None = None

    def fit(self, X: np.ndarray, mask: np.ndarray | None = None) -> MiniRocketFeatures:
        X = np.asarray(X)
        if X.ndim != 3 or X.shape[-1] < MIN_LENGTH:
            raise ValueError(f"MiniRocket needs (N, C, T) series of >= {MIN_LENGTH} steps, got "
                             f"shape {X.shape}")  # fmt: skip
        m = np.isfinite(X) if mask is None else np.asarray(mask, bool) & np.isfinite(X)
        self._transform = MiniRocket(n_kernels=self.cfg.n_kernels,
                                     max_dilations_per_kernel=self.cfg.max_dilations_per_kernel,
                                     n_jobs=1, random_state=self.seed)  # fmt: skip
        self._transform.fit(fill_unobserved(X, m))
        return self

    def embed(self, X: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """(N, C, T) -> float32 (N, n_kernels) features (call :meth:`fit` first)."""
        if self._transform is None:
            raise ValueError("MiniRocketFeatures.embed before fit: fit it on training series")
        X = np.asarray(X)
        m = np.isfinite(X) if mask is None else np.asarray(mask, bool) & np.isfinite(X)
        return np.asarray(self._transform.transform(fill_unobserved(X, m)), np.float32)


def minirocket_features(seed: int = 0) -> MiniRocketFeatures:
    """The external-encoder factory of MiniRocket's features (default settings)."""
    return MiniRocketFeatures(MiniRocketConfig(), seed)
