"""The shared fine-tune engine: schedule, LP-FT start, step selection, contract fields."""

from __future__ import annotations

import copy
import dataclasses
import math

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from tsdividend.config import ConfigError
from tsdividend.data import Dataset
from tsdividend.encoder import EncoderConfig
from tsdividend.tasks.anomaly import AnomalyConfig, evaluate_anomaly, finetune_anomaly
from tsdividend.tasks.anomaly.scorers import fit_decoder
from tsdividend.tasks.anomaly.windows import encode, layout
from tsdividend.tasks.base import EncoderUnderTest
from tsdividend.tasks.classification import ClassificationConfig, evaluate_classification
from tsdividend.tasks.classification_finetune import (
    WindowedClassifier,
    clear_finetune_cache,
    cv_folds,
    finetune,
)
from tsdividend.tasks.clustering import ClusteringConfig, evaluate_clustering
from tsdividend.tasks.finetune import Run, StepBudget, adamw, lr_scale, train_by_steps
from tsdividend.tasks.forecasting import ForecastingConfig, evaluate_forecasting
from tsdividend.tasks.probe import split_windows

TINY = EncoderConfig(d_model=16, depth=1, n_heads=2, dropout=0.0)
SCRATCH = EncoderUnderTest("scratch", TINY)
CLS = ClassificationConfig(regime="finetune", shots=(), steps=12, warmup=2, eval_every=3,
                           patience=6, batch_size=8, folds=3)  # fmt: skip


def sines(n: int, seed: int, length: int = 32) -> Dataset:
    """Two classes (3 vs 4 cycles), random phase, noise; first half train, second half test."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    t = np.arange(length)
    X = np.sin(2 * np.pi * np.where(y == 0, 3, 4)[:, None] * t / length
               + rng.uniform(0, 6.3, n)[:, None]) + 0.5 * rng.normal(size=(n, length))  # fmt: skip
    X = X[:, None].astype(np.float32)
    splits = {"train": np.arange(n // 2), "test": np.arange(n // 2, n)}
    return Dataset("synthetic/sines", "classification", X, np.ones_like(X, bool),
                   y.astype(np.int64), ("3", "4"), splits=splits)  # fmt: skip


# --- schedule ---------------------------------------------------------------------------------


def test_lr_scale_warms_up_linearly_then_decays_on_a_cosine() -> None:
    total, warm = 110, 10
    vals = [lr_scale(s, total, warm) for s in range(total)]
    assert vals[:warm] == pytest.approx([(s + 1) / warm for s in range(warm)])
    assert vals[warm] == 1.0
    assert lr_scale(warm + 50, total, warm) == pytest.approx(0.5)  # half-way down the cosine
    assert lr_scale(warm + 25, total, warm) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))
    assert all(a >= b for a, b in zip(vals[warm:], vals[warm + 1 :], strict=False))
    assert 0 < vals[-1] < 1e-3  # the last update still moves, barely
    assert lr_scale(0, 5, 0) == 1.0  # no warm-up: the peak at once
    with pytest.raises(ValueError, match="step must be in"):
        lr_scale(total, total, warm)
    with pytest.raises(ValueError, match="warmup"):
        lr_scale(0, 5, 5)


def test_step_budget_evaluates_at_zero_and_at_the_end() -> None:
    assert StepBudget(10, eval_every=4).eval_points() == [0, 4, 8, 10]
    assert StepBudget(8, eval_every=4).eval_points() == [0, 4, 8]
    with pytest.raises(ConfigError, match="warmup must be < steps=5"):
        StepBudget(5, warmup=5)


# --- engine on a one-parameter model -----------------------------------------------------------


def _toy_run(target: float) -> Run:
    """w starts at 0 and is trained towards 1; validation = -(w - target)^2."""
    module = nn.Linear(1, 1, bias=False)
    nn.init.zeros_(module.weight)
    opt = adamw([{"params": module.parameters(), "lr": 0.05}], 0.0)

    def loss_fn() -> torch.Tensor:
        return (module.weight.sum() - 1.0) ** 2

    def val_fn() -> float:
        return -float((module.weight.detach().sum() - target) ** 2)

    return Run(module, opt, loss_fn, val_fn)


def test_validation_improving_to_the_end_is_flagged_not_converged() -> None:
    run = _toy_run(target=5.0)  # every update moves w closer to 5: no early stop possible
    out = train_by_steps([run], StepBudget(20, warmup=2, eval_every=5), higher_is_better=True)
    assert out.best_step == out.budget_steps == out.steps_run == 20
    assert out.converged is False and [p[0] for p in out.curve] == [0, 5, 10, 15, 20]
    assert out.summary()["converged"] is False


def test_early_stop_restores_the_best_step_and_is_converged() -> None:
    run = _toy_run(target=0.3)  # w passes 0.3 on its way to 1: validation peaks, then falls
    budget = StepBudget(400, warmup=5, eval_every=2, patience=20)
    out = train_by_steps([run], budget, higher_is_better=True)
    assert 0 < out.best_step < out.steps_run < 400 and out.converged is True
    assert out.steps_run - out.best_step >= 20  # stopped by patience
    scores = dict((int(s), v) for s, v in out.curve)
    assert out.best_score == max(scores.values()) == scores[out.best_step]
    assert run.val_fn() == pytest.approx(out.best_score)  # best weights restored


def test_lockstep_runs_select_on_the_mean_curve() -> None:
    runs = [_toy_run(0.3), _toy_run(0.6)]
    out = train_by_steps(runs, StepBudget(300, eval_every=1, patience=30), higher_is_better=True,
                         keep_best=False)  # fmt: skip
    single = [train_by_steps([_toy_run(t)], StepBudget(300, eval_every=1, patience=30),
                             higher_is_better=True).best_step for t in (0.3, 0.6)]  # fmt: skip
    assert single[0] < out.best_step < single[1]  # the mean curve peaks between the two


# --- classification: folds, LP start, determinism ---------------------------------------------


def test_cv_folds_kfold_or_repeated_splits() -> None:
    y = np.repeat([0, 1, 2], [3, 7, 9])
    splits, how = cv_folds(y, 5, 4, 0.2, 0)
    assert how == "kfold" and len(splits) == 3  # k = min(5, smallest class = 3)
    vals = np.concatenate([v for _, v in splits])
    assert np.array_equal(np.sort(vals), np.arange(y.size))  # every series validates once
    for fit, val in splits:
        assert set(y[val]) == {0, 1, 2} and np.intersect1d(fit, val).size == 0
    tiny = np.array([0, 1, 1, 1, 1])  # a singleton class: k would be 1
    splits, how = cv_folds(tiny, 5, 4, 0.5, 0)
    assert how == "repeated_split" and len(splits) == 4
    assert all(0 in set(tiny[fit]) and val.size for fit, val in splits)
    assert cv_folds(np.array([0, 1, 2]), 5, 4, 0.2, 0) == ([], "none")


def test_lp_ft_validation_curve_starts_at_the_probe() -> None:
    train = sines(40, 0).subset("train")
    model, summary = finetune(SCRATCH, train, CLS, 0, "cpu")
    assert summary["lp"] is True and summary["selection"] == "kfold"
    # independent reference: frozen features of the same init, the probe per fold at lp_C
    enc = SCRATCH.build(0).eval()
    ref = WindowedClassifier(enc, 1, 2, torch.Generator().manual_seed(0)).eval()
    Xw, mw = split_windows(train.X, train.mask, 10_000)
    with torch.no_grad():
        Z = ref.features(torch.from_numpy(Xw), torch.from_numpy(mw)).double().numpy()
    splits, _ = cv_folds(train.y, CLS.folds, CLS.repeats, CLS.val_fraction, 0)
    accs = []
    for fit, val in splits:
        probe = make_pipeline(
            StandardScaler(), LogisticRegression(C=summary["lp_C"], max_iter=CLS.max_iter)
        )
        probe.fit(Z[fit], train.y[fit])
        accs.append(np.mean(probe.predict(Z[val]) == train.y[val]))
    assert summary["val_curve"][0] == [0, pytest.approx(np.mean(accs))]
    plain = dataclasses.replace(CLS, lp=False)
    _, s2 = finetune(SCRATCH, train, plain, 0, "cpu")
    assert s2["lp"] is False and s2["val_curve"][0][1] != summary["val_curve"][0][1]


def test_lp_with_zero_steps_is_the_probe() -> None:
    """best_step 0 -> the refit model IS the logistic probe on all of train."""
    ds = sines(40, 1)
    cfg = dataclasses.replace(CLS, steps=3, warmup=0, eval_every=3, lr=1e-12)  # FT cannot move
    rows = evaluate_classification(SCRATCH, ds, cfg, 0, device="cpu")
    assert rows[0].extra["best_step"] == 0 and rows[0].extra["converged"] is True
    enc = SCRATCH.build(0).eval()
    ref = WindowedClassifier(enc, 1, 2, torch.Generator().manual_seed(0)).eval()
    with torch.no_grad():
        Z = ref.features(torch.from_numpy(ds.X[:, None]), torch.from_numpy(ds.mask[:, None]))
    Z = Z.double().numpy()
    tr, te = ds.splits["train"], ds.splits["test"]
    probe = make_pipeline(
        StandardScaler(), LogisticRegression(C=rows[0].extra["lp_C"], max_iter=CLS.max_iter)
    )
    expected = np.mean(probe.fit(Z[tr], ds.y[tr]).predict(Z[te]) == ds.y[te])
    assert rows[0].value == pytest.approx(expected)


def test_kfold_selection_is_deterministic_and_ignores_poisoned_test_labels() -> None:
    ds = sines(48, 2)
    a = evaluate_classification(SCRATCH, ds, CLS, 3, device="cpu")
    clear_finetune_cache()
    b = evaluate_classification(SCRATCH, ds, CLS, 3, device="cpu")
    assert [r.value for r in a] == [r.value for r in b]
    assert a[0].extra["val_curve"] == b[0].extra["val_curve"]
    y = ds.y.copy()
    y[ds.splits["test"]] = 1 - y[ds.splits["test"]]
    clear_finetune_cache()
    c = evaluate_classification(SCRATCH, dataclasses.replace(ds, y=y), CLS, 3, device="cpu")
    for key in ("best_step", "val_curve", "lp_C", "val_accuracy"):
        assert c[0].extra[key] == a[0].extra[key]
    assert c[0].value == pytest.approx(1.0 - a[0].value)  # the labels did reach the score


# --- every fine-tune task returns the contract fields -----------------------------------------


def _check_contract(extra: dict, budget: int) -> None:
    assert isinstance(extra["best_step"], int) and 0 <= extra["best_step"] <= budget
    assert extra["budget_steps"] == budget
    assert extra["converged"] is (extra["best_step"] < budget)
    assert extra["val_curve"][0][0] == 0  # step 0 (the LP head) was evaluated


def test_every_finetune_task_returns_the_contract_fields() -> None:
    ds = sines(40, 3)
    for row in evaluate_classification(SCRATCH, ds, CLS, 0, device="cpu"):
        _check_contract(row.extra, CLS.steps)
    clus = ClusteringConfig(regime="finetune", finetune=CLS)
    for row in evaluate_clustering(SCRATCH, ds, clus, 0, device="cpu"):
        assert row.regime == "finetune" and row.extra["budget_steps"] == CLS.steps
        assert row.extra["converged"] is (row.extra["best_step"] < CLS.steps)
    t = np.arange(600)
    series = np.sin(2 * np.pi * t / 24) + 0.1 * np.random.default_rng(0).normal(size=600)
    fds = Dataset("synthetic/sine", "forecasting", series[None, None].astype(np.float32),
                  np.ones((1, 1, 600), bool), None, (),
                  time_splits={"train": (0, 400), "val": (400, 500),
                               "test": (500, 600)})  # fmt: skip
    fcfg = ForecastingConfig(regime="finetune", lookback=48, horizons=(8,), steps=6, warmup=1,
                             eval_every=2)  # fmt: skip
    for row in evaluate_forecasting(SCRATCH, fds, fcfg, 0, device="cpu"):
        _check_contract(row.extra, 6)
        assert row.extra["lp_alpha"] in fcfg.ridge_alphas
    for row in evaluate_anomaly(SCRATCH, spiky_sine(), ANOMALY, 0, device="cpu"):
        _check_contract(row.extra, 6)


ANOMALY = AnomalyConfig(regime="finetune", context=64, decoder_max_epochs=5, finetune_steps=6,
                        finetune_warmup=1, finetune_eval_every=2,
                        finetune_batch_sizes=(4,))  # fmt: skip


def spiky_sine() -> Dataset:
    t = np.arange(600)
    series = np.sin(2 * np.pi * t / 24) + 0.1 * np.random.default_rng(0).normal(size=600)
    y = np.zeros((1, 600), np.uint8)
    y[0, 540:545] = 1
    series[540:545] += 4.0
    return Dataset("anomaly/synthetic", "anomaly", series[None, None].astype(np.float32),
                   np.ones((1, 1, 600), bool), y, (),
                   time_splits={"train": (0, 400), "test": (400, 600)})  # fmt: skip


def test_anomaly_lp_ft_starts_at_the_probe_decoder() -> None:
    ds, enc = spiky_sine(), SCRATCH.build(0)
    _, _, summary = finetune_anomaly(enc, ds, ANOMALY, 0, device="cpu")
    # independent reference: the probe's decoder on the frozen copy, its validation error
    lay = layout(enc, ds, ANOMALY)
    starts = np.r_[lay.train_starts[: lay.n_fit], lay.train_starts[-lay.n_val :]]
    w = encode(copy.deepcopy(enc).eval(), lay.x, lay.m, starts, lay.width, 256)
    decoder, _ = fit_decoder(w, lay.n_fit, ANOMALY, 0, torch.device("cpu"))
    with torch.no_grad():
        pred = decoder(torch.from_numpy(w.tokens[lay.n_fit :])).numpy()
    obs = w.observed[lay.n_fit :]
    err = float(((pred - w.patches[lay.n_fit :]) ** 2 * obs).sum() / obs.sum())
    assert summary["val_curve"][0] == [0, pytest.approx(err, rel=1e-5)]
    assert summary["lp"] is True and summary["lp_epochs"] >= 1


def test_forecasting_lp_ft_starts_at_the_ridge_probe() -> None:
    t = np.arange(600)
    series = np.sin(2 * np.pi * t / 24) + 0.3 * np.random.default_rng(1).normal(size=600)
    fds = Dataset("synthetic/sine", "forecasting", series[None, None].astype(np.float32),
                  np.ones((1, 1, 600), bool), None, (),
                  time_splits={"train": (0, 400), "val": (400, 500),
                               "test": (500, 600)})  # fmt: skip
    probe = ForecastingConfig(lookback=48, horizons=(8,))
    tune = dataclasses.replace(probe, regime="finetune", steps=4, warmup=1, eval_every=2)
    p = evaluate_forecasting(EncoderUnderTest("random", TINY), fds, probe, 0, device="cpu")
    f = evaluate_forecasting(SCRATCH, fds, tune, 0, device="cpu")
    # same init (seed 0), same windows: step 0 of the fine-tune is the ridge probe (float16
    # token cache in the probe vs float32 forward here: equal to 1e-3)
    assert f[0].extra["lp_alpha"] == p[0].extra["alpha"]
    assert f[0].extra["val_curve"][0][1] == pytest.approx(p[0].extra["val_mse"], rel=1e-3)
