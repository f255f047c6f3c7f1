"""External encoders (``python:pkg.module:factory``) through every protocol."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tsdividend.data import Dataset, load_dataset
from tsdividend.encoder.adapter import WindowTokens
from tsdividend.stats.dividend import dividend_rows
from tsdividend.tasks.anomaly import AnomalyConfig, evaluate_anomaly
from tsdividend.tasks.classification import ClassificationConfig, evaluate_classification
from tsdividend.tasks.clustering import ClusteringConfig, evaluate_clustering
from tsdividend.tasks.external import ExternalEncoder, load_factory
from tsdividend.tasks.forecasting import ForecastingConfig, evaluate_forecasting

HERE = Path(__file__).parent
FT = ClassificationConfig(regime="finetune", shots=(), steps=6, warmup=1, eval_every=2,
                          patience=4, folds=2)  # fmt: skip


@pytest.fixture(autouse=True)
def models_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(HERE))
    yield
    sys.modules.pop("external_models", None)


def conv(init: str = "pretrained") -> ExternalEncoder:
    return ExternalEncoder.from_ref("python:external_models:conv", init)


def test_factory_references_fail_with_one_clear_message() -> None:
    with pytest.raises(ValueError, match="must read python:pkg.module:factory"):
        load_factory("python:external_models")
    with pytest.raises(ValueError, match="cannot import 'no_such_module_xyz'"):
        load_factory("python:no_such_module_xyz:f")
    with pytest.raises(ValueError, match="has no attribute 'nope'"):
        load_factory("python:external_models:nope")
    with pytest.raises(ValueError, match="no `pretrained` parameter"):
        ExternalEncoder.from_ref("python:external_models:conv_fixed", "random")
    with pytest.raises(TypeError, match="without an embed"):
        ExternalEncoder.from_ref("python:external_models:not_an_encoder").build(0)


def test_rows_name_the_external_encoder_and_its_baselines_pair_with_it(two_frequencies) -> None:
    ds = two_frequencies
    cfg = ClassificationConfig(shots=())
    pre = evaluate_classification(conv(), ds, cfg, 0, device="cpu")
    rnd = evaluate_classification(conv("random"), ds, cfg, 0, device="cpu")
    acc = {r.init: r for r in pre + rnd if r.metric == "accuracy"}
    assert acc["pretrained"].encoder_id == "conv" and acc["pretrained"].objective == "conv"
    assert acc["random"].encoder_id == "conv/random" and acc["random"].objective is None
    assert {r.tokenizer for r in pre + rnd} == {"external:conv"}
    assert acc["pretrained"].value > 0.75  # two well separated frequencies
    div = [d for d in dividend_rows(pre + rnd) if d.metric == "accuracy"]
    assert len(div) == 1
    assert div[0].dividend == pytest.approx(acc["pretrained"].value - acc["random"].value)


def test_fixed_model_without_baselines_gives_unpaired_rows(two_frequencies) -> None:
    enc = ExternalEncoder.from_ref("python:external_models:conv_fixed")
    rows = evaluate_classification(enc, two_frequencies, ClassificationConfig(shots=()), 0,
                                   device="cpu")  # fmt: skip
    assert rows and dividend_rows(rows) == []


def test_finetune_trains_the_external_module_and_scratch_is_its_baseline(two_frequencies) -> None:
    ds = two_frequencies
    rows = evaluate_classification(conv("scratch"), ds, FT, 0, device="cpu")
    acc = [r for r in rows if r.metric == "accuracy"][0]
    assert acc.init == "scratch" and acc.regime == "finetune" and 0.0 <= acc.value <= 1.0
    assert acc.extra["budget_steps"] == 6


def test_numpy_embedder_probes_but_refuses_finetuning(two_frequencies) -> None:
    enc = ExternalEncoder.from_ref("python:external_models:moments")
    rows = evaluate_classification(enc, two_frequencies, ClassificationConfig(shots=()), 0,
                                   device="cpu")  # fmt: skip
    assert [r.value for r in rows if r.metric == "accuracy"][0] > 0.75
    with pytest.raises(ValueError, match="not fine-tuned"):
        evaluate_classification(enc, two_frequencies, FT, 0, device="cpu")


def test_clustering_of_an_external_encoder(two_frequencies) -> None:
    rows = evaluate_clustering(conv(), two_frequencies, ClusteringConfig(), 0, device="cpu")
    assert {r.metric for r in rows} >= {"nmi", "ari"}


def test_window_tokens_adapter_shapes() -> None:
    wt = WindowTokens(load_factory("external_models:conv")())
    x = torch.randn(3, 2, 40)
    assert wt.tokens(x).shape == (6, 1, 8) and wt.token_dim == 8
    assert wt.embedding_dim(2) == 16 and wt.num_tokens(40) == 1 and wt.max_length is None
    p = wt.patchify(x)
    assert p.values.shape == (6, 1, 40) and p.padding.shape == (6, 1)
    assert torch.allclose(p.values.mean(-1), torch.zeros(6, 1), atol=1e-5)  # instance-normalised
    assert wt.trainable and not WindowTokens(load_factory("external_models:moments")()).trainable


def test_forecasting_probe_and_finetune_of_an_external_encoder() -> None:
    t = np.arange(800)
    X = np.stack([np.sin(2 * np.pi * t / 24 + c) for c in range(2)]).astype(np.float32)[None]
    ds = Dataset(
        name="synthetic/sine",
        task="forecasting",
        X=X,
        mask=np.ones(X.shape, bool),
        time_splits={"train": (0, 480), "val": (480, 640), "test": (640, 800)},
    )
    cfg = ForecastingConfig(lookback=64, horizons=(16,), train_stride=2, val_stride=2)
    probe = {r.metric: r.value for r in evaluate_forecasting(conv(), ds, cfg, 0, device="cpu")}
    assert 0.0 < probe["mse@16"] < 0.5  # a sine is predictable from its window's embedding
    ft_cfg = dataclasses.replace(cfg, regime="finetune", steps=4, warmup=1, eval_every=2,
                                 patience=4)  # fmt: skip
    ft = evaluate_forecasting(conv("scratch"), ds, ft_cfg, 0, device="cpu")
    assert {r.init for r in ft} == {"scratch"} and all(np.isfinite(r.value) for r in ft)


def test_anomaly_probe_and_finetune_of_an_external_encoder() -> None:
    data = load_dataset("anomaly/ucr/135")
    fast = AnomalyConfig(context=128, decoder_max_epochs=10)
    rows = evaluate_anomaly(conv(), data, fast, 0, device="cpu")
    assert len(rows) == 10 and all(np.isfinite(r.value) for r in rows)
    ft = dataclasses.replace(fast, regime="finetune", finetune_steps=4, finetune_warmup=1,
                             finetune_eval_every=2, finetune_batch_sizes=(32,))  # fmt: skip
    rows = evaluate_anomaly(conv("scratch"), data, ft, 0, device="cpu")
    assert len(rows) == 10 and {r.init for r in rows} == {"scratch"}


def test_fit_hook_sees_the_train_split_only(two_frequencies) -> None:
    from external_models import Recorder

    ds = two_frequencies
    Recorder.fitted.clear()
    enc = ExternalEncoder.from_ref("python:external_models:recorder")
    evaluate_classification(enc, ds, ClassificationConfig(shots=()), 0, device="cpu")
    assert Recorder.fitted == [len(ds.splits["train"])]


def test_minirocket_features_run_through_the_probe() -> None:
    enc = ExternalEncoder.from_ref("python:tsdividend.tasks.baselines.minirocket:"
                                   "minirocket_features")  # fmt: skip
    rows = evaluate_classification(enc, load_dataset("ucr/GunPoint"),
                                   ClassificationConfig(shots=()), 0, device="cpu")  # fmt: skip
    acc = [r for r in rows if r.metric == "accuracy"][0]
    assert acc.encoder_id == "minirocket_features" and acc.value > 0.9
