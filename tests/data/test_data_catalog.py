"""Names, the data root, listing and the helpful errors of the catalog."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import platformdirs
import pytest

from tsdividend.data import DataError, list_datasets, load_dataset, resolve_data_dir
from tsdividend.data.catalog import catalog_files, name_for_path, parse_name
from tsdividend.data.manifest import manifest


def test_resolve_data_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("TSDIVIDEND_DATA", str(tmp_path / "env"))
    assert resolve_data_dir(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_data_dir() == tmp_path / "env"
    monkeypatch.delenv("TSDIVIDEND_DATA")
    assert resolve_data_dir() == Path(platformdirs.user_cache_dir("tsdividend"))


@pytest.mark.parametrize(
    ("name", "parsed"),
    [
        ("ucr/GunPoint", ("ucr", "GunPoint")),
        ("anomaly/ucr/25", ("anomaly/ucr", "025")),
        ("anomaly/nab/realTraffic/speed_6005", ("anomaly/nab", "realTraffic/speed_6005")),
        ("anomaly/msl/C-1", ("anomaly/msl", "C-1")),
        ("forecast/ILI", ("forecast", "ILI")),
    ],
)
def test_parse_name(name, parsed):
    assert parse_name(name) == parsed


@pytest.mark.parametrize("bad", ["gunpoint", "ucr/../etc", "forecast/ETTm1", "anomaly/ucr/x1"])
def test_unknown_name_lists_patterns(bad):
    with pytest.raises(DataError, match=r"valid patterns: ucr/<Name>, uea/<Name>, anomaly/ucr"):
        parse_name(bad)


def test_unknown_name_suggests_close_match():
    with pytest.raises(DataError, match=r"did you mean forecast/ETTh1"):
        load_dataset("forecast/ETTH1")


def test_missing_files_say_where_and_how(tmp_path):
    with pytest.raises(DataError) as err:
        load_dataset("forecast/ETTh2", tmp_path)
    msg = str(err.value)
    assert str(tmp_path / "forecasting" / "ETTh2.csv") in msg
    assert "tsdividend data fetch forecast/ETTh2" in msg and "TSDIVIDEND_DATA" in msg
    with pytest.raises(DataError, match=r"did you mean ucr/GunPoint"):
        load_dataset("ucr/GunPont", tmp_path)


def test_incomplete_dataset_is_an_error_not_a_silent_fallback(tmp_path):
    folder = tmp_path / "ucr" / "GunPoint"
    folder.mkdir(parents=True)
    (folder / "GunPoint_TRAIN.tsv").write_text("1\t" + "\t".join(["0.5"] * 20) + "\n")
    with pytest.raises(DataError, match=r"incomplete .* missing .*GunPoint_TEST.tsv"):
        load_dataset("ucr/GunPoint", tmp_path)


def test_data_dir_wins_over_bundled_copy(tmp_path):
    folder = tmp_path / "ucr" / "GunPoint"
    folder.mkdir(parents=True)
    rows = "\n".join(f"{1 + i % 2}\t" + "\t".join(str(i + t) for t in range(20)) for i in range(4))
    for split in ("TRAIN", "TEST"):
        (folder / f"GunPoint_{split}.tsv").write_text(rows + "\n")
    ds = load_dataset("ucr/GunPoint", tmp_path)
    assert ds.meta["source"] == "data-dir" and ds.X.shape == (8, 1, 20)
    np.testing.assert_array_equal(ds.X[1, 0], np.arange(1, 21, dtype=np.float32))


def test_list_on_empty_root(tmp_path):
    rows = {r["name"]: r for r in list_datasets(tmp_path)}
    assert set(next(iter(rows.values()))) == {"name", "task", "available", "source"}
    assert rows["ucr/GunPoint"]["source"] == "aeon-bundled" and rows["ucr/GunPoint"]["available"]
    assert rows["anomaly/ucr/135"]["task"] == "anomaly" and rows["anomaly/ucr/135"]["available"]
    assert rows["forecast/ETTh1"] == {
        "name": "forecast/ETTh1",
        "task": "forecasting",
        "available": False,
        "source": "fetchable",
    }
    assert rows["ucr/ECG5000"]["source"] == "manual"  # its TEST file has no pinned public URL
    assert rows["anomaly/msl/C-1"]["source"] == "fetchable"


def test_catalog_maps_every_manifest_file():
    named = [p for p in manifest() if name_for_path(p)]
    support = sorted(set(manifest()) - set(named))
    assert all(p.endswith((".json", ".txt", ".md", ".csv")) for p in support), support
    assert catalog_files("anomaly/nab/realTraffic/speed_6005") == [
        "anomaly/nab/realTraffic/speed_6005.csv",
        "anomaly/nab/labels/combined_windows.json",
        "anomaly/nab/LICENSE.txt",
    ]
    assert catalog_files("anomaly/msl/C-1")[-1] == "anomaly/msl/labeled_anomalies.csv"
