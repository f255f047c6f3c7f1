"""Each archive reader on tiny files written in tmp_path (runs without the benchmark data)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tsdividend.data import DataError, load_dataset


def _nab(root, n: int = 40):
    folder = root / "anomaly" / "nab"
    (folder / "realToy").mkdir(parents=True)
    (folder / "labels").mkdir()
    times = pd.date_range("2015-01-01", periods=n, freq="5min")
    values = np.cos(np.arange(n) / 4.0)
    csv = "timestamp,value\n" + "\n".join(
        f"{t:%Y-%m-%d %H:%M:%S},{v:.6f}" for t, v in zip(times, values, strict=True)
    )
    (folder / "realToy" / "toy.csv").write_text(csv + "\n")
    window = [f"{times[30]:%Y-%m-%d %H:%M:%S}.000000", f"{times[33]:%Y-%m-%d %H:%M:%S}.000000"]
    (folder / "labels" / "combined_windows.json").write_text(
        json.dumps({"realToy/toy.csv": [window]})
    )
    return values


def test_nab_windows_inclusive_and_probation(tmp_path):
    values = _nab(tmp_path)
    ds = load_dataset("anomaly/nab/realToy/toy", tmp_path)
    np.testing.assert_array_equal(np.flatnonzero(ds.y[0]), [30, 31, 32, 33])
    assert ds.time_splits == {"train": (0, 6), "test": (6, 40)}  # floor(0.15 * 40) = 6
    assert ds.meta["train_has_anomaly"] is False
    np.testing.assert_allclose(ds.X[0, 0], values.astype(np.float32), atol=1e-6)


def test_nab_missing_label_entry(tmp_path):
    _nab(tmp_path)
    (tmp_path / "anomaly/nab/labels/combined_windows.json").write_text("{}")
    with pytest.raises(DataError, match=r"no label entry for 'realToy/toy.csv'"):
        load_dataset("anomaly/nab/realToy/toy", tmp_path)


def _msl(root, num_values: int = 30, ranges: str = "[[3, 5], [20, 20]]"):
    msl = root / "anomaly" / "msl"
    rng = np.random.default_rng(0)
    arrays = {"train": rng.normal(size=(25, 4)), "test": rng.normal(size=(30, 4))}
    for split, arr in arrays.items():
        (msl / split).mkdir(parents=True, exist_ok=True)
        np.save(msl / split / "T-1.npy", arr)
    (msl / "labeled_anomalies.csv").write_text(
        "chan_id,spacecraft,anomaly_sequences,class,num_values\n"
        'T-1,SMAP,"[[0, 1]]",[point],99\n'
        f'T-1,MSL,"{ranges}","[point, contextual]",{num_values}\n'
    )
    return arrays


def test_msl_train_then_test_with_inclusive_ranges(tmp_path):
    arrays = _msl(tmp_path)
    ds = load_dataset("anomaly/msl/T-1", tmp_path)
    assert ds.X.shape == (1, 4, 55) and ds.channel_names == (
        "telemetry",
        "command_1",
        "command_2",
        "command_3",
    )
    np.testing.assert_allclose(ds.X[0, :, :25], arrays["train"].T.astype(np.float32))
    np.testing.assert_array_equal(np.flatnonzero(ds.y[0]), 25 + np.array([3, 4, 5, 20]))
    assert ds.time_splits == {"train": (0, 25), "test": (25, 55)}


def test_msl_label_row_must_match_test_length(tmp_path):
    _msl(tmp_path, num_values=31)
    with pytest.raises(DataError, match=r"labeled_anomalies.csv: row 3: num_values=31 .* 30 rows"):
        load_dataset("anomaly/msl/T-1", tmp_path)


def test_ett_rule_drops_unused_rows_and_standardises_on_train(tmp_path):
    (tmp_path / "forecasting").mkdir()
    n = 20 * 720 + 50
    t = np.arange(n)
    frame = pd.DataFrame(
        {
            "date": pd.date_range("2016-07-01", periods=n, freq="h").strftime("%Y-%m-%d %H:%M:%S"),
            "A": 3.0 + np.sin(t / 24.0),
            "OT": 0.01 * t,
        }
    )
    frame.to_csv(tmp_path / "forecasting" / "ETTh2.csv", index=False)
    ds = load_dataset("forecast/ETTh2", tmp_path)
    assert ds.length == 14400 and ds.time_splits["test"] == (11520, 14400)
    train = frame.iloc[:8640, 1:].to_numpy()
    np.testing.assert_allclose(ds.meta["std"], train.std(axis=0))
    expected = (frame.iloc[:14400, 1:].to_numpy() - train.mean(axis=0)) / train.std(axis=0)
    np.testing.assert_allclose(ds.X[0], expected.T, rtol=1e-5, atol=1e-5)
