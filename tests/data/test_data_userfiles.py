"""The user's own datasets: PATH[:key=value]... for classification, forecasting and anomaly."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from tsdividend.api import evaluate
from tsdividend.data import DataError, load_dataset

TINY = {"depth": 1, "d_model": 16, "n_heads": 2}


def _classification_frame(n: int = 40, t: int = 32) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    y = np.arange(n) % 2
    steps = np.arange(t)
    X = np.sin(2 * np.pi * np.where(y == 0, 2, 7)[:, None] * steps / t
               + rng.uniform(0, 6, n)[:, None])  # fmt: skip
    frame = pd.DataFrame(X, columns=[f"t{i}" for i in range(t)])
    frame["label"] = np.where(y == 0, "slow", "fast")
    return frame


def test_classification_csv_wide_and_parquet(tmp_path) -> None:
    frame = _classification_frame()
    frame.to_csv(tmp_path / "c.csv", index=False)
    frame.to_parquet(tmp_path / "c.parquet")
    for ref in (f"{tmp_path}/c.csv", f"{tmp_path}/c.parquet:test=0.25"):
        ds = load_dataset(ref, task="classification")
        assert ds.X.shape == (40, 1, 32) and ds.classes == ("fast", "slow")
        n_test = len(ds.splits["test"])
        assert n_test == (10 if "test=0.25" in ref else 12)
        assert np.bincount(ds.y[ds.splits["test"]]).tolist() == [n_test // 2] * 2  # stratified
    rows = evaluate("random", "classification", f"{tmp_path}/c.csv", architecture=TINY)
    acc = [r for r in rows if r.metric == "accuracy"][0]
    assert acc.dataset == f"{tmp_path}/c.csv" and acc.value > 0.7


def test_classification_long_layout_with_a_split_column(tmp_path) -> None:
    wide = _classification_frame(n=10, t=20)
    long = wide.drop(columns="label").stack().reset_index()
    long.columns = ["sid", "step", "value"]
    long["step"] = long["step"].str[1:].astype(int)
    long["label"] = wide["label"].to_numpy()[long["sid"]]
    long["part"] = np.where(long["sid"] < 6, "train", "test")
    long.sample(frac=1, random_state=1).to_csv(tmp_path / "l.csv", index=False)
    ds = load_dataset(f"{tmp_path}/l.csv:id=sid:time=step:split=part", task="classification")
    assert ds.X.shape == (10, 1, 20) and len(ds.splits["train"]) == 6


def test_forecasting_csv_with_dates_targets_and_splits(tmp_path) -> None:
    n = 600
    t = np.arange(n)
    frame = pd.DataFrame({"when": pd.date_range("2020-01-01", periods=n, freq="h"),
                          "a": np.sin(2 * np.pi * t / 24) * 5 + 10,
                          "b": np.cos(2 * np.pi * t / 12), "note": 1.0})  # fmt: skip
    frame.to_csv(tmp_path / "f.csv", index=False)
    ref = f"{tmp_path}/f.csv:date=when:targets=a+b:lookback=48:horizons=12+24"
    ds = load_dataset(ref, task="forecasting")
    assert ds.X.shape == (1, 2, n) and ds.channel_names == ("a", "b")
    assert ds.time_splits == {"train": (0, 420), "val": (420, 480), "test": (480, 600)}
    a, b = ds.time_splits["train"]
    assert np.allclose(ds.X[0, :, a:b].mean(1), 0, atol=1e-5)  # standardised on train only
    by_date = load_dataset(f"{tmp_path}/f.csv:date=when:split=2020-01-15+2020-01-20",
                           task="forecasting")  # fmt: skip
    assert by_date.time_splits["train"] == (0, 14 * 24 + 1) and by_date.X.shape[1] == 3
    rows = evaluate("random", "forecasting", ref, architecture=TINY | {"patch_len": 8, "stride": 8})
    assert {r.metric for r in rows} >= {"mse@12", "mse@24"}


def test_anomaly_csv_with_labels_and_a_train_end(tmp_path) -> None:
    n = 1200
    x = np.sin(2 * np.pi * np.arange(n) / 40)
    labels = np.zeros(n, int)
    x[900:905] += 4
    labels[900:905] = 1
    pd.DataFrame({"v": x, "is_anomaly": labels}).to_csv(tmp_path / "a.csv", index=False)
    ref = f"{tmp_path}/a.csv:label=is_anomaly:train_end=600"
    ds = load_dataset(ref, task="anomaly")
    assert ds.time_splits == {"train": (0, 600), "test": (600, 1200)} and ds.y.sum() == 5
    rows = evaluate("random", "anomaly", ref, architecture=TINY)
    # not a UCR archive series: VUS-PR, AUC-PR, AUC-ROC, best F1 (+ PA-F1) per scorer
    assert {r.metric for r in rows} >= {"recon/vus_pr", "knn/best_f1"}
    assert all(np.isfinite(r.value) for r in rows)


@pytest.mark.parametrize(
    ("content", "options", "task", "match"),
    [
        ("t0,t1\n1,2\n", "", "classification", "no label column 'label'"),
        ("t0,label\n1,a\nx,b\n", "", "classification", "non-numeric"),
        ("date,v\n2020-01-01,1\nsoon,2\n", "", "forecasting", "line 3, column 'date': not a date"),
        (
            "date,v\n2020-01-01,1\n2020-01-02,oops\n",
            "",
            "forecasting",
            "line 3, column 'v': non-numeric value 'oops'",
        ),
        ("v,label\n1,0\n2,3\n", ":train_end=1", "anomaly", "line 3, column 'label'"),
        ("v,label\n1,0\n2,1\n", "", "anomaly", "give train_end"),
        ("v,label\n1,0\n", ":colour=red", "anomaly", "unknown option(s) ['colour']"),
        ("v,label\n1,0\n", "", None, "give the task"),
    ],
)
def test_errors_name_the_file_line_column_or_option(tmp_path, content, options, task,
                                                    match) -> None:  # fmt: skip
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=re.escape(match)):
        load_dataset(f"{path}{options}", task=task)
