"""Series from the user's files: NumPy, CSV, Parquet, UCR ``.tsv`` and aeon/sktime ``.ts``.

:func:`read_collection` reads any of them into an (unsplit) :class:`Dataset`, through the same
checks as every other input (:func:`tsdividend.data.to_collection`): ``.npy`` holds an (N, T) or
(N, C, T) array (never unpickled); ``.csv`` (with a header row) and ``.parquet`` hold a frame, wide
(one row per series) or long (``id_col`` / ``time_col``), with an optional ``label_col``; ``.tsv``
is a UCR file (label in column 1); ``.ts`` an aeon/sktime file, labelled or not.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tsdividend.data.classification import read_ucr_tsv
from tsdividend.data.convert import from_numpy, from_pandas, to_collection
from tsdividend.data.dataset import DataError, Dataset
from tsdividend.data.parsing import read_lines

__all__ = ["SERIES_SUFFIXES", "read_collection"]

SERIES_SUFFIXES = (".npy", ".csv", ".parquet", ".tsv", ".ts")


def read_collection(
    path: str | Path, *, id_col: str | None = None, time_col: str | None = None,
    label_col: str | None = None,
) -> Dataset:  # fmt: skip
    """The series of one file (format by suffix, module docstring).

    Raises:
        FileNotFoundError: the file does not exist.
        DataError: unknown suffix, unreadable file, or values that fail the checks (naming the
            file, row and column).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    suffix = path.suffix.lower()
    name = str(path)
    if suffix == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except ValueError as e:  # object arrays need pickle: refused
            raise DataError(f"{path}: cannot read without unpickling ({e})") from None
        return to_collection(arr, name=name)
    if suffix in (".csv", ".parquet"):
        try:
            df = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
        except (ValueError, OSError, pd.errors.ParserError) as e:
            raise DataError(f"{path}: cannot read as {suffix[1:]}: {e}") from None
        if df.empty:
            raise DataError(f"{path}: no rows")
        return from_pandas(df, id_col=id_col, time_col=time_col, label_col=label_col, name=name)
    if suffix == ".tsv":
        part = read_ucr_tsv(path)
        return from_numpy(part.values, part.labels, name=name)
    if suffix == ".ts":
        return _read_ts(path)
    raise DataError(f"{path}: unknown format {suffix or '(no suffix)'}; valid: "
                    f"{', '.join(SERIES_SUFFIXES)}")  # fmt: skip


def _read_ts(path: Path) -> Dataset:
    from aeon.datasets import load_from_ts_file

    read_lines(path)  # rejects empty files with a clear message
    try:
        X, y = load_from_ts_file(str(path))
    except Exception as e:  # aeon raises IOError/ValueError/IndexError on malformed files
        raise DataError(f"{path}: cannot read .ts file: {e}") from None
    cases = list(X)
    if not cases:
        raise DataError(f"{path}: no cases after @data")
    data = to_collection(cases, name=str(path))
    if y is None:
        return data
    return from_numpy(np.where(data.mask, data.X, np.nan), [str(v) for v in y], name=str(path))
