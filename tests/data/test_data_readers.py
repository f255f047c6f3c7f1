"""Readers against the real benchmark files (skipped without them), aeon's bundled copies and ours.

Every check compares with an independent reading of the original file (numpy/pandas/json), never
with numbers copied from our own output.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re

import numpy as np
import pandas as pd
import pytest

from tsdividend.data import bundled, dataset_info, list_datasets, load_dataset


def test_gunpoint_info(shared_data):
    info = dataset_info("ucr/GunPoint", shared_data)
    assert info == {
        "name": "ucr/GunPoint",
        "task": "classification",
        "n_train": 50,
        "n_test": 150,
        "n_channels": 1,
        "length": 150,
        "n_classes": 2,
    }
    ds = load_dataset("ucr/GunPoint", shared_data)
    raw = np.loadtxt(shared_data / "ucr/GunPoint/GunPoint_TRAIN.tsv", delimiter="\t")
    np.testing.assert_allclose(ds.subset("train").X[:, 0], raw[:, 1:].astype(np.float32))
    labels = np.array(ds.classes)[ds.subset("train").y].astype(float)
    np.testing.assert_array_equal(labels, raw[:, 0])
    assert ds.meta["source"] == "data-dir"


def test_gesture_pebble_variable_length_masks(shared_data):
    ds = load_dataset("ucr/GesturePebbleZ1", shared_data)
    folder = shared_data / "ucr/GesturePebbleZ1"
    raws = [
        pd.read_csv(folder / f"GesturePebbleZ1_{s}.tsv", sep="\t", header=None).to_numpy()[:, 1:]
        for s in ("TRAIN", "TEST")
    ]
    lengths = np.concatenate([(~np.isnan(r)).sum(axis=1) for r in raws])
    assert lengths.min() < lengths.max() == ds.length
    np.testing.assert_array_equal(ds.mask[:, 0].sum(axis=1), lengths)
    prefix = np.arange(ds.length)[None, :] < lengths[:, None]  # observed prefix, then padding
    np.testing.assert_array_equal(ds.mask[:, 0], prefix)


def test_dodgerloopday_missing_values_masked(shared_data):
    ds = load_dataset("ucr/DodgerLoopDay", shared_data)
    raw = pd.read_csv(
        shared_data / "ucr/DodgerLoopDay/DodgerLoopDay_TRAIN.tsv", sep="\t", header=None
    ).to_numpy()[:, 1:]
    train = ds.subset("train")
    np.testing.assert_array_equal(~train.mask[:, 0, :], np.isnan(raw))
    assert np.isnan(raw).sum() > 0 and (train.X[~train.mask] == 0).all()


def test_basicmotions_multivariate(shared_data):
    from aeon.datasets import load_from_ts_file

    info = dataset_info("uea/BasicMotions", shared_data)
    assert (info["n_train"], info["n_test"], info["n_channels"], info["length"]) == (40, 40, 6, 100)
    X, _ = load_from_ts_file(str(shared_data / "uea/BasicMotions/BasicMotions_TEST.ts"))
    np.testing.assert_allclose(
        load_dataset("uea/BasicMotions", shared_data).subset("test").X, X.astype(np.float32)
    )


def test_japanese_vowels_padded_with_mask(shared_data):
    ds = load_dataset("uea/JapaneseVowels", shared_data)
    lengths = ds.mask[:, 0].sum(axis=1)
    assert (lengths.min(), lengths.max(), ds.length) == (7, 29, 29)
    assert (ds.mask.all(axis=1) == ds.mask.any(axis=1)).all()  # channels share their length
    assert len(ds.splits["train"]) == 270 and len(ds.splits["test"]) == 370


def test_ucr_anomaly_labels_only_in_test_part(shared_data):
    path = next((shared_data / "anomaly/ucr").glob("025_UCR_Anomaly_*.txt"))
    train_end, begin, end = (int(v) for v in path.stem.split("_")[-3:])
    ds = load_dataset("anomaly/ucr/025", shared_data)
    np.testing.assert_allclose(ds.X[0, 0], np.loadtxt(path).astype(np.float32))
    assert ds.time_splits["train"] == (0, train_end)
    np.testing.assert_array_equal(np.flatnonzero(ds.y[0]), np.arange(begin, end))
    assert not ds.subset("train").y.any() and ds.subset("test").y.sum() == end - begin


def test_nab_series_labels_from_windows(shared_data):
    key = "realKnownCause/nyc_taxi.csv"
    ds = load_dataset("anomaly/nab/realKnownCause/nyc_taxi", shared_data)
    raw = pd.read_csv(shared_data / "anomaly/nab" / key)
    windows = json.loads((shared_data / "anomaly/nab/labels/combined_windows.json").read_text())
    stamps = pd.to_datetime(raw["timestamp"])
    expected = np.zeros(len(raw), dtype=bool)
    for a, b in windows[key]:
        expected |= ((stamps >= pd.Timestamp(a)) & (stamps <= pd.Timestamp(b))).to_numpy()
    np.testing.assert_array_equal(ds.y[0].astype(bool), expected)
    points = json.loads((shared_data / "anomaly/nab/labels/combined_labels.json").read_text())[key]
    assert all(ds.y[0, stamps.searchsorted(pd.Timestamp(p))] == 1 for p in points)
    n_train = ds.time_splits["train"][1]
    assert n_train == min(int(0.15 * len(raw)), 750)
    assert ds.meta["train_has_anomaly"] == bool(expected[:n_train].any())
    np.testing.assert_allclose(ds.X[0, 0], raw["value"].to_numpy(np.float32))


def test_msl_channel_labels_match_csv(shared_data):
    msl = shared_data / "anomaly/msl"
    train, test = np.load(msl / "train/C-1.npy"), np.load(msl / "test/C-1.npy")
    ds = load_dataset("anomaly/msl/C-1", shared_data)
    assert ds.X.shape == (1, 55, len(train) + len(test)) and ds.channel_names[0] == "telemetry"
    assert ds.time_splits["test"] == (len(train), len(train) + len(test))
    table = pd.read_csv(msl / "labeled_anomalies.csv")
    row = table[(table.chan_id == "C-1") & (table.spacecraft == "MSL")].iloc[0]
    expected = np.zeros(len(test), dtype=np.uint8)
    for s, e in ast.literal_eval(row.anomaly_sequences):
        expected[s : e + 1] = 1
    np.testing.assert_array_equal(ds.subset("test").y[0], expected)
    assert not ds.subset("train").y.any()
    np.testing.assert_allclose(ds.subset("test").X[0], test.T.astype(np.float32))


def test_etth1_splits_and_train_standardisation(shared_data):
    ds = load_dataset("forecast/ETTh1", shared_data)
    sizes = {k: b - a for k, (a, b) in ds.time_splits.items()}
    assert sizes == {"train": 8640, "val": 2880, "test": 2880} and ds.length == 14400
    train = ds.subset("train").X[0]
    np.testing.assert_allclose(train.mean(axis=1), 0.0, atol=1e-4)
    np.testing.assert_allclose(train.std(axis=1), 1.0, atol=1e-4)
    raw = pd.read_csv(shared_data / "forecasting/ETTh1.csv").iloc[:, 1:].to_numpy()
    mu, sd = raw[:8640].mean(axis=0), raw[:8640].std(axis=0)
    np.testing.assert_allclose(ds.meta["mean"], mu)
    np.testing.assert_allclose(ds.X[0, :, -1], (raw[14399] - mu) / sd, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("name", "file"), [("Exchange", "exchange_rate.csv"), ("ILI", "national_illness.csv")]
)
def test_ratio_split_sizes(shared_data, name, file):
    n = len(pd.read_csv(shared_data / "forecasting" / file))
    ds = load_dataset(f"forecast/{name}", shared_data)
    n_train, n_test = int(0.7 * n), int(0.2 * n)
    assert ds.time_splits == {
        "train": (0, n_train),
        "val": (n_train, n - n_test),
        "test": (n - n_test, n),
    }


def test_list_finds_every_shared_dataset(shared_data):
    rows = [r for r in list_datasets(shared_data) if r["source"] == "data-dir"]
    counts: dict[str, int] = {}
    for r in rows:
        family = (
            "/".join(r["name"].split("/")[:2])
            if r["name"].startswith("anomaly")
            else (r["name"].split("/")[0])
        )
        counts[family] = counts.get(family, 0) + 1
    assert counts == {
        "ucr": 22,
        "uea": 3,
        "anomaly/ucr": 76,
        "anomaly/nab": 58,
        "anomaly/msl": 27,
        "forecast": 4,
    }
    assert all(r["available"] for r in rows)


# --- aeon's bundled copies: these run without the shared data --------------------------------


def test_bundled_gunpoint_without_data_dir(tmp_path):
    ds = load_dataset("ucr/GunPoint", tmp_path)
    assert ds.meta["source"] == "aeon-bundled"
    assert dataset_info("ucr/GunPoint", tmp_path) == {
        "name": "ucr/GunPoint",
        "task": "classification",
        "n_train": 50,
        "n_test": 150,
        "n_channels": 1,
        "length": 150,
        "n_classes": 2,
    }


def test_bundled_equals_shared_copy(shared_data, tmp_path):
    ours, bundled = (
        load_dataset("ucr/GunPoint", shared_data),
        load_dataset("ucr/GunPoint", tmp_path),
    )
    np.testing.assert_array_equal(ours.X, bundled.X)
    np.testing.assert_array_equal(ours.y, bundled.y)


def test_bundled_multivariate_and_variable_length(tmp_path):
    bm = load_dataset("uea/BasicMotions", tmp_path)
    assert bm.X.shape == (80, 6, 100) and bm.meta["source"] == "aeon-bundled"
    jv = load_dataset("uea/JapaneseVowels", tmp_path)
    assert jv.mask[:, 0].sum(axis=1).min() == 7 and jv.length == 29


def test_bundled_ucr_anomaly_135_matches_aeon_loader(tmp_path):
    from aeon.datasets import load_kdd_tsad_135

    series, labels = load_kdd_tsad_135(split="test")
    prefix, _ = load_kdd_tsad_135(split="train")
    ds = load_dataset("anomaly/ucr/135", tmp_path)
    np.testing.assert_allclose(ds.X[0, 0], series.astype(np.float32))
    np.testing.assert_array_equal(ds.y[0], labels)
    assert ds.time_splits == {"train": (0, len(prefix)), "test": (len(prefix), len(series))}
    assert ds.meta["archive_name"] == "135_UCR_Anomaly_InternalBleeding16_1200_4187_4199.txt"
    assert not ds.subset("train").y.any()


# --- forecast/ILI shipped inside the package: runs without the shared data ---------------------

_SHIPPED_ILI = bundled.SHIPPED_DIR / "national_illness.csv"


def test_shipped_ili_without_data_dir(tmp_path):
    ds = load_dataset("forecast/ILI", tmp_path)
    assert ds.meta["source"] == "shipped" and ds.meta["files"] == [str(_SHIPPED_ILI)]
    raw = pd.read_csv(_SHIPPED_ILI)
    assert raw.columns[0] == "date" and raw.shape == (966, 8)
    values = raw.iloc[:, 1:].to_numpy(dtype=np.float64)
    n_train, n_test = int(0.7 * 966), int(0.2 * 966)
    assert ds.X.shape == (1, 7, 966) and ds.mask.all()
    assert ds.channel_names == tuple(raw.columns[1:])
    assert ds.time_splits == {
        "train": (0, n_train),
        "val": (n_train, 966 - n_test),
        "test": (966 - n_test, 966),
    }
    mu, sd = values[:n_train].mean(axis=0), values[:n_train].std(axis=0)
    np.testing.assert_allclose(ds.meta["mean"], mu)
    np.testing.assert_allclose(ds.X[0].T, (values - mu) / sd, rtol=1e-5, atol=1e-5)
    assert (ds.meta["first_date"], ds.meta["last_date"]) == (
        raw["date"].iloc[0],
        raw["date"].iloc[-1],
    )
    assert dataset_info("forecast/ILI", tmp_path) == {
        "name": "forecast/ILI",
        "task": "forecasting",
        "n_train": n_train,
        "n_test": n_test,
        "n_channels": 7,
        "length": 966,
        "n_classes": None,
    }
    rows = {r["name"]: r for r in list_datasets(tmp_path)}
    assert rows["forecast/ILI"] == {
        "name": "forecast/ILI",
        "task": "forecasting",
        "available": True,
        "source": "shipped",
    }
    assert rows["ucr/GunPoint"]["source"] == "aeon-bundled"
    assert "forecast/ILI" in bundled.bundled_names()
    assert bundled.bundled_files("forecast", "ETTh1") is None  # only ILI is shipped


def test_data_dir_ili_wins_over_shipped_copy(tmp_path):
    folder = tmp_path / "forecasting"
    folder.mkdir()
    rows = "\n".join(f"2000-01-{i + 1:02d},{i},{2 * i}" for i in range(20))
    (folder / "national_illness.csv").write_text("date,a,OT\n" + rows + "\n")
    ds = load_dataset("forecast/ILI", tmp_path)
    assert ds.meta["source"] == "data-dir" and ds.X.shape == (1, 2, 20)


def test_shipped_ili_hash_matches_its_readme():
    readme = (bundled.SHIPPED_DIR / "README.md").read_text(encoding="utf-8")
    stated = re.findall(r"\*\*sha256:\*\* `([0-9a-f]{64})`", readme)
    assert stated == [hashlib.sha256(_SHIPPED_ILI.read_bytes()).hexdigest()]
    assert "MIT" in readme and "CDC" in readme and "unmodified" in readme.lower()


def test_shipped_ili_is_byte_identical_to_shared_copy(shared_data):
    shared = shared_data / "forecasting" / "national_illness.csv"
    if not shared.is_file():
        pytest.skip(f"{shared} not present")
    assert _SHIPPED_ILI.read_bytes() == shared.read_bytes()
