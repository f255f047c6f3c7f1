"""scikit-learn estimators over any encoder: the estimator contract, pipelines, input forms."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import sparse
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from tsdividend.data import DataError, load_dataset, to_collection
from tsdividend.estimators import EncoderClassifier, EncoderTransformer

TINY = {"depth": 1, "d_model": 16, "n_heads": 2}
CONV = "python:external_models:conv"  # tests/tasks/external_models.py: the user's own model


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parent / "tasks"))
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
    sys.modules.pop("external_models", None)


@pytest.fixture(scope="module")
def gunpoint():
    ds = load_dataset("ucr/GunPoint")
    return ds.subset("train"), ds.subset("test")


@parametrize_with_checks([EncoderTransformer(architecture=TINY),
                          EncoderClassifier(architecture=TINY)])  # fmt: skip
def test_scikit_learn_estimator_checks(estimator, check) -> None:
    check(estimator)


def test_pipeline_and_grid_search_over_two_encoders(gunpoint) -> None:
    train, test = gunpoint
    pipe = make_pipeline(EncoderTransformer(architecture=TINY), StandardScaler(),
                         LogisticRegression(max_iter=1000))  # fmt: skip
    search = GridSearchCV(pipe, {"encodertransformer__encoder": ["random", CONV]}, cv=3)
    search.fit(train.X, train.y)
    assert search.best_params_["encodertransformer__encoder"] in ("random", CONV)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 2 and scores[0] != scores[1]  # the two encoders really differ
    assert 0.5 < search.score(test.X, test.y) <= 1.0
    twin = clone(pipe)
    assert twin.get_params()["encodertransformer__architecture"] == TINY
    assert not hasattr(twin.steps[0][1], "embedder_")  # clone is unfitted


def test_classifier_probe_matches_the_protocol(gunpoint) -> None:
    from tsdividend.tasks.base import EncoderUnderTest
    from tsdividend.tasks.classification import ClassificationConfig, evaluate_classification

    train, test = gunpoint
    clf = EncoderClassifier(architecture=TINY).fit(train.X, train.y)
    acc = clf.score(test.X, test.y)
    rows = evaluate_classification(EncoderUnderTest("random", clf.encoder_.config),
                                   load_dataset("ucr/GunPoint"), ClassificationConfig(shots=()),
                                   0, device="cpu")  # fmt: skip
    assert acc == pytest.approx([r.value for r in rows if r.metric == "accuracy"][0])
    proba = clf.predict_proba(test.X)
    assert proba.shape == (len(test.X), 2) and np.allclose(proba.sum(1), 1)
    assert (clf.classes_[proba.argmax(1)] == clf.predict(test.X)).all()
    scores = cross_val_score(EncoderClassifier(architecture=TINY), train.X, train.y, cv=3)
    assert scores.shape == (3,) and (scores > 0.5).all()


def test_classifier_finetune_predicts_new_data(gunpoint) -> None:
    train, test = gunpoint
    labels = np.array(["a", "b"])[train.y]  # any label values
    clf = EncoderClassifier(CONV, regime="finetune", steps=10).fit(train.X, labels)
    pred = clf.predict(test.X)
    assert set(pred) <= {"a", "b"} and clf.summary_["budget_steps"] == 10
    proba = clf.predict_proba(test.X)
    assert (clf.classes_[proba.argmax(1)] == pred).all()


def test_unequal_lengths_and_pandas_inputs() -> None:
    rng = np.random.default_rng(0)
    coll = [rng.normal(size=(2, 40 + 5 * i)) for i in range(6)]  # aeon: (C, T_i) items
    Z = EncoderTransformer(architecture=TINY).fit_transform(coll)
    assert Z.shape == (6, 32) and np.isfinite(Z).all()
    wide = pd.DataFrame(rng.normal(size=(5, 30)))
    assert EncoderTransformer(architecture=TINY).fit_transform(wide).shape == (5, 16)
    long = pd.DataFrame({"id": np.repeat([1, 2, 3], 20), "t": np.tile(np.arange(20), 3),
                         "a": rng.normal(size=60), "b": rng.normal(size=60)})  # fmt: skip
    est = EncoderTransformer(architecture=TINY, id_col="id", time_col="t")
    assert est.fit_transform(long.sample(frac=1, random_state=0)).shape == (3, 32)


@pytest.mark.parametrize(
    ("X", "match"),
    [
        (np.ones((3, 20), complex), "Complex data not supported"),
        (np.array(["2020-01-01"] * 20, "datetime64[D]").reshape(1, 20), "datetimes"),
        (np.array([["a"] * 20]), "is not numeric"),
        (np.ones((3, 0)), "0 feature"),
        (np.ones(20), "Reshape your data"),
        ([], "empty"),
        (pd.DataFrame(), "empty"),
        ([np.ones((2, 20)), np.ones((3, 20))], r"X\[1\] has 3 channels"),
        (sparse.csr_matrix(np.ones((3, 20))), "sparse input is not supported"),
    ],
)
def test_bad_inputs_are_named(X, match) -> None:
    with pytest.raises(DataError, match=match):
        to_collection(X)


@pytest.mark.parametrize(("encoder", "regime"), [("random", "probe"), ("random", "finetune"),
                                                 (CONV, "probe"), (CONV, "finetune")])  # fmt: skip
def test_classifier_round_trip_predicts_the_same(gunpoint, tmp_path, encoder, regime) -> None:
    train, test = gunpoint
    arch = TINY if encoder == "random" else None
    clf = EncoderClassifier(encoder, regime=regime, architecture=arch, steps=6)
    clf.fit(train.X, np.array(["x", "y"])[train.y])
    folder = clf.save_pretrained(tmp_path / "clf")
    assert {p.name for p in folder.iterdir()} >= {"config.json", "model.safetensors", "README.md"}
    back = EncoderClassifier.from_pretrained(folder)
    assert (back.predict(test.X) == clf.predict(test.X)).all()
    assert np.allclose(back.predict_proba(test.X), clf.predict_proba(test.X), atol=1e-6)
    assert not list(folder.glob("*.pkl")) and not list(folder.glob("*.pt"))


def test_transformer_round_trip_and_the_saved_folder_everywhere(gunpoint, tmp_path) -> None:
    from tsdividend.api import evaluate

    train, _ = gunpoint
    est = EncoderTransformer(architecture=TINY, seed=3).fit(train.X)
    folder = est.save_pretrained(tmp_path / "enc")
    again = EncoderTransformer.from_pretrained(folder)
    assert np.array_equal(again.transform(train.X), est.transform(train.X))
    rows = evaluate(folder, "clustering", "ucr/GunPoint")  # the CLI's --checkpoint FOLDER
    assert rows and {r.init for r in rows} == {"pretrained"}
    card = (folder / "README.md").read_text()
    assert "depth 1, d_model 16" in card and "loading never unpickles" in card


def test_external_weights_round_trip_and_mismatch(tmp_path, gunpoint) -> None:
    from tsdividend.pretrained import load_pretrained, save_encoder
    from tsdividend.tasks.external import ExternalEncoder

    train, _ = gunpoint
    enc = ExternalEncoder.from_ref(CONV, "random")  # a random init: weights differ from conv()
    folder = save_encoder(enc, tmp_path / "ext", seed=5)
    back = load_pretrained(folder)
    assert isinstance(back, ExternalEncoder) and back.weights is not None
    z0 = enc.embedder(5, device="cpu").embed(train.X[:4], train.mask[:4])
    z1 = back.embedder(0, device="cpu").embed(train.X[:4], train.mask[:4])
    assert np.array_equal(z0, z1)
    bad = ExternalEncoder("m", "external_models:conv", weights=str(folder / "model.safetensors"))
    from safetensors.torch import save_file

    save_file({"other.weight": torch.zeros(2)}, str(folder / "model.safetensors"))
    with pytest.raises(ValueError, match="does not match the model"):
        bad.build(0)
    with pytest.raises(TypeError, match="NumPy embedder"):
        save_encoder(ExternalEncoder.from_ref("python:external_models:moments"), tmp_path / "n")


def test_saved_and_pretrained_files_follow_the_umask(tmp_path) -> None:
    """Encoder files were 0600 (safetensors replaced the temp file's mode): under umask 022 a
    teammate on a shared filesystem must be able to read them."""
    import os
    import subprocess

    script = f"""
import numpy as np
from tsdividend.api import pretrain
from tsdividend.estimators import EncoderTransformer
X = np.random.default_rng(0).normal(size=(8, 40))
EncoderTransformer(architecture={TINY!r}).fit(X).save_pretrained({str(tmp_path / "saved")!r})
pretrain({str(tmp_path / "run")!r}, progress=False, overrides={{
    "objective": "mae", "encoder.depth": 1, "encoder.d_model": 16, "encoder.n_heads": 2,
    "steps": 2, "batch_size": 4, "data.context": 32, "checkpoint_every": 1, "device": "cpu"}})
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          preexec_fn=lambda: os.umask(0o022))  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "encoder.safetensors" for p in files)
    modes = {str(p.relative_to(tmp_path)): oct(p.stat().st_mode & 0o777) for p in files}
    assert set(modes.values()) == {"0o644"}, modes
    dirs = {str(p): oct(p.stat().st_mode & 0o777) for p in tmp_path.rglob("*") if p.is_dir()}
    assert set(dirs.values()) == {"0o755"}, dirs  # checkpoint folders were 0700


def test_aeon_collection_transformer_passes_aeons_checks() -> None:
    from aeon.testing.estimator_checking import check_estimator as aeon_check

    from tsdividend.aeon_transformer import EncoderCollectionTransformer

    results = aeon_check(EncoderCollectionTransformer(architecture=TINY))
    failed = {k: v for k, v in results.items() if v != "PASSED"}
    assert results and not failed, failed
    unequal = [np.random.default_rng(i).normal(size=(2, 30 + 3 * i)) for i in range(4)]
    assert EncoderCollectionTransformer(architecture=TINY).fit_transform(unequal).shape == (4, 32)


def test_embedder_takes_frames_and_unequal_lists(tmp_path) -> None:
    from tsdividend.encoder import Encoder, EncoderConfig
    from tsdividend.encoder.embedder import Embedder

    emb = Embedder(Encoder(EncoderConfig(**TINY)), device="cpu")
    X = np.random.default_rng(0).normal(size=(3, 40))
    Z = emb.embed(X[:, None])
    assert np.allclose(emb.embed(pd.DataFrame(X)), Z, atol=1e-6)  # wide frame = (N, T) array
    ragged = emb.embed([X[0], X[1, :25]])  # aeon's unequal lengths: the short one is masked
    assert np.allclose(ragged[0], Z[0], atol=1e-6) and np.isfinite(ragged).all()
    with pytest.raises(DataError, match="Complex data not supported"):
        emb.embed(np.ones((2, 1, 20), complex))
