"""Dataset invariants, subsets, and building datasets from numpy arrays and pandas frames."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from tsdividend.data import DataError, Dataset, from_numpy, from_pandas


def _toy(task: str = "classification") -> Dataset:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 2, 20)).astype(np.float32)
    mask = np.ones_like(X, dtype=bool)
    mask[0, :, 15:] = False
    X[~mask] = 0.0
    if task == "classification":
        return Dataset(
            "toy",
            task,
            X,
            mask,
            y=np.array([0, 1, 0, 1, 2, 2]),
            classes=("a", "b", "c"),
            splits={"train": np.arange(4), "test": np.arange(4, 6)},
        )
    y = np.zeros((6, 20), dtype=np.uint8)
    y[:, 12:14] = 1
    return Dataset("toy", task, X, mask, y=y, time_splits={"train": (0, 10), "test": (10, 20)})


def test_index_split_selects_series_and_labels():
    ds = _toy()
    test = ds.subset("test")
    np.testing.assert_array_equal(test.X, ds.X[4:6])
    np.testing.assert_array_equal(test.y, [2, 2])
    assert test.meta["split"] == "test" and test.name == "toy" and test.splits == {}
    assert (ds.n_channels, ds.length, ds.n_classes, len(ds)) == (2, 20, 3, 6)


def test_time_split_slices_values_mask_and_point_labels():
    ds = _toy("anomaly")
    test = ds.subset("test")
    assert test.X.shape == (6, 2, 10)
    np.testing.assert_array_equal(test.mask, ds.mask[:, :, 10:])
    np.testing.assert_array_equal(test.y, ds.y[:, 10:])
    assert test.y[:, 2:4].all() and test.time_splits == {}


def test_unknown_split_names_valid_ones():
    with pytest.raises(DataError, match=r"unknown split 'val'.*test, train"):
        _toy().subset("val")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: setattr(d, "X", d.X.astype(np.float64)), "float32"),
        (lambda d: d.X.__setitem__((0, 0, 16), 1.0), "0.0 wherever mask is False"),
        (lambda d: d.X.__setitem__((1, 0, 0), np.nan), "NaN or inf"),
        (lambda d: setattr(d, "y", d.y.astype(np.int32)), "int64"),
        (lambda d: d.y.__setitem__(0, 7), "class ids"),
        (lambda d: d.splits.__setitem__("train", np.array([9])), "outside"),
        (lambda d: setattr(d, "mask", d.mask[:, :1]), "mask must be bool"),
    ],
)
def test_validate_rejects_broken_invariants(change, message):
    ds = _toy()
    change(ds)
    with pytest.raises(DataError, match=message):
        ds.validate()


def test_from_numpy_ranks_and_nan_mask():
    one = from_numpy(np.arange(20.0))
    assert one.X.shape == (1, 1, 20) and one.task == "unlabelled"
    two = from_numpy(np.ones((3, 20)) * np.arange(20))
    assert two.X.shape == (3, 1, 20)
    x = np.random.default_rng(1).normal(size=(2, 3, 20))
    x[1, 2, 5] = np.nan
    three = from_numpy(x)
    assert three.X.shape == (2, 3, 20) and three.X.dtype == np.float32
    assert not three.mask[1, 2, 5] and three.X[1, 2, 5] == 0.0 and three.mask.sum() == x.size - 1
    np.testing.assert_allclose(three.X[0], x[0].astype(np.float32))


@pytest.mark.parametrize("shape", [(), (2, 2, 2, 20)])
def test_from_numpy_wrong_rank_names_shape(shape):
    with pytest.raises(DataError, match=rf"shape {re.escape(str(shape))}"):
        from_numpy(np.zeros(shape))


def test_from_numpy_labels_classification_and_anomaly():
    x = np.random.default_rng(2).normal(size=(4, 20))
    ds = from_numpy(x, ["b", "a", "b", "c"])
    assert ds.task == "classification" and ds.classes == ("a", "b", "c")
    np.testing.assert_array_equal(ds.y, [1, 0, 1, 2])
    numeric = from_numpy(x, [10, 2, 2.0, 10])
    assert numeric.classes == ("2", "10")  # numeric labels sort numerically; 2.0 == 2
    points = np.zeros(20, dtype=int)
    points[5] = 1
    anomaly = from_numpy(x[0], points)
    assert anomaly.task == "anomaly" and anomaly.y.shape == (1, 20) and anomaly.y[0, 5] == 1
    with pytest.raises(DataError, match=r"y has shape \(3,\)"):
        from_numpy(x, [0, 1, 2])
    with pytest.raises(DataError, match=r"row 2: missing class label"):
        from_numpy(x, ["a", "b", None, "a"])


def test_from_numpy_short_series_padded_and_non_numeric_located():
    ds = from_numpy(np.arange(5.0), min_length=16)
    assert ds.X.shape == (1, 1, 16) and ds.mask[0, 0, :5].all() and not ds.mask[0, 0, 5:].any()
    with pytest.raises(DataError, match=r"X\[1, 2\] = 'x' is not numeric"):
        from_numpy(np.array([[1, 2, 3], [4, 5, "x"]], dtype=object))


def test_from_pandas_wide_with_labels():
    rng = np.random.default_rng(3)
    df = pd.DataFrame(rng.normal(size=(3, 20)), index=["s1", "s2", "s3"])
    df["label"] = ["up", "down", "up"]
    ds = from_pandas(df, label_col="label")
    assert ds.X.shape == (3, 1, 20) and ds.classes == ("down", "up")
    np.testing.assert_allclose(ds.X[:, 0], df.drop(columns="label").to_numpy(), rtol=1e-6)
    df[4] = df[4].astype(object)
    df.loc["s2", 4] = "oops"
    with pytest.raises(DataError, match=r"row 's2', column 4: non-numeric value 'oops'"):
        from_pandas(df, label_col="label")


def test_from_pandas_long_groups_sorts_and_pads():
    rows = [("b", t, float(t), -float(t), "y") for t in range(20)]
    rows += [("a", t, 100.0 + t, 0.5 * t, "x") for t in reversed(range(17))]
    df = pd.DataFrame(rows, columns=["id", "time", "v1", "v2", "cls"])
    ds = from_pandas(df, id_col="id", time_col="time", label_col="cls")
    assert ds.X.shape == (2, 2, 20) and ds.channel_names == ("v1", "v2")
    np.testing.assert_allclose(ds.X[1, 0, :17], 100.0 + np.arange(17))  # sorted by time
    assert ds.mask[1, :, :17].all() and not ds.mask[1, :, 17:].any()
    assert [ds.classes[i] for i in ds.y] == ["y", "x"]


def test_from_pandas_single_timestamped_series_with_point_labels():
    times = pd.date_range("2020-01-01", periods=30, freq="h")
    df = pd.DataFrame({"ts": times, "value": np.sin(np.arange(30)), "is_anomaly": 0})
    df.loc[10, "is_anomaly"] = 1
    ds = from_pandas(df.sample(frac=1.0, random_state=0), time_col="ts", label_col="is_anomaly")
    assert ds.task == "anomaly" and ds.X.shape == (1, 1, 30) and ds.y[0, 10] == 1
    np.testing.assert_allclose(ds.X[0, 0], np.sin(np.arange(30)), rtol=1e-6)
