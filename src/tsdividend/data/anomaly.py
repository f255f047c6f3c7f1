"""Readers for anomaly-detection archives: UCR anomaly archive, NAB and NASA MSL.

Each returns one series (N = 1) with 0/1 point labels ``y`` (1, T) and a split in time:
``time_splits = {"train": (0, n_train), "test": (n_train, T)}``.

- **UCR anomaly archive** (Wu & Keogh 2021, arXiv:2009.13807): file
  ``NNN_UCR_Anomaly_<name>_<trainEnd>_<begin>_<end>.txt``; values are whitespace-separated (one per
  line in the archive, several per line in a few files: both read in reading order). Labels come
  from the name: ``y[begin:end] = 1`` on the 0-based array (aeon's labelled copy of id 135,
  ``_4187_4199``, marks indices 4187..4198); a name with ``begin == end`` labels the one point
  ``begin``. ``train = [0, trainEnd)`` is guaranteed anomaly-free.
- **NAB** (Lavin & Ahmad 2015): ``timestamp,value`` csv, rows kept in file order
  (a few NAB files repeat a timestamp or step back once); a point is anomalous when its timestamp
  lies inside a window of ``labels/combined_windows.json`` (ends inclusive, as NAB scores).
  ``train`` is NAB's probationary period, ``min(floor(0.15 T), 0.15 * 5000)`` points
  (``getProbationPeriod`` in numenta/NAB). It is NOT guaranteed anomaly-free:
  ``meta["train_has_anomaly"]`` says whether a labelled point falls in it.
- **MSL** (Hundman et al., KDD 2018): ``train/<chan>.npy`` then ``test/<chan>.npy`` concatenated
  along T (float64 (time, 55): column 0 telemetry, 54 one-hot command columns; all 55 kept as
  channels ``telemetry``, ``command_1`` ... ``command_54``). ``labeled_anomalies.csv`` rows with
  ``spacecraft == "MSL"`` give inclusive ``[start, end]`` ranges into the test array.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from tsdividend.data.dataset import DataError, Dataset, check_series, to_masked
from tsdividend.data.parsing import read_table, read_tokens

UCR_ANOMALY_FILE = re.compile(
    r"^(?P<id>\d{3})_UCR_Anomaly_(?P<series>.+)_(?P<train_end>\d+)_(?P<begin>\d+)_(?P<end>\d+)\.txt$"
)
NAB_PROBATION_PERCENT = 0.15
NAB_PROBATION_CAP = 5000  # NAB caps the probationary period at 0.15 * 5000 points


def _single_series(
    name: str,
    values: np.ndarray,
    labels: np.ndarray,
    n_train: int,
    *,
    source_label: str,
    rows: str,
    min_length: int,
    channel_names: tuple[str, ...],
    meta: dict[str, object],
) -> Dataset:
    """values: float64 (C, T) with NaN; labels: 0/1 (T,) -> an anomaly ``Dataset``."""
    series = values[None]
    check_series(series, source=source_label, rows=[rows])
    X, mask = to_masked(series, min_length=min_length)
    y = np.zeros((1, X.shape[2]), dtype=np.uint8)
    y[0, : labels.shape[0]] = labels
    T = values.shape[1]
    return Dataset(
        name=name,
        task="anomaly",
        X=X,
        mask=mask,
        y=y,
        time_splits={"train": (0, n_train), "test": (n_train, T)},
        channel_names=channel_names,
        meta=meta,
    )


def load_ucr_anomaly(name: str, path: Path, *, min_length: int, source: str) -> Dataset:
    """Load one labelled series of the UCR anomaly archive (labels parsed from the file name).

    Raises:
        DataError: the name does not follow the labelled pattern, the borders do not fit the
            series, or the values are bad (naming the file and line).
    """
    m = UCR_ANOMALY_FILE.match(path.name)
    if m is None:
        raise DataError(
            f"{path}: name does not match NNN_UCR_Anomaly_<name>_<trainEnd>_<begin>_<end>.txt"
        )
    values, lines = read_tokens(path)
    T = values.shape[0]
    train_end, begin, end = (int(m[k]) for k in ("train_end", "begin", "end"))
    if not 0 < train_end < begin <= end <= T:
        raise DataError(
            f"{path}: trainEnd={train_end}, begin={begin}, end={end} do not fit a series of "
            f"{T} values (need 0 < trainEnd < begin <= end <= length)"
        )
    stop = max(end, begin + 1)
    labels = np.zeros(T, dtype=np.uint8)
    labels[begin:stop] = 1
    meta = {
        "source": source,
        "files": [str(path)],
        "id": m["id"],
        "series": m["series"],
        "train_end": train_end,
        "anomalies": [[begin, stop]],
        "label_rule": "y[begin:end] = 1 on the 0-based array (end exclusive)",
    }
    return _single_series(
        name,
        values[None],
        labels,
        train_end,
        source_label=str(path),
        rows=f"1-{int(lines[-1])}",
        min_length=min_length,
        channel_names=("value",),
        meta=meta,
    )


def load_ucr_anomaly_csv_pair(
    name: str, train_csv: Path, test_csv: Path, *, min_length: int, source: str
) -> Dataset:
    """Load aeon's labelled copy of a UCR anomaly series (``KDD-TSAD_135``).

    aeon 1.6 ships ``<stem>_TRAIN.csv`` = the anomaly-free training prefix and ``<stem>_TEST.csv``
    = the WHOLE series (timestamps 0..T-1, the prefix included), both with columns
    ``timestamp,value,is_anomaly``. The series is the TEST file, its labels the ``is_anomaly``
    column, and ``trainEnd`` the length of the TRAIN file (checked to be a prefix of TEST).

    Raises:
        DataError: unexpected columns, TRAIN not a prefix of TEST, or labels in the prefix.
    """
    tables = [read_table(p, sep=",", header=True) for p in (train_csv, test_csv)]
    for t in tables:
        if t.header != ["timestamp", "value", "is_anomaly"]:
            raise DataError(
                f"{t.path}: expected columns timestamp,value,is_anomaly, got {t.header}"
            )
    prefix, full = tables[0].values, tables[1].values
    n_train, T = prefix.shape[0], full.shape[0]
    if n_train >= T or not np.array_equal(prefix[:, 1], full[:n_train, 1], equal_nan=True):
        raise DataError(f"{train_csv}: is not a prefix of {test_csv} (values differ)")
    labels = full[:, 2]
    if not np.isin(labels, (0.0, 1.0)).all():
        raise DataError(f"{test_csv}: column is_anomaly must hold 0/1")
    idx = np.flatnonzero(labels)
    if idx.size == 0 or idx[0] < n_train:
        raise DataError(f"{test_csv}: expected anomalies only after the training prefix")
    begin, stop = int(idx[0]), int(idx[-1]) + 1
    stem = test_csv.stem.removesuffix("_TEST")
    meta = {
        "source": source,
        "files": [str(train_csv), str(test_csv)],
        "id": stem[:3],
        "series": stem.split("_UCR_Anomaly_")[-1],
        "train_end": n_train,
        "anomalies": _runs(labels.astype(np.uint8)),
        "archive_name": f"{stem}_{n_train}_{begin}_{stop}.txt",
        "label_rule": "y[begin:end] = 1 on the 0-based array (end exclusive)",
    }
    return _single_series(
        name,
        full[None, :, 1],
        labels.astype(np.uint8),
        n_train,
        source_label=str(test_csv),
        rows=f"2-{T + 1}",
        min_length=min_length,
        channel_names=("value",),
        meta=meta,
    )


def load_nab(
    name: str, csv_path: Path, windows_path: Path, key: str, *, min_length: int, source: str
) -> Dataset:
    """Load one NAB series with point labels from its anomaly windows.

    Args:
        name: dataset name.
        csv_path: the series csv (``timestamp,value``).
        windows_path: ``labels/combined_windows.json``.
        key: the series' key in that file, ``"<category>/<file>.csv"``.
        min_length: right-pad (mask False) up to this length.
        source: provenance for ``meta``.

    Raises:
        DataError: bad columns, timestamps or values (naming file and line), or no label entry.
    """
    table = read_table(csv_path, sep=",", header=True, text_cols=(0,))
    if table.header is None or table.header[:2] != ["timestamp", "value"]:
        raise DataError(f"{csv_path}: expected columns timestamp,value, got {table.header}")
    raw_times = pd.Series(table.text[0])
    times = pd.to_datetime(raw_times, errors="coerce", format="%Y-%m-%d %H:%M:%S")
    if times.isna().any():
        i = int(np.flatnonzero(times.isna().to_numpy())[0])
        raise DataError(
            f"{csv_path}: row {table.line(i)}, column 1: bad timestamp {raw_times[i]!r}"
        )
    try:
        windows = json.loads(windows_path.read_text())[key]
    except (OSError, json.JSONDecodeError) as e:
        raise DataError(f"{windows_path}: cannot read label windows: {e}") from None
    except KeyError:
        raise DataError(f"{windows_path}: no label entry for {key!r}") from None
    labels = np.zeros(len(times), dtype=np.uint8)
    stamps = times.to_numpy()
    for start, end in windows:
        inside = (stamps >= np.datetime64(pd.Timestamp(start))) & (
            stamps <= np.datetime64(pd.Timestamp(end))
        )
        labels[inside] = 1
    T = len(times)
    n_train = int(
        min(math.floor(NAB_PROBATION_PERCENT * T), NAB_PROBATION_PERCENT * NAB_PROBATION_CAP)
    )
    meta = {
        "source": source,
        "files": [str(csv_path), str(windows_path)],
        "probationary_length": n_train,
        "train_has_anomaly": bool(labels[:n_train].any()),
        "anomalies": _runs(labels),
        "first_timestamp": str(times.iloc[0]),
        "last_timestamp": str(times.iloc[-1]),
    }
    return _single_series(
        name,
        table.values[None, :, 1],
        labels,
        n_train,
        source_label=str(csv_path),
        rows=f"2-{table.line(T - 1)}",
        min_length=min_length,
        channel_names=("value",),
        meta=meta,
    )


def load_msl(
    name: str,
    channel: str,
    train_npy: Path,
    test_npy: Path,
    labels_csv: Path,
    *,
    min_length: int,
    source: str,
) -> Dataset:
    """Load one MSL channel: train then test along T, all 55 columns as channels.

    Raises:
        DataError: arrays that are not 2-D numeric with equal widths, non-finite values, or a
            label row that is missing or does not fit the test array.
    """
    train, test = _load_npy(train_npy), _load_npy(test_npy)
    if train.shape[1] != test.shape[1]:
        raise DataError(f"{test_npy}: {test.shape[1]} columns but {train_npy} has {train.shape[1]}")
    ranges, classes = _msl_labels(labels_csv, channel, test.shape[0])
    n_train = train.shape[0]
    values = np.concatenate([train, test], axis=0).T  # (C, T)
    labels = np.zeros(values.shape[1], dtype=np.uint8)
    for s, e in ranges:
        labels[n_train + s : n_train + e + 1] = 1
    C = values.shape[0]
    meta: dict[str, object] = {
        "source": source,
        "files": [str(train_npy), str(test_npy), str(labels_csv)],
        "test_ranges_inclusive": ranges,
        "anomaly_classes": classes,
        "anomalies": _runs(labels),
    }
    return _single_series(
        name,
        values,
        labels,
        n_train,
        source_label=str(test_npy),
        rows="1",
        min_length=min_length,
        channel_names=("telemetry", *(f"command_{i}" for i in range(1, C))),
        meta=meta,
    )


def _load_npy(path: Path) -> np.ndarray:
    try:
        arr = np.load(path, allow_pickle=False)  # never unpickle user files
    except (ValueError, OSError) as e:
        raise DataError(f"{path}: cannot read .npy (pickled or corrupt?): {e}") from None
    if arr.ndim != 2 or arr.shape[0] == 0 or not np.issubdtype(arr.dtype, np.number):
        raise DataError(
            f"{path}: expected a 2-D numeric array (time, columns), got {arr.dtype} {arr.shape}"
        )
    arr = arr.astype(np.float64)
    bad = np.argwhere(np.isinf(arr))
    if bad.size:
        r, c = bad[0]
        raise DataError(f"{path}: row {r + 1}, column {c + 1}: infinite value {arr[r, c]}")
    return arr


def _msl_labels(path: Path, channel: str, n_test: int) -> tuple[list[list[int]], list[str]]:
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError) as e:
        raise DataError(f"{path}: cannot read label table: {e}") from None
    need = {"chan_id", "spacecraft", "anomaly_sequences", "num_values"}
    if not need <= set(df.columns):
        raise DataError(f"{path}: missing columns {sorted(need - set(df.columns))}")
    rows = df[(df["chan_id"] == channel) & (df["spacecraft"] == "MSL")]
    if rows.empty:
        raise DataError(f"{path}: no row with chan_id={channel!r} and spacecraft='MSL'")
    ranges: list[list[int]] = []
    for i, row in rows.iterrows():
        line = int(i) + 2  # header is line 1
        try:
            n_values = int(row["num_values"])
            seqs = [(int(s), int(e)) for s, e in json.loads(row["anomaly_sequences"])]
        except (ValueError, TypeError):  # JSONDecodeError is a ValueError
            raise DataError(
                f"{path}: row {line}: bad num_values/anomaly_sequences "
                f"({row['num_values']!r}, {row['anomaly_sequences']!r})"
            ) from None
        if n_values != n_test:
            raise DataError(
                f"{path}: row {line}: num_values={n_values} but the test array of "
                f"{channel} has {n_test} rows"
            )
        for lo, hi in seqs:
            if not 0 <= lo <= hi < n_test:
                raise DataError(f"{path}: row {line}: range [{lo}, {hi}] outside [0, {n_test})")
            ranges.append([lo, hi])
    classes = (
        [c.strip() for r in rows["class"] for c in r.strip("[]").split(",")]
        if "class" in df
        else []
    )
    return ranges, classes


def _runs(labels: np.ndarray) -> list[list[int]]:
    """Half-open ``[start, end)`` runs of ones in a 0/1 vector."""
    padded = np.concatenate([[0], labels.astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(padded))
    return [[int(a), int(b)] for a, b in zip(edges[::2], edges[1::2], strict=True)]
