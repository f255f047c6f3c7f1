"""Datasets from users' numpy arrays and pandas DataFrames, and label encoding.

``from_numpy`` shapes: 1-D = one univariate series (1, 1, T), 2-D = N univariate series (N, 1, T),
3-D = (N, C, T). ``from_pandas`` layouts:

- **wide** (default): one row per series, one column per time step (all numeric). ``label_col``
  names a column holding one class label per row.
- **long** (``time_col`` and/or ``id_col`` given, or one datetime column, then the time column:
  datetime columns are never values): one row per time step. Rows are grouped by
  ``id_col`` (one series per id, in order of first appearance; without ``id_col`` the whole frame
  is one series), sorted by ``time_col`` within a series, and every remaining numeric column is a
  channel. Shorter series are right-padded (mask False). ``label_col`` is then a per-series class
  label (must be constant within an id) or, without ``id_col``, a 0/1 point label (anomaly task).

Missing values (NaN/None) become mask False; everything goes through the same checks as files
(``check_series``: inf is an error, an all-missing series is an error, constant series warn).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import sparse

from tsdividend.data.dataset import (
    TASKS,
    DataError,
    Dataset,
    DataTypeError,
    check_series,
    to_masked,
)


def canonical_label(label: object) -> str:
    """Label text with numeric spellings unified (``"4.0"`` and ``"4"`` are both ``"4"``)."""
    text = str(label).strip()
    try:
        value = float(text)
    except ValueError:
        return text
    return str(int(value)) if value.is_integer() else text


def encode_labels(labels: Sequence[object]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Map labels to int64 ids; classes sorted numerically when all numeric, else as text.

    Args:
        labels: one label per series (strings or numbers).

    Returns:
        ids: int64 (N,) class ids.
        classes: canonical label strings in id order.
    """
    canon = [canonical_label(v) for v in labels]
    uniq = set(canon)
    try:
        classes = tuple(sorted(uniq, key=float))
    except ValueError:
        classes = tuple(sorted(uniq))
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[c] for c in canon], dtype=np.int64), classes


def from_numpy(
    X: np.ndarray,
    y: np.ndarray | Sequence[object] | None = None,
    *,
    name: str = "user",
    task: str | None = None,
    min_length: int = 16,
) -> Dataset:
    """Build a ``Dataset`` from an array.

    Args:
        X: 1-D (T,), 2-D (N, T) or 3-D (N, C, T) numbers; NaN = missing.
        y: None; class labels (N,) (any values, encoded with ``encode_labels``); or 0/1 point
            labels (N, T) (or (T,) with a 1-D ``X``) for anomaly data.
        name: dataset name.
        task: defaults to ``"classification"`` for (N,) labels, ``"anomaly"`` for point labels
            and ``"unlabelled"`` without labels; ``"forecasting"`` must be asked for.
        min_length: short series are right-padded (mask False) up to this length.

    Returns:
        The ``Dataset`` (no splits; ``meta["source"] = "numpy"``).

    Raises:
        DataError: wrong rank (naming the shape), non-numeric values, inf, an all-missing
            series, or labels that do not fit ``X``.
    """
    arr = _checked_array(X, name)
    if arr.ndim not in (1, 2, 3):
        raise DataError(
            f"{name}: X has shape {arr.shape} (rank {arr.ndim}); expected (T,), (N, T) or (N, C, T)"
        )
    try:
        values = arr.astype(np.float64)
    except (TypeError, ValueError):
        idx = next((i for i in np.ndindex(arr.shape) if not _is_float(arr[i])), None)
        where = f"X{list(idx)} = {arr[idx]!r}" if idx is not None else f"X ({arr.dtype})"
        raise DataError(f"{name}: {where} is not numeric") from None
    if arr.ndim == 1:
        values = values[None, None, :]
    elif arr.ndim == 2:
        values = values[:, None, :]
    return _build(values, y, name=name, task=task, min_length=min_length, source="<array>")


def to_collection(
    X: object, *, id_col: str | None = None, time_col: str | None = None, name: str = "X",
    min_length: int = 16,
) -> Dataset:  # fmt: skip
    """An unlabelled ``Dataset`` from any collection of series users hold.

    Accepts NumPy ``(N, T)`` / ``(N, C, T)`` arrays (NaN = missing), a list or tuple of
    ``(T_i,)`` or ``(C, T_i)`` arrays of any lengths (aeon's unequal-length collections; shorter
    series are right-padded, mask False), and pandas DataFrames (wide: one row per series; long:
    ``id_col`` / ``time_col``, as :func:`from_pandas`).

    Raises:
        DataError: naming the problem: complex, datetime or non-numeric values, an empty
            collection, items of different channel counts (naming the item), a rank that is not
            a collection of series (a single 1-D series is refused: wrap it as ``[x]``).
    """
    if sparse.issparse(X):
        raise DataError(f"{name} is a sparse matrix; sparse input is not supported (series "
                        "are dense: use X.toarray())")  # fmt: skip
    if isinstance(X, pd.DataFrame):
        if X.empty:
            raise DataError(f"{name}: the DataFrame is empty")
        return from_pandas(X, id_col=id_col, time_col=time_col, name=name, min_length=min_length)
    if isinstance(X, (list, tuple)):
        if not X:
            raise DataError(f"{name}: the collection is empty")
        items = [_checked_array(x, f"{name}[{i}]") for i, x in enumerate(X)]
        items = [x[None] if x.ndim == 1 else x for x in items]
        for i, x in enumerate(items):
            if x.ndim != 2:
                raise DataError(f"{name}[{i}] has shape {x.shape}; each series must be (T,) or "
                                "(C, T)")  # fmt: skip
            if x.shape[0] != items[0].shape[0]:
                raise DataError(f"{name}[{i}] has {x.shape[0]} channels, {name}[0] has "
                                f"{items[0].shape[0]}")  # fmt: skip
        t = max(x.shape[1] for x in items)
        values = np.full((len(items), items[0].shape[0], t), np.nan)
        for i, x in enumerate(items):
            values[i, :, : x.shape[1]] = x
        return from_numpy(values, name=name, min_length=min_length)
    arr = _checked_array(X, name)
    if arr.ndim not in (2, 3):
        raise DataError(f"{name} has shape {arr.shape}; expected a collection of series: (N, T), "
                        "(N, C, T), a list of (T,) / (C, T) arrays or a DataFrame. Reshape your "
                        "data: x[None] is one series")  # fmt: skip
    if arr.size == 0:
        raise DataError(f"{name} has 0 feature(s) (shape={arr.shape}) while a minimum of 1 is "
                        "required: no value to embed")  # fmt: skip
    return from_numpy(arr, name=name, min_length=min_length)


def _checked_array(x: object, name: str) -> np.ndarray:
    """``np.asarray(x)``, refusing what would be silently wrong as float values."""
    arr = np.asarray(x)
    if np.iscomplexobj(arr):
        raise DataError(f"{name} holds complex values: Complex data not supported (take .real "
                        "or np.abs explicitly)")  # fmt: skip
    if arr.dtype.kind in "mM":
        raise DataError(f"{name} holds datetimes ({arr.dtype}); give the values, not the time "
                        "stamps")  # fmt: skip
    if arr.dtype.kind in "USO" and arr.size:
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as e:
            idx = next((i for i in np.ndindex(arr.shape) if not _is_float(arr[i])), None)
            cell = arr[idx].item() if idx is not None and isinstance(arr[idx], np.generic) else (
                arr[idx] if idx is not None else None)  # fmt: skip
            where = f"X{list(idx)} = {cell!r}" if idx is not None else f"a {arr.dtype} value"
            raise DataTypeError(f"{name}: {where} is not numeric ({e})") from None
    return arr


def from_pandas(
    df: pd.DataFrame,
    *,
    label_col: str | None = None,
    time_col: str | None = None,
    id_col: str | None = None,
    name: str = "user",
    task: str | None = None,
    min_length: int = 16,
) -> Dataset:
    """Build a ``Dataset`` from a wide or long DataFrame (layouts in the module docstring).

    Args:
        df: the frame.
        label_col: column with class labels (or point labels for a single long series).
        time_col: long layout: column to sort by within a series.
        id_col: long layout: column naming the series each row belongs to.
        name: dataset name.
        task: as in ``from_numpy``.
        min_length: short series are right-padded (mask False) up to this length.

    Returns:
        The ``Dataset`` (``meta["source"] = "pandas"``; channel names from the long layout's
        value columns).

    Raises:
        DataError: a named column is missing, a value column is not numeric (naming the row
            label, column and cell), or the checks of ``from_numpy`` fail.
    """
    if df.empty:
        raise DataError(f"{name}: the DataFrame is empty")
    for col in (label_col, time_col, id_col):
        if col is not None and col not in df.columns:
            raise DataError(f"{name}: column {col!r} not in the frame; columns: {list(df.columns)}")
    # datetime columns are the time index, never values (they would become nanosecond counts)
    stamps = [c for c in df.columns if c not in (label_col, time_col, id_col)
              and pd.api.types.is_datetime64_any_dtype(df[c])]  # fmt: skip
    if stamps and time_col is None and len(stamps) == 1:
        time_col = stamps.pop()
    if stamps:
        raise DataError(f"{name}: datetime column(s) {stamps} cannot be values; name the time "
                        "column with time_col (one datetime column is taken as it)")  # fmt: skip
    if time_col is None and id_col is None:
        return _from_wide(df, label_col=label_col, name=name, task=task, min_length=min_length)
    return _from_long(df, label_col, time_col, id_col, name=name, task=task, min_length=min_length)


def _is_float(v: object) -> bool:
    try:
        float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True


def _numeric_frame(df: pd.DataFrame, name: str) -> np.ndarray:
    """float64 values of ``df``, or a DataError naming the first non-numeric cell."""
    out = np.empty(df.shape, dtype=np.float64)
    for j, col in enumerate(df.columns):
        converted = pd.to_numeric(df[col], errors="coerce")
        bad = converted.isna() & df[col].notna()
        if bad.any():
            row = bad[bad].index[0]
            raise DataError(
                f"{name}: row {row!r}, column {col!r}: non-numeric value {df.at[row, col]!r}"
            )
        out[:, j] = converted.to_numpy(dtype=np.float64, na_value=np.nan)
    return out


def _from_wide(
    df: pd.DataFrame, *, label_col: str | None, name: str, task: str | None, min_length: int
) -> Dataset:
    value_cols = [c for c in df.columns if c != label_col]
    values = _numeric_frame(df[value_cols], name)[:, None, :]
    y = None if label_col is None else df[label_col].tolist()
    if y is not None and any(pd.isna(v) or str(v).strip() == "" for v in y):
        row = next(i for i, v in zip(df.index, y, strict=True) if pd.isna(v) or not str(v).strip())
        raise DataError(f"{name}: row {row!r}: missing label in column {label_col!r}")
    rows = [str(i) for i in df.index]
    return _build(values, y, name=name, task=task, min_length=min_length, source=name, rows=rows)


def _from_long(
    df: pd.DataFrame,
    label_col: str | None,
    time_col: str | None,
    id_col: str | None,
    *,
    name: str,
    task: str | None,
    min_length: int,
) -> Dataset:
    value_cols = [c for c in df.columns if c not in (label_col, time_col, id_col)]
    if not value_cols:
        raise DataError(f"{name}: no value columns besides {label_col!r}, {time_col!r}, {id_col!r}")
    if id_col is not None and df[id_col].isna().any():
        row = df.index[df[id_col].isna().to_numpy()][0]
        raise DataError(f"{name}: row {row!r}: missing series id in column {id_col!r}")
    groups = [("all", df)] if id_col is None else list(df.groupby(id_col, sort=False))
    parts, labels = [], []
    for key, part in groups:
        if time_col is not None:
            part = part.sort_values(time_col, kind="stable")
        parts.append(_numeric_frame(part[value_cols], name).T)
        if label_col is not None and id_col is not None:
            uniq = part[label_col].dropna().unique()
            if len(uniq) != 1:
                raise DataError(
                    f"{name}: series {key!r} has labels {list(uniq)} in {label_col!r}; "
                    "expected exactly one per series"
                )
            labels.append(uniq[0])
        elif label_col is not None:
            labels = part[label_col].to_numpy()[None, :]
    T = max(p.shape[1] for p in parts)
    values = np.full((len(parts), len(value_cols), T), np.nan)
    for i, p in enumerate(parts):
        values[i, :, : p.shape[1]] = p
    y = None if label_col is None else labels
    rows = [str(k) for k, _ in groups]
    return _build(
        values,
        y,
        name=name,
        task=task,
        min_length=min_length,
        source=name,
        rows=rows,
        channel_names=tuple(str(c) for c in value_cols),
    )


def _build(
    values: np.ndarray,
    y: np.ndarray | Sequence[object] | None,
    *,
    name: str,
    task: str | None,
    min_length: int,
    source: str,
    rows: Sequence[str] | None = None,
    channel_names: tuple[str, ...] = (),
) -> Dataset:
    n, _, t = values.shape
    check_series(values, source=source, rows=rows)
    X, mask = to_masked(values, min_length=min_length)
    classes = None
    labels = None
    if y is not None:
        y_arr = np.asarray(y)
        if (
            y_arr.ndim == 1
            and y_arr.shape[0] == t
            and n == 1
            and t != 1
            and task != "classification"
        ):
            y_arr = y_arr[None, :]
        if y_arr.shape == (n,):
            missing = [
                i for i, v in enumerate(y_arr.tolist()) if pd.isna(v) or str(v).strip() == ""
            ]
            if missing:
                row = rows[missing[0]] if rows is not None else missing[0]
                raise DataError(f"{name}: row {row}: missing class label")
            labels, classes = encode_labels(list(y_arr))
            task = task or "classification"
        elif y_arr.shape == (n, t):
            labels = _point_labels(y_arr, name, X.shape[2])
            task = task or "anomaly"
        else:
            raise DataError(
                f"{name}: y has shape {y_arr.shape}; expected ({n},) class labels "
                f"or ({n}, {t}) point labels for X of shape {values.shape}"
            )
    task = task or "unlabelled"
    if task not in TASKS:
        raise DataError(f"{name}: unknown task {task!r}; valid: {', '.join(TASKS)}")
    source_kind = "pandas" if rows is not None else "numpy"
    return Dataset(
        name=name,
        task=task,
        X=X,
        mask=mask,
        y=labels,
        classes=classes,
        channel_names=channel_names,
        meta={"source": source_kind},
    )


def _point_labels(y: np.ndarray, name: str, padded_t: int) -> np.ndarray:
    try:
        num = y.astype(np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{name}: point labels must be 0/1, got {y.dtype}") from None
    if not np.isin(num, (0.0, 1.0)).all():
        bad = num[~np.isin(num, (0.0, 1.0))][0]
        raise DataError(f"{name}: point labels must be 0/1, got {bad}")
    out = np.zeros((y.shape[0], padded_t), dtype=np.uint8)
    out[:, : y.shape[1]] = num.astype(np.uint8)
    return out
