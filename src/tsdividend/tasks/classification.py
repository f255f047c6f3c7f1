"""Classification protocol (UCR univariate, UEA multivariate): probe, few-shot and fine-tune.

* ``regime="probe"``: frozen embeddings (computed once per (encoder, dataset), see
  :mod:`tsdividend.tasks.probe`), standardised with training statistics; logistic regression
  (lbfgs) or, with ``classifier="svm"``, the TS2Vec protocol (RBF SVM, gamma "scale"; Yue et al.
  2022) with C from 1e-4..1e4 chosen by accuracy on a stratified validation split of TRAIN (TS2Vec
  used 5-fold CV on train: a held-out split is the same idea and cheaper), refit on all of train,
  test scored once. Few-shot rows come with it: k in ``shots`` series per class, ``draws`` seeded
  draws, probe on the k-shot support set only, scored on the full test set.
* ``regime="finetune"``: the encoder module (pretrained weights, or a random init for ``scratch``)
  plus a linear head on THE pooled embedding, AdamW + cross-entropy on mini-batches, early stopping
  on validation accuracy, best-validation weights restored, test scored once.

Multivariate data: the encoder is channel-independent and THE pooling concatenates channels.
Series longer than the encoder's context are windowed and pooled (``probe.max_window``).
Metrics: accuracy and balanced accuracy. Row metric names: ``accuracy`` / ``balanced_accuracy``
(full training set); few-shot ``accuracy@5shot`` (mean over draws, the value stats should use),
``accuracy@5shot/ci_low`` and ``/ci_high`` (95% Student-t interval over draws) and
``accuracy@5shot/draw3`` (one draw; every row name is unique per (dataset, seed)).
"""

from __future__ import annotations

import copy
import time
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from tsdividend.config import ConfigError, check_int
from tsdividend.data import Dataset
from tsdividend.device import pick_device
from tsdividend.encoder import Encoder
from tsdividend.metrics import accuracy, balanced_accuracy
from tsdividend.results.row import ResultRow
from tsdividend.tasks.base import EncoderUnderTest, stratified_split
from tsdividend.tasks.probe import (
    C_GRID,
    CLASSIFIERS,
    DEFAULT_CACHE,
    EmbeddingCache,
    few_shot_indices,
    fit_few_shot,
    fit_probe,
    max_window,
    pool_windows,
    result_rows,
    split_windows,
    t_interval,
)  # fmt: skip

REGIMES = ("probe", "finetune")


@dataclass(frozen=True)
class ClassificationConfig:
    """Settings of the classification protocol (defaults and their sources).

    Attributes:
        regime: "probe" (frozen encoder) or "finetune" (end to end).
        classifier: probe classifier, "logistic" or "svm" (TS2Vec protocol).
        c_grid: C values searched (TS2Vec's 1e-4..1e4, powers of ten).
        val_fraction: share of each class of TRAIN held out for selection (0.2, a common choice;
            classes with one member stay in the fitting part).
        fixed_C: C when no selection is possible (1-shot, or no validation split): 1.0, the
            scikit-learn default.
        max_iter: lbfgs iterations (2000: enough for standardised 128..3072-d features).
        shots: few-shot k values (NuTime / TS2Vec-style 1, 5, 10); () turns few-shot off.
        draws: few-shot draws per k (10, the issue's minimum).
        embed_batch_size: series per forward pass when embedding.
        lr, weight_decay: AdamW for fine-tuning (1e-3; 0.05 from NuTime's fine-tune config).
        batch_size: fine-tune mini-batch (32: small UCR training sets still get several steps).
        max_epochs, patience: fine-tune epochs and early-stopping patience on validation
            accuracy (40 and 10: CPU-friendly; NuTime used 500 and 64 on GPUs).
    """

    regime: str = "probe"
    classifier: str = "logistic"
    c_grid: tuple[float, ...] = C_GRID
    val_fraction: float = 0.2
    fixed_C: float = 1.0
    max_iter: int = 2000
    shots: tuple[int, ...] = (1, 5, 10)
    draws: int = 10
    embed_batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.05
    batch_size: int = 32
    max_epochs: int = 40
    patience: int = 10

    def __post_init__(self) -> None:
        if self.regime not in REGIMES:
            raise ConfigError(f"regime {self.regime!r} unknown; valid: {list(REGIMES)}")
        if self.classifier not in CLASSIFIERS:
            raise ConfigError(f"classifier {self.classifier!r} unknown; valid: {list(CLASSIFIERS)}")
        if not self.c_grid or any(not c > 0 for c in self.c_grid):
            raise ConfigError(f"c_grid must hold positive values, got {self.c_grid}")
        if not 0.0 < self.val_fraction < 1.0:
            raise ConfigError(f"val_fraction must be in (0, 1), got {self.val_fraction}")
        if not self.fixed_C > 0 or not self.lr > 0 or self.weight_decay < 0:
            raise ConfigError("fixed_C and lr must be > 0 and weight_decay >= 0, got "
                              f"{self.fixed_C}, {self.lr}, {self.weight_decay}")  # fmt: skip
        for k in self.shots:
            check_int("shots", k, 1)
        for name, low in (("draws", 1), ("max_iter", 1), ("embed_batch_size", 1),
                          ("batch_size", 1), ("max_epochs", 1), ("patience", 1)):  # fmt: skip
            check_int(name, getattr(self, name), low)


def evaluate_classification(
    encoder: EncoderUnderTest, dataset: Dataset, cfg: ClassificationConfig, seed: int, *,
    device: str = "auto", cache: EmbeddingCache | None = None,
) -> list[ResultRow]:  # fmt: skip
    """Run the classification protocol of ``cfg.regime`` on one dataset.

    Args:
        encoder: the encoder under test; "random" is the probe baseline, "scratch" the fine-tune
            one (each is rejected in the other regime, where it would mean something else).
        dataset: a classification :class:`Dataset` with "train" and "test" splits.
        cfg: protocol settings.
        seed: seeds the validation split, few-shot draws, random inits and fine-tune shuffling.
        device: "auto", "cpu" or "cuda".
        cache: embedding cache (default: the process-wide ``probe.DEFAULT_CACHE``).

    Returns:
        Result rows (see the module docstring for metric names).
    """
    _check_inputs(encoder, dataset, cfg.regime)
    if cfg.regime == "finetune":
        return _finetune_rows(encoder, dataset, cfg, seed, device)
    start = time.perf_counter()
    emb = (DEFAULT_CACHE if cache is None else cache).get(encoder, seed, dataset, device=device,
                                       batch_size=cfg.embed_batch_size)  # fmt: skip
    tr, te = dataset.splits["train"], dataset.splits["test"]
    Z_train, y_train, Z_test, y_test = emb.Z[tr], dataset.y[tr], emb.Z[te], dataset.y[te]
    fit = fit_probe(Z_train, y_train, Z_test, classifier=cfg.classifier, grid=cfg.c_grid,
                    val_fraction=cfg.val_fraction, seed=seed, fixed_C=cfg.fixed_C,
                    max_iter=cfg.max_iter)  # fmt: skip
    values = {"accuracy": accuracy(y_test, fit.pred),
              "balanced_accuracy": balanced_accuracy(y_test, fit.pred)}  # fmt: skip
    extra = {"C": fit.C, "val_accuracy": fit.val_score, "selection": fit.selection,
             "classifier": cfg.classifier, "n_train": int(tr.size), "n_val": int(fit.val_idx.size),
             "n_test": int(te.size), "embed_seconds": emb.seconds}  # fmt: skip
    rows = result_rows(encoder, "classification", dataset.name, "probe", seed, values,
                       wall_seconds=time.perf_counter() - start, eval_config=cfg,
                       extra=extra)  # fmt: skip
    for k in cfg.shots:
        rows += _few_shot_rows(encoder, dataset, cfg, seed, k, (Z_train, y_train, Z_test, y_test))
    return rows


def _check_inputs(encoder: EncoderUnderTest, dataset: Dataset, regime: str) -> None:
    if dataset.task != "classification":
        raise ValueError(f"{dataset.name} is a {dataset.task!r} dataset; classification needs "
                         "labelled series (ucr/..., uea/...)")  # fmt: skip
    missing = {"train", "test"} - set(dataset.splits)
    if missing:
        raise ValueError(f"{dataset.name} lacks split(s) {sorted(missing)}; has "
                         f"{sorted(dataset.splits)}")  # fmt: skip
    wrong = {"probe": "scratch", "finetune": "random"}[regime]
    if encoder.kind == wrong:
        raise ValueError(f"encoder kind {wrong!r} does not apply to regime {regime!r}: 'random' is "
                         "the frozen probe baseline, 'scratch' the fine-tune baseline")  # fmt: skip


def _few_shot_rows(
    encoder: EncoderUnderTest, dataset: Dataset, cfg: ClassificationConfig, seed: int, k: int,
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> list[ResultRow]:  # fmt: skip
    """Rows of ``cfg.draws`` k-shot draws plus their mean and 95% t-interval."""
    Z_train, y_train, Z_test, y_test = data
    smallest = int(np.unique(y_train, return_counts=True)[1].min())
    if smallest < k:
        warnings.warn(f"{dataset.name}: a class has {smallest} training series, fewer than "
                      f"k={k}; {k}-shot rows skipped", stacklevel=3)  # fmt: skip
        return []
    start = time.perf_counter()
    scores: dict[str, list[float]] = {"accuracy": [], "balanced_accuracy": []}
    values: dict[str, float] = {}
    per_metric: dict[str, dict] = {}
    for draw in range(cfg.draws):
        idx = few_shot_indices(y_train, k, np.random.default_rng([seed, k, draw]))
        pred, C = fit_few_shot(Z_train[idx], y_train[idx], Z_test, k, classifier=cfg.classifier,
                               grid=cfg.c_grid, seed=seed, fixed_C=cfg.fixed_C,
                               max_iter=cfg.max_iter)  # fmt: skip
        for name, fn in (("accuracy", accuracy), ("balanced_accuracy", balanced_accuracy)):
            scores[name].append(fn(y_test, pred))
            values[f"{name}@{k}shot/draw{draw}"] = scores[name][-1]
            per_metric[f"{name}@{k}shot/draw{draw}"] = {"C": C, "draw": draw}
    for name, vals in scores.items():
        mean, low, high = t_interval(np.asarray(vals))
        values[f"{name}@{k}shot"] = mean
        values[f"{name}@{k}shot/ci_low"] = low
        values[f"{name}@{k}shot/ci_high"] = high
    extra = {"k": k, "draws": cfg.draws, "classifier": cfg.classifier, "n_test": int(y_test.size)}
    return result_rows(encoder, "classification", dataset.name, "probe", seed, values,
                       wall_seconds=time.perf_counter() - start, eval_config=cfg, extra=extra,
                       per_metric_extra=per_metric)  # fmt: skip


class WindowedClassifier(nn.Module):
    """Encoder + linear head on THE pooled embedding of (B, W, C, L) windowed series.

    Args:
        encoder: the (trainable) encoder.
        n_channels, n_classes: C and the number of classes.
        generator: draws the head's initial weights.
    """

    def __init__(
        self, encoder: Encoder, n_channels: int, n_classes: int, generator: torch.Generator
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(encoder.embedding_dim(n_channels), n_classes)
        bound = 1.0 / self.head.in_features**0.5  # nn.Linear's default range, drawn reproducibly
        with torch.no_grad():
            self.head.weight.uniform_(-bound, bound, generator=generator)
            self.head.bias.zero_()

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """(B, W, C, L) windows + bool mask -> (B, n_classes) logits."""
        b, w, c, length = x.shape
        z = self.encoder.embed(x.reshape(b * w, c, length), mask.reshape(b * w, c, length))
        return self.head(pool_windows(z.reshape(b, w, -1), mask.sum(-1)))


def _predict(model: WindowedClassifier, x: Tensor, m: Tensor, batch_size: int) -> np.ndarray:
    """Class ids for every series (eval mode, no gradient, last partial batch included)."""
    model.eval()
    with torch.inference_mode():
        out = [model(x[i : i + batch_size], m[i : i + batch_size]).argmax(-1)
               for i in range(0, x.shape[0], batch_size)]  # fmt: skip
    return torch.cat(out).cpu().numpy()


def finetune(
    encoder: EncoderUnderTest, train: Dataset, cfg: ClassificationConfig, seed: int,
    device: str = "auto",
) -> tuple[WindowedClassifier, dict]:  # fmt: skip
    """Train encoder + head on ``train`` with early stopping on a stratified validation split.

    Dropout draws from torch's global RNG, so the run happens inside ``torch.random.fork_rng``
    seeded with ``seed``: reproducible without touching the caller's RNG state. Without a
    validation split (every class a singleton) all ``max_epochs`` run and the last weights stay.

    Returns:
        The model with its best-validation weights restored, and a summary dict (best_epoch,
        epochs_run, val_accuracy, n_fit, n_val, fit_idx, val_idx).
    """
    dev = pick_device(device)
    fit_idx, val_idx = stratified_split(train.y, cfg.val_fraction, seed)
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        torch.manual_seed(seed)
        enc = encoder.encoder(seed)
        Xw, mw = split_windows(train.X, train.mask, max_window(enc))
        x, m = torch.from_numpy(Xw).to(dev), torch.from_numpy(mw).to(dev)
        y = torch.from_numpy(train.y).to(dev)
        gen = torch.Generator().manual_seed(seed)
        model = WindowedClassifier(enc, train.n_channels, len(train.classes), gen).to(dev)
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        best_acc, best_epoch, best_state, epoch = -1.0, -1, None, -1
        for epoch in range(cfg.max_epochs):
            model.train()
            order = torch.from_numpy(fit_idx)[torch.randperm(fit_idx.size, generator=gen)]
            for i in range(0, order.numel(), cfg.batch_size):
                b = order[i : i + cfg.batch_size].to(dev)
                loss = nn.functional.cross_entropy(model(x[b], m[b]), y[b])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            if val_idx.size == 0:
                best_epoch = epoch
                continue
            vi = torch.from_numpy(val_idx).to(dev)
            acc = accuracy(train.y[val_idx], _predict(model, x[vi], m[vi], cfg.batch_size))
            if acc > best_acc:  # strict: ties keep the earlier (shorter-trained) epoch
                best_acc, best_epoch, best_state = acc, epoch, copy.deepcopy(model.state_dict())
            elif epoch - best_epoch >= cfg.patience:
                break
        if best_state is not None:
            model.load_state_dict(best_state)
    summary = {"best_epoch": best_epoch, "epochs_run": epoch + 1,
               "val_accuracy": best_acc if val_idx.size else float("nan"),
               "n_fit": int(fit_idx.size), "n_val": int(val_idx.size),
               "fit_idx": fit_idx, "val_idx": val_idx}  # fmt: skip
    return model, summary


def _finetune_rows(
    encoder: EncoderUnderTest, dataset: Dataset, cfg: ClassificationConfig, seed: int, device: str
) -> list[ResultRow]:
    start = time.perf_counter()
    model, summary = finetune(encoder, dataset.subset("train"), cfg, seed, device)
    test = dataset.subset("test")
    Xw, mw = split_windows(test.X, test.mask, max_window(model.encoder))
    dev = next(model.parameters()).device
    pred = _predict(model, torch.from_numpy(Xw).to(dev), torch.from_numpy(mw).to(dev),
                    cfg.batch_size)  # fmt: skip
    values = {"accuracy": accuracy(test.y, pred),
              "balanced_accuracy": balanced_accuracy(test.y, pred)}  # fmt: skip
    extra = {k: v for k, v in summary.items() if not k.endswith("_idx")}
    extra["n_test"] = int(test.y.size)
    return result_rows(encoder, "classification", dataset.name, "finetune", seed, values,
                       wall_seconds=time.perf_counter() - start, eval_config=cfg,
                       extra=extra)  # fmt: skip
