"""Every bad-input case gets a clear error naming file/row/column/value, or documented handling.

Each case writes a tiny file into tmp_path laid out like the benchmark folder and loads it by name
through ``load_dataset``, so the whole path (name -> files -> reader -> Dataset) is exercised.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from tsdividend.data import DataError, from_numpy, load_dataset

GOOD_ROW = "\t".join(f"{np.sin(i):.4f}" for i in range(20))


def _ucr(root: Path, train: str, test: str | None = None, name: str = "Toy") -> str:
    folder = root / "ucr" / name
    folder.mkdir(parents=True)
    (folder / f"{name}_TRAIN.tsv").write_text(train)
    (folder / f"{name}_TEST.tsv").write_text(test if test is not None else f"1\t{GOOD_ROW}\n")
    return f"ucr/{name}"


def _train_path(root: Path, name: str = "Toy") -> str:
    return re.escape(str(root / "ucr" / name / f"{name}_TRAIN.tsv"))


def test_nan_is_masked(tmp_path):
    cells = GOOD_ROW.split("\t")
    cells[3] = "NaN"
    ds = load_dataset(_ucr(tmp_path, f"1\t{GOOD_ROW}\n2\t" + "\t".join(cells) + "\n"), tmp_path)
    assert not ds.mask[1, 0, 3] and ds.X[1, 0, 3] == 0.0
    assert ds.mask.sum() == ds.mask.size - 1


@pytest.mark.parametrize("bad", ["inf", "-inf", "1e999"])
def test_infinite_value_names_file_row_column(tmp_path, bad):
    cells = GOOD_ROW.split("\t")
    cells[2] = bad
    name = _ucr(tmp_path, f"1\t{GOOD_ROW}\n1\t{GOOD_ROW}\n2\t" + "\t".join(cells) + "\n")
    pattern = rf"{_train_path(tmp_path)}: row 3, column 4: infinite value '{re.escape(bad)}'"
    with pytest.raises(DataError, match=pattern):
        load_dataset(name, tmp_path)


def test_ragged_row_names_file_and_row(tmp_path):
    name = _ucr(tmp_path, f"1\t{GOOD_ROW}\n2\t{GOOD_ROW}\t0.5\n")
    with pytest.raises(DataError, match=rf"{_train_path(tmp_path)}: row 2: ragged row \(22 fields"):
        load_dataset(name, tmp_path)


def test_short_row_is_ragged_too(tmp_path):
    short = "\t".join(GOOD_ROW.split("\t")[:10])
    name = _ucr(tmp_path, f"1\t{GOOD_ROW}\n2\t{short}\n")
    with pytest.raises(DataError, match=r"row 2: ragged row \(11 fields, expected 21"):
        load_dataset(name, tmp_path)


def test_constant_series_kept_with_warning_naming_rows(tmp_path):
    flat = "\t".join(["0.5"] * 20)
    name = _ucr(tmp_path, f"1\t{GOOD_ROW}\n2\t{flat}\n1\t{GOOD_ROW}\n2\t{flat}\n")
    with pytest.warns(UserWarning, match=r"Toy_TRAIN.tsv: constant series at row\(s\) 2, 4; kept"):
        ds = load_dataset(name, tmp_path)
    np.testing.assert_array_equal(ds.X[1, 0], np.full(20, 0.5, dtype=np.float32))


def test_series_shorter_than_one_patch_is_right_padded(tmp_path):
    name = _ucr(tmp_path, "1\t0.1\t0.2\t0.3\t0.4\t0.5\n", "2\t0.5\t0.1\t0.2\t0.3\t0.4\n")
    ds = load_dataset(name, tmp_path, min_length=16)
    assert ds.X.shape == (2, 1, 16)
    assert ds.mask[:, :, :5].all() and not ds.mask[:, :, 5:].any()
    assert (ds.X[:, :, 5:] == 0).all()


def test_series_without_any_observed_value_names_row(tmp_path):
    empty = "\t".join(["NaN"] * 20)
    name = _ucr(tmp_path, f"1\t{GOOD_ROW}\n2\t{empty}\n")
    with pytest.raises(DataError, match=rf"{_train_path(tmp_path)}: row 2 has no observed value"):
        load_dataset(name, tmp_path)


@pytest.mark.parametrize("shape", [(), (2, 3, 4, 20)])
def test_wrong_rank_names_shape(shape):
    with pytest.raises(DataError, match=re.escape(f"shape {shape}")):
        from_numpy(np.zeros(shape))


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_empty_file_names_file(tmp_path, content):
    name = _ucr(tmp_path, content)
    with pytest.raises(DataError, match=rf"{_train_path(tmp_path)}: empty file"):
        load_dataset(name, tmp_path)


def test_non_numeric_cell_names_file_row_column_and_text(tmp_path):
    cells = GOOD_ROW.split("\t")
    cells[6] = "12,5"
    name = _ucr(tmp_path, f"1\t{GOOD_ROW}\n2\t" + "\t".join(cells) + "\n")
    pattern = rf"{_train_path(tmp_path)}: row 2, column 8: non-numeric value '12,5'"
    with pytest.raises(DataError, match=pattern):
        load_dataset(name, tmp_path)


@pytest.mark.parametrize("label", ["", "NaN", " "])
def test_missing_label_names_file_and_row(tmp_path, label):
    name = _ucr(tmp_path, f"1\t{GOOD_ROW}\n1\t{GOOD_ROW}\n{label}\t{GOOD_ROW}\n")
    with pytest.raises(
        DataError, match=rf"{_train_path(tmp_path)}: row 3, column 1: missing class"
    ):
        load_dataset(name, tmp_path)


# --- the same rules through the other text readers -------------------------------------------


def _anomaly_txt(root: Path, body: str, fname: str = "001_UCR_Anomaly_Toy_30_40_45.txt") -> Path:
    folder = root / "anomaly" / "ucr"
    folder.mkdir(parents=True)
    path = folder / fname
    path.write_bytes(body.encode())
    return path


def test_ucr_anomaly_crlf_and_several_values_per_line(tmp_path):
    values = np.round(np.sin(np.arange(60) / 3.0), 6)
    lines = [f"  {v: .7e}" for v in values[:30]] + [" ".join(f"{v:.7e}" for v in values[30:])]
    _anomaly_txt(tmp_path, "\r\n".join(lines) + "\r\n")
    ds = load_dataset("anomaly/ucr/1", tmp_path)
    np.testing.assert_allclose(ds.X[0, 0], values.astype(np.float32))
    assert ds.time_splits == {"train": (0, 30), "test": (30, 60)}
    np.testing.assert_array_equal(np.flatnonzero(ds.y[0]), np.arange(40, 45))


def test_ucr_anomaly_bad_token_and_inconsistent_name(tmp_path):
    path = _anomaly_txt(tmp_path, "1.0\n2.0\n3.0 x3\n" + "1.5\n" * 60)
    with pytest.raises(DataError, match=rf"{re.escape(str(path))}: row 3, column 2: non-numeric"):
        load_dataset("anomaly/ucr/001", tmp_path)
    path.unlink()
    _anomaly_txt(tmp_path / "b", "1.0\n" * 20)
    with pytest.raises(DataError, match=r"trainEnd=30, begin=40, end=45 do not fit a series of 20"):
        load_dataset("anomaly/ucr/001", tmp_path / "b")


def test_forecast_csv_inf_and_ragged(tmp_path):
    folder = tmp_path / "forecasting"
    folder.mkdir()
    rows = [f"2020-01-{i % 28 + 1:02d},{i},{2 * i}" for i in range(100)]
    rows[41] = "2020-01-14,-inf,3"
    path = folder / "national_illness.csv"
    path.write_text("date,a,OT\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"row 43, column 2 \('a'\): infinite value '-inf'"):
        load_dataset("forecast/ILI", tmp_path)
    rows[41] = "2020-01-14,1"
    path.write_text("date,a,OT\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"national_illness.csv: row 43: ragged row \(2 fields"):
        load_dataset("forecast/ILI", tmp_path)


def test_msl_refuses_pickled_npy(tmp_path):
    msl = tmp_path / "anomaly" / "msl"
    for split in ("train", "test"):
        (msl / split).mkdir(parents=True)
        np.save(msl / split / "X-1.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (msl / "labeled_anomalies.csv").write_text(
        'chan_id,spacecraft,anomaly_sequences,class,num_values\nX-1,MSL,"[[1, 2]]",[point],1\n'
    )
    with pytest.raises(DataError, match=r"train/X-1.npy: cannot read .npy"):
        load_dataset("anomaly/msl/X-1", tmp_path)
