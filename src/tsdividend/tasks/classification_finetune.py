"""Classification fine-tune: LP-FT on a step budget, the step chosen by k-fold cross-validation.

``regime="finetune"`` of :mod:`tsdividend.tasks.classification` (also clustering's fine-tune);
docs/protocols.md, "Classification / Fine-tune", states the protocol. In short:

1. **Folds on TRAIN only**: stratified k-fold with ``k = min(cfg.folds, smallest class count)``;
   when a class has a single member (k would be < 2), ``cfg.repeats`` repeated stratified
   splits (:func:`~tsdividend.tasks.base.stratified_split`, ``val_fraction``) instead.
2. **LP** (Kumar et al. 2022): the frozen encoder's pooled features of every training series;
   per fold a standardised logistic regression on the fold's fitting part, C from ``c_grid``
   chosen by the mean fold validation accuracy; the head starts at that solution (the
   standardisation folded into its weights), so step 0 of every fold IS the probe.
3. **FT**: encoder + head of every fold train in lockstep (:func:`~tsdividend.tasks.finetune.
   train_by_steps`: AdamW, warm-up + cosine over ``steps``, gradient clipping); the MEAN fold
   validation accuracy every ``eval_every`` updates selects the step and early-stops
   (``patience`` updates).
4. **Refit** on all of TRAIN: LP with the chosen C, then exactly ``best_step`` updates on the same
   schedule; the test split is predicted once, after every choice.

``lp=False`` is the plain fine-tune (a seeded random head; step 0 is then chance level).
"""

from __future__ import annotations

import copy
import hashlib
import time
from collections import OrderedDict

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler
from torch import Tensor, nn

from tsdividend.config import config_hash
from tsdividend.data import Dataset
from tsdividend.device import pick_device
from tsdividend.encoder.adapter import TokenEncoder
from tsdividend.metrics import accuracy, balanced_accuracy
from tsdividend.results.row import ResultRow
from tsdividend.tasks.base import Builds, Identified, stratified_split
from tsdividend.tasks.classification_config import ClassificationConfig
from tsdividend.tasks.finetune import Run, StepBudget, adamw, train_by_steps, train_fixed
from tsdividend.tasks.probe import pool_windows, result_rows, split_windows
from tsdividend.tasks.probe_fit import quiet

# ClassificationConfig fields that change a fine-tune (the cache key); shots/draws/classifier do not
FINETUNE_FIELDS = ("c_grid", "val_fraction", "max_iter", "lr", "weight_decay", "batch_size",
                   "steps", "warmup", "eval_every", "patience", "grad_clip", "folds", "repeats",
                   "lp")  # fmt: skip


class WindowedClassifier(nn.Module):
    """Encoder + linear head on THE pooled embedding of (B, W, C, L) windowed series.

    Args:
        encoder: the (trainable) encoder.
        n_channels, n_classes: C and the number of classes.
        generator: draws the head's initial weights (replaced by the LP solution in LP-FT).
    """

    def __init__(
        self, encoder: TokenEncoder, n_channels: int, n_classes: int, generator: torch.Generator
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(encoder.embedding_dim(n_channels), n_classes)
        bound = 1.0 / self.head.in_features**0.5  # nn.Linear's default range, drawn reproducibly
        with torch.no_grad():
            self.head.weight.uniform_(-bound, bound, generator=generator)
            self.head.bias.zero_()

    def features(self, x: Tensor, mask: Tensor) -> Tensor:
        """(B, W, C, L) windows + bool mask -> (B, C * D) pooled embeddings."""
        b, w, c, length = x.shape
        z = self.encoder.embed(x.reshape(b * w, c, length), mask.reshape(b * w, c, length))
        return pool_windows(z.reshape(b, w, -1), mask.sum(-1))

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """(B, W, C, L) windows + bool mask -> (B, n_classes) logits."""
        return self.head(self.features(x, mask))


def _predict(model: WindowedClassifier, x: Tensor, m: Tensor, batch_size: int) -> np.ndarray:
    """Class ids for every series (eval mode, no gradient, last partial batch included)."""
    model.eval()
    with torch.inference_mode():
        out = [model(x[i : i + batch_size], m[i : i + batch_size]).argmax(-1)
               for i in range(0, x.shape[0], batch_size)]  # fmt: skip
    return torch.cat(out).cpu().numpy()


def _frozen_features(model: WindowedClassifier, x: Tensor, m: Tensor, bs: int) -> np.ndarray:
    model.eval()
    with torch.inference_mode():
        z = [model.features(x[i : i + bs], m[i : i + bs]) for i in range(0, x.shape[0], bs)]
    return torch.cat(z).double().cpu().numpy()


def cv_folds(
    y: np.ndarray, folds: int, repeats: int, val_fraction: float, seed: int
) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
    """Selection splits of TRAIN: stratified ``min(folds, smallest class)``-fold, or repeated
    stratified splits when a class is a singleton; ``([], "none")`` when nothing can validate.

    Returns:
        ([(fit indices, val indices)], "kfold" | "repeated_split" | "none").
    """
    counts = np.unique(y, return_counts=True)[1]
    k = min(folds, int(counts.min()))
    if k >= 2:
        cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        return [(a.astype(np.int64), b.astype(np.int64))
                for a, b in cv.split(np.zeros(len(y)), y)], "kfold"  # fmt: skip
    splits = [stratified_split(y, val_fraction, seed * 1000 + r) for r in range(repeats)]
    splits = [s for s in splits if s[1].size]
    return (splits, "repeated_split") if splits else ([], "none")


def _logistic(Z: np.ndarray, y: np.ndarray, C: float, max_iter: int) -> tuple:
    scaler = StandardScaler().fit(Z)
    clf = LogisticRegression(C=C, solver="lbfgs", max_iter=max_iter)
    with quiet():  # one BLAS thread and no warning at large C, as every probe fit
        clf.fit(scaler.transform(Z), y)
    return scaler, clf


def _choose_c(Z: np.ndarray, y: np.ndarray, splits: list, cfg: ClassificationConfig) -> float:
    """C of the LP head: best mean validation accuracy over the selection splits (ties: the
    smallest C); ``fixed_C`` without splits."""
    if not splits:
        return cfg.fixed_C
    best, best_c = -1.0, cfg.fixed_C
    for C in sorted(cfg.c_grid):
        accs = []
        for fit, val in splits:
            scaler, clf = _logistic(Z[fit], y[fit], C, cfg.max_iter)
            accs.append(float(np.mean(clf.predict(scaler.transform(Z[val])) == y[val])))
        if np.mean(accs) > best:
            best, best_c = float(np.mean(accs)), C
    return best_c


def _set_lp_head(model: WindowedClassifier, Z: np.ndarray, y: np.ndarray, C: float,
                 max_iter: int) -> None:  # fmt: skip
    """Put the standardised logistic solution into the head: logits on raw features equal the
    pipeline's decision values (binary: +-z/2, so the argmax is the same)."""
    scaler, clf = _logistic(Z, y, C, max_iter)
    coef = clf.coef_ / scaler.scale_
    bias = clf.intercept_ - coef @ scaler.mean_
    if coef.shape[0] == 1:  # binary: one decision value for classes_[1]
        coef, bias = np.vstack([-coef / 2, coef / 2]), np.array([-bias[0] / 2, bias[0] / 2])
    n_out = model.head.out_features
    W, b = np.zeros((n_out, coef.shape[1])), np.full(n_out, bias.min() - 10.0)  # absent: never
    W[clf.classes_], b[clf.classes_] = coef, bias
    with torch.no_grad():
        model.head.weight.copy_(torch.from_numpy(W))
        model.head.bias.copy_(torch.from_numpy(b))


def _batches(idx: np.ndarray, batch_size: int, rng: np.random.Generator):
    """Endless mini-batches: consecutive slices of fresh permutations of ``idx``."""
    bs = min(batch_size, idx.size)
    while True:
        perm = rng.permutation(idx)
        for i in range(0, perm.size - bs + 1, bs):
            yield perm[i : i + bs]


def _make_run(model: WindowedClassifier, fit: np.ndarray, val: np.ndarray | None, data: tuple,
              cfg: ClassificationConfig, rng: np.random.Generator) -> Run:  # fmt: skip
    x, m, y, dev = data
    batches = _batches(fit, cfg.batch_size, rng)

    def loss_fn() -> Tensor:
        b = torch.from_numpy(next(batches)).to(dev)
        return nn.functional.cross_entropy(model(x[b], m[b]), y[b])

    def val_fn() -> float:
        assert val is not None  # val_fn is only passed on with a validation split
        vi = torch.from_numpy(val).to(dev)
        return accuracy(y[vi].cpu().numpy(), _predict(model, x[vi], m[vi], cfg.batch_size))

    opt = adamw([{"params": model.parameters(), "lr": cfg.lr}], cfg.weight_decay)
    return Run(model, opt, loss_fn, val_fn if val is not None else None)


_CACHE: OrderedDict[tuple, tuple[dict, dict]] = OrderedDict()
_CACHE_SIZE = 8


def clear_finetune_cache() -> None:
    """Forget every cached fine-tune (tests that must train twice call it)."""
    _CACHE.clear()


def _cache_key(encoder: Identified, train: Dataset, cfg: ClassificationConfig,
               seed: int) -> tuple:  # fmt: skip
    digest = hashlib.blake2b(digest_size=16)
    for a in (train.X, train.mask, train.y):
        digest.update(np.ascontiguousarray(a).tobytes())
    fields = {f: getattr(cfg, f) for f in FINETUNE_FIELDS}
    return (*encoder.cache_key(seed), seed, digest.hexdigest(), config_hash(fields))


def finetune(
    encoder: Builds, train: Dataset, cfg: ClassificationConfig, seed: int,
    device: str = "auto",
) -> tuple[WindowedClassifier, dict]:  # fmt: skip
    """LP-FT of encoder + head on ``train`` (module docstring); reads nothing but ``train``.

    Dropout draws from torch's global RNG, so the run happens inside ``torch.random.fork_rng``
    seeded with ``seed``; batch orders come from ``np.random.default_rng([seed, fold])``. The
    same (encoder, train data, fine-tune settings, seed) is trained once per process (a small
    in-memory cache: classification and clustering's fine-tune share it).

    Returns:
        The refit model (eval mode) and a summary: best_step, budget_steps, converged,
        steps_run, val_curve (mean fold accuracy per evaluated step), val_accuracy (at
        best_step), selection, n_folds, lp, lp_C, lr, n_fit, n_val (series per fold, mean).
    """
    assert train.y is not None and train.classes is not None  # a labelled dataset
    dev = pick_device(device)
    start = time.perf_counter()
    key = _cache_key(encoder, train, cfg, seed)
    budget = StepBudget(cfg.steps, cfg.warmup, cfg.eval_every, cfg.patience, cfg.grad_clip)
    splits, selection = cv_folds(train.y, cfg.folds, cfg.repeats, cfg.val_fraction, seed)
    base = encoder.build(seed)  # loaded / drawn once; every fold starts from a copy
    n_classes = len(train.classes)

    def new_model() -> WindowedClassifier:
        gen = torch.Generator().manual_seed(seed)
        return WindowedClassifier(copy.deepcopy(base), train.n_channels, n_classes,
                                  gen).to(dev)  # fmt: skip

    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        torch.manual_seed(seed)
        model = new_model()
        if key in _CACHE:
            _CACHE.move_to_end(key)
            state, summary = _CACHE[key]
            model.load_state_dict(state)
            return model.eval(), copy.deepcopy(summary)
        Xw, mw = split_windows(train.X, train.mask, base.max_length)
        x, m = torch.from_numpy(Xw).to(dev), torch.from_numpy(mw).to(dev)
        y = torch.from_numpy(train.y).to(dev)
        lp = cfg.lp and np.unique(train.y).size >= 2
        # the frozen features feed the LP head only (an unused empty array without LP)
        Z = _frozen_features(model, x, m, cfg.batch_size) if lp else np.empty((0, 0))
        C = _choose_c(Z, train.y, splits, cfg) if lp else float("nan")
        if splits:
            runs = []
            for fold, (fit, val) in enumerate(splits):
                fold_model = new_model()
                if lp:
                    _set_lp_head(fold_model, Z[fit], train.y[fit], C, cfg.max_iter)
                runs.append(_make_run(fold_model, fit, val, (x, m, y, dev), cfg,
                                      np.random.default_rng([seed, fold])))  # fmt: skip
            out = train_by_steps(runs, budget, higher_is_better=True, keep_best=False)
            del runs
            best_step, info = out.best_step, out.summary()
            info["val_accuracy"] = out.best_score
        else:  # nothing can validate: the whole budget, flagged as not converged
            best_step = cfg.steps
            info = {"best_step": cfg.steps, "budget_steps": cfg.steps, "steps_run": cfg.steps,
                    "converged": False, "val_curve": [], "val_accuracy": float("nan")}  # fmt: skip
        if lp:
            _set_lp_head(model, Z, train.y, C, cfg.max_iter)
        every = np.arange(train.y.size)
        refit = _make_run(model, every, None, (x, m, y, dev), cfg,
                          np.random.default_rng([seed, len(splits)]))  # fmt: skip
        train_fixed(refit, best_step, budget)
    info.update(selection=selection, n_folds=len(splits), lp=bool(lp), lp_C=C, lr=cfg.lr,
                n_fit=float(np.mean([s[0].size for s in splits])) if splits else train.y.size,
                n_val=float(np.mean([s[1].size for s in splits])) if splits else 0,
                finetune_seconds=time.perf_counter() - start)  # fmt: skip
    _CACHE[key] = ({k: v.detach().clone() for k, v in model.state_dict().items()}, info)
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return model.eval(), copy.deepcopy(info)


def finetune_rows(
    encoder: Builds, dataset: Dataset, cfg: ClassificationConfig, seed: int, device: str
) -> list[ResultRow]:
    """Fine-tune on TRAIN (:func:`finetune`), then predict TEST once; accuracy rows."""
    start = time.perf_counter()
    model, summary = finetune(encoder, dataset.subset("train"), cfg, seed, device)
    test = dataset.subset("test")  # every choice is made: the test split is read now, once
    assert test.y is not None  # a labelled classification dataset
    Xw, mw = split_windows(test.X, test.mask, model.encoder.max_length)
    dev = next(model.parameters()).device
    pred = _predict(model, torch.from_numpy(Xw).to(dev), torch.from_numpy(mw).to(dev),
                    cfg.batch_size)  # fmt: skip
    values = {"accuracy": accuracy(test.y, pred),
              "balanced_accuracy": balanced_accuracy(test.y, pred)}  # fmt: skip
    extra = {**summary, "n_test": int(test.y.size)}
    return result_rows(encoder, "classification", dataset.name, "finetune", seed, values,
                       wall_seconds=time.perf_counter() - start, eval_config=cfg,
                       extra=extra)  # fmt: skip
