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
        (np.array([["a"] * 20]), "non-numeric"),
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
