"""scikit-learn estimators over any encoder: embed as a transformer, classify with the protocols.

:class:`EncoderTransformer` (``fit`` / ``transform``: the frozen encoder's embeddings) and
:class:`EncoderClassifier` (``fit`` = the classification protocol's logistic probe, C chosen by
stratified CV on the training data, or its LP-FT fine-tune; ``predict``, ``predict_proba``,
``score``) are ``BaseEstimator`` s: ``clone``, ``Pipeline``, ``GridSearchCV`` and
``cross_val_score`` take them. ``encoder`` is a pretraining run folder, ``"random"`` (THE
encoder at ``architecture``, randomly initialised from ``seed``), an external encoder
``"python:pkg.module:factory"`` (:mod:`tsdividend.tasks.external`) or an encoder object
(:class:`~tsdividend.tasks.base.EncoderUnderTest`, :class:`~tsdividend.tasks.external.
ExternalEncoder`).

``X`` may be a NumPy ``(N, T)`` or ``(N, C, T)`` array (NaN = missing: masked, never fed), a
list of ``(T_i,)`` / ``(C, T_i)`` arrays of unequal lengths (aeon's collections) or a pandas
DataFrame (wide, or long with ``id_col`` / ``time_col``), converted by
:func:`tsdividend.data.to_collection`. A 2-D array is N univariate series (its columns are time
steps), so ``n_features_in_`` is its column count.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d

from tsdividend.config import override
from tsdividend.data import Dataset, from_numpy, to_collection
from tsdividend.device import pick_device
from tsdividend.encoder import EncoderConfig
from tsdividend.encoder.embedder import read_config
from tsdividend.encoder.saved import PRETRAINED_META, save_weights
from tsdividend.pretrained import load_pretrained, save_encoder
from tsdividend.tasks.base import EncoderLike, EncoderUnderTest
from tsdividend.tasks.classification_config import ClassificationConfig
from tsdividend.tasks.classification_finetune import WindowedClassifier, _predict, finetune
from tsdividend.tasks.external import EXTERNAL_PREFIX, ExternalEncoder
from tsdividend.tasks.probe import embed_series, fit_embedder, split_windows
from tsdividend.tasks.probe_fit import TrainedProbe, train_probe

__all__ = ["EncoderClassifier", "EncoderTransformer", "resolve_encoder"]

CLASSIFIER_WEIGHTS = "classifier.safetensors"


def resolve_encoder(
    encoder: Any, architecture: Mapping[str, Any] | EncoderConfig | None = None
) -> EncoderLike:
    """An encoder object from the estimators' ``encoder`` parameter (module docstring)."""
    if not isinstance(encoder, str):
        if not callable(getattr(encoder, "embedder", None)):
            raise ValueError(f"encoder must be a run folder, 'random', 'python:pkg.module:"
                             f"factory' or an encoder object, got {encoder!r}")  # fmt: skip
        return encoder
    if encoder.startswith(EXTERNAL_PREFIX):
        return ExternalEncoder.from_ref(encoder)
    if encoder == "scratch":
        raise ValueError("encoder 'scratch' is the fine-tune baseline's name: use 'random' "
                         "with regime='finetune'")  # fmt: skip
    if encoder == "random":
        if isinstance(architecture, EncoderConfig):
            return EncoderUnderTest("random", architecture)
        return EncoderUnderTest("random", override(EncoderConfig(), dict(architecture or {})))
    if architecture:
        raise ValueError(f"architecture describes a 'random' encoder; {encoder} carries its own")
    return load_pretrained(encoder)


def _series(est: Any, X: Any, *, reset: bool) -> Dataset:
    """``X`` as a Dataset, recording (reset) or checking ``n_features_in_`` for 2-D arrays."""
    data = to_collection(X, id_col=est.id_col, time_col=est.time_col)
    width = _table_width(X)
    if width is not None:
        if reset:
            est.n_features_in_ = width
        elif hasattr(est, "n_features_in_") and width != est.n_features_in_:
            raise ValueError(f"X has {width} features, but {type(est).__name__} is expecting "
                             f"{est.n_features_in_} features as input")  # fmt: skip
    elif reset and hasattr(est, "n_features_in_"):
        del est.n_features_in_
    return data


def _table_width(X: Any) -> int | None:
    """The column count of a 2-D table (array or list of equal-length rows), else None."""
    if isinstance(X, (np.ndarray, list, tuple)):
        try:
            arr = np.asarray(X)
        except ValueError:  # ragged: a collection of unequal series
            return None
        return arr.shape[1] if arr.ndim == 2 else None
    return None


class EncoderTransformer(TransformerMixin, BaseEstimator):
    """The frozen encoder's embeddings as features: (N, ...) series -> (N, D).

    Args:
        encoder: run folder, "random", "python:pkg.module:factory" or an encoder object.
        architecture: EncoderConfig fields (or a config) of a "random" encoder.
        seed: random-init draw.
        device: "cpu", "cuda" or "auto".
        batch_size: series per forward pass.
        id_col, time_col: long DataFrame layout (see :func:`tsdividend.data.from_pandas`).
    """

    def __init__(
        self, encoder: Any = "random", *, architecture: Any = None, seed: int = 0,
        device: str = "cpu", batch_size: int = 256, id_col: str | None = None,
        time_col: str | None = None,
    ) -> None:  # fmt: skip
        self.encoder = encoder
        self.architecture = architecture
        self.seed = seed
        self.device = device
        self.batch_size = batch_size
        self.id_col = id_col
        self.time_col = time_col

    def _build(self) -> None:
        self.encoder_ = resolve_encoder(self.encoder, self.architecture)
        self.embedder_ = self.encoder_.embedder(self.seed, device=self.device,
                                                batch_size=self.batch_size)  # fmt: skip

    def fit(self, X: Any, y: Any = None) -> EncoderTransformer:
        """Build the encoder (and fit a feature extractor's data-dependent parameters on X)."""
        data = _series(self, X, reset=True)
        self._build()
        fit_embedder(self.embedder_, data.X, data.mask)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """float32 (N, D) embeddings (series longer than the encoder takes: windows, pooled)."""
        check_is_fitted(self, "embedder_")
        data = _series(self, X, reset=False)
        return embed_series(self.embedder_, data.X, data.mask, self.embedder_.max_length)

    def save_pretrained(self, folder: str | Path) -> Path:
        """The encoder as ``config.json`` + ``model.safetensors`` + model card."""
        check_is_fitted(self, "embedder_")
        return save_encoder(self.encoder_, folder, seed=self.seed)

    @classmethod
    def from_pretrained(cls, folder: str | Path, **params: Any) -> EncoderTransformer:
        """A transformer on a saved encoder, ready to ``transform`` (no data needed)."""
        est = cls(encoder=str(folder), **params)
        est._build()
        return est

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # NaN = a missing value, masked
        tags.transformer_tags.preserves_dtype = ["float32"]  # embeddings are float32
        return tags


class EncoderClassifier(ClassifierMixin, BaseEstimator):
    """A classifier on an encoder by the classification protocol (docs/protocols.md).

    ``regime="probe"``: logistic regression on the frozen embeddings, standardised, C from
    ``c_grid`` by stratified k-fold CV on the training data (k = min(5, smallest class)).
    ``regime="finetune"``: the protocol's LP-FT of encoder + linear head on a step budget with
    the step chosen by k-fold validation, then refit on all the training data.

    Args:
        encoder, architecture, seed, device, batch_size, id_col, time_col: as
            :class:`EncoderTransformer`.
        regime: "probe" or "finetune".
        c_grid: the probe's C candidates (None: the protocol's).
        steps: fine-tune step budget (None: the protocol's 1,000); warm-up, validation interval
            and patience keep the protocol's proportions (5%, 1%, 30% of the budget).
    """

    def __init__(
        self, encoder: Any = "random", *, regime: str = "probe", architecture: Any = None,
        seed: int = 0, device: str = "cpu", batch_size: int = 256,
        c_grid: tuple[float, ...] | None = None, steps: int | None = None,
        id_col: str | None = None, time_col: str | None = None,
    ) -> None:  # fmt: skip
        self.encoder = encoder
        self.regime = regime
        self.architecture = architecture
        self.seed = seed
        self.device = device
        self.batch_size = batch_size
        self.c_grid = c_grid
        self.steps = steps
        self.id_col = id_col
        self.time_col = time_col

    def _config(self) -> ClassificationConfig:
        fields: dict[str, Any] = {"regime": self.regime, "shots": ()}
        if self.c_grid is not None:
            fields["c_grid"] = tuple(self.c_grid)
        if self.steps is not None:  # the schedule keeps the protocol's proportions
            base = ClassificationConfig()
            ratio = self.steps / base.steps
            every = max(1, round(base.eval_every * ratio))
            fields.update(
                steps=self.steps,
                warmup=min(self.steps - 1, round(base.warmup * ratio)),
                eval_every=every,
                patience=max(every, round(base.patience * ratio)),
            )
        return override(ClassificationConfig(), fields)

    def fit(self, X: Any, y: Any) -> EncoderClassifier:
        """Fit the probe (or fine-tune) on (X, y); y: any class labels."""
        cfg = self._config()  # bad settings fail before any work
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y "
                             "is None")  # fmt: skip
        data = _series(self, X, reset=True)
        y = column_or_1d(y, warn=True)
        if len(y) != len(data.X):
            raise ValueError(f"y has {len(y)} labels for {len(data.X)} series")
        check_classification_targets(y)
        self.classes_, ids = np.unique(y, return_inverse=True)
        self.encoder_ = resolve_encoder(self.encoder, self.architecture)
        if cfg.regime == "probe":
            self.embedder_ = self.encoder_.embedder(self.seed, device=self.device,
                                                    batch_size=self.batch_size)  # fmt: skip
            fit_embedder(self.embedder_, data.X, data.mask)
            Z = embed_series(self.embedder_, data.X, data.mask, self.embedder_.max_length)
            self.probe_: TrainedProbe = train_probe(
                Z, ids, classifier=cfg.classifier, grid=cfg.c_grid, max_folds=cfg.probe_folds,
                repeats=cfg.probe_repeats, seed=self.seed, fixed_C=cfg.fixed_C,
                max_iter=cfg.max_iter,
            )  # fmt: skip
        else:
            train = from_numpy(np.where(data.mask, data.X, np.nan), ids, name="X",
                               task="classification")  # fmt: skip
            self.model_, self.summary_ = finetune(self.encoder_, train, cfg, self.seed,
                                                  self.device)  # fmt: skip
            self.n_channels_ = train.n_channels
        return self

    def _embeddings(self, X: Any) -> np.ndarray:
        """The probe's input: the frozen embeddings of ``X``."""
        data = _series(self, X, reset=False)
        return embed_series(self.embedder_, data.X, data.mask, self.embedder_.max_length)

    def _windows(self, X: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """The fine-tuned model's input: ``X`` windowed (and its mask), on the model's device."""
        data = _series(self, X, reset=False)
        Xw, mw = split_windows(data.X, data.mask, self.model_.encoder.max_length)
        dev = next(self.model_.parameters()).device
        return torch.from_numpy(Xw).to(dev), torch.from_numpy(mw).to(dev)

    def predict(self, X: Any) -> np.ndarray:
        """Class labels (the values given to ``fit``)."""
        check_is_fitted(self, "classes_")
        if self.regime == "probe":
            return self.classes_[self.probe_.predict(self._embeddings(X))]
        return self.classes_[_predict(self.model_, *self._windows(X), self.batch_size)]

    def predict_proba(self, X: Any) -> np.ndarray:
        """(N, classes) probabilities, columns in ``classes_`` order (the probe: logistic)."""
        check_is_fitted(self, "classes_")
        if self.regime == "probe":
            Z = self._embeddings(X)
            proba = self.probe_.predict_proba(Z)
            if proba.shape[1] == len(self.classes_):
                return proba
            full = np.zeros((len(Z), len(self.classes_)))  # one training class
            full[:, self.probe_.constant or 0] = 1.0
            return full
        x, m = self._windows(X)
        self.model_.eval()
        with torch.inference_mode():
            out = [torch.softmax(self.model_(x[i : i + self.batch_size],
                                             m[i : i + self.batch_size]).float(), -1)
                   for i in range(0, len(x), self.batch_size)]  # fmt: skip
        return torch.cat(out).cpu().numpy()

    def save_pretrained(self, folder: str | Path) -> Path:
        """The fitted classifier: the encoder (fine-tuned weights for ``regime="finetune"``) as
        :meth:`EncoderTransformer.save_pretrained`, the head in ``classifier.safetensors`` and
        the labels in ``config.json``'s ``classifier``."""
        check_is_fitted(self, "classes_")
        folder = Path(folder)
        info: dict[str, Any] = {
            "regime": self.regime,
            "classes": self.classes_.tolist(),
            "classes_dtype": self.classes_.dtype.str,
            "seed": self.seed,
        }
        module = None
        if self.regime == "probe":
            info.update(C=self.probe_.C, selection=self.probe_.selection,
                        constant=self.probe_.constant)  # fmt: skip
            tensors = probe_tensors(self.probe_)
        else:
            module = self.model_.encoder  # the fine-tuned weights replace the encoder's
            info["n_channels"] = self.n_channels_
            tensors = {k: v.detach().contiguous().cpu()
                       for k, v in self.model_.head.state_dict().items()}  # fmt: skip
        save_encoder(self.encoder_, folder, seed=self.seed, module=module,
                     extra={"kind": "classifier", "classifier": info})  # fmt: skip
        if tensors:
            save_weights(folder, tensors, CLASSIFIER_WEIGHTS)
        return folder

    @classmethod
    def from_pretrained(cls, folder: str | Path, **params: Any) -> EncoderClassifier:
        """A fitted classifier from :meth:`save_pretrained`'s folder (never unpickles)."""
        folder = Path(folder)
        info = read_config(folder).get("classifier")
        if not isinstance(info, dict):
            raise ValueError(f"{folder / PRETRAINED_META} describes no classifier (save one with "
                             "EncoderClassifier.save_pretrained)")  # fmt: skip
        params = {"seed": info.get("seed", 0), **params}
        est = cls(encoder=str(folder), regime=info["regime"], **params)
        est.encoder_ = resolve_encoder(str(folder))
        est.classes_ = np.array(info["classes"], dtype=np.dtype(info["classes_dtype"]))
        tensors = _load_tensors(folder / CLASSIFIER_WEIGHTS)
        if est.regime == "probe":
            est.embedder_ = est.encoder_.embedder(est.seed, device=est.device,
                                                  batch_size=est.batch_size)  # fmt: skip
            est.probe_ = probe_from_tensors(tensors, info)
        else:
            gen = torch.Generator().manual_seed(est.seed)
            model = WindowedClassifier(est.encoder_.build(est.seed), info["n_channels"],
                                       len(est.classes_), gen)  # fmt: skip
            model.head.load_state_dict(tensors)
            est.model_ = model.to(pick_device(est.device)).eval()
            est.n_channels_ = info["n_channels"]
        return est

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # NaN = a missing value, masked
        # scikit-learn's blobs differ by level only, and THE encoder's patch tokens are
        # instance-normalised (RevIN): a 2-step series keeps only the sign of its difference,
        # so the 83% training-accuracy check cannot hold (docs/estimators.md)
        tags.classifier_tags.poor_score = True
        return tags


def probe_tensors(probe: TrainedProbe) -> dict[str, torch.Tensor]:
    """The logistic probe's scaler and weights as float64 tensors (empty for a one-class
    probe)."""
    if probe.model is None:
        return {}
    scale, clf = probe.model.named_steps["scale"], probe.model.named_steps["clf"]
    arrays = {"scale.mean": scale.mean_, "scale.scale": scale.scale_, "coef": clf.coef_,
              "intercept": clf.intercept_}  # fmt: skip
    return {k: torch.from_numpy(np.ascontiguousarray(v, np.float64)) for k, v in arrays.items()}


def probe_from_tensors(tensors: dict[str, torch.Tensor], info: dict[str, Any]) -> TrainedProbe:
    """A fitted logistic probe rebuilt from :func:`probe_tensors` (same predictions)."""
    if not tensors:
        return TrainedProbe(float("nan"), float("nan"), 0, 0, "constant", 0,
                            constant=info["constant"])  # fmt: skip
    arr = {k: v.numpy() for k, v in tensors.items()}
    scaler = StandardScaler()
    scaler.mean_, scaler.scale_, scaler.var_ = (
        arr["scale.mean"],
        arr["scale.scale"],
        arr["scale.scale"] ** 2,
    )
    scaler.n_features_in_ = arr["coef"].shape[1]
    lr = LogisticRegression(C=info["C"])
    lr.coef_, lr.intercept_ = arr["coef"], arr["intercept"]
    n_classes = max(2, arr["coef"].shape[0])
    lr.classes_, lr.n_features_in_ = np.arange(n_classes), arr["coef"].shape[1]
    pipe = Pipeline([("scale", scaler), ("clf", lr)])
    return TrainedProbe(float(info["C"]), float("nan"), 0, 0, info["selection"], 0, model=pipe)


def _load_tensors(path: Path) -> dict[str, torch.Tensor]:
    return load_file(str(path)) if path.is_file() else {}
