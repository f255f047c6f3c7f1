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

from tsdividend.data.classification import check_ts_header, read_ucr_tsv
from tsdividend.data.convert import from_numpy, from_pandas, to_collection
from tsdividend.data.dataset import DataError, Dataset, to_masked
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
        return from_pandas(read_frame(path), id_col=id_col, time_col=time_col,
                           label_col=label_col, name=name)  # fmt: skip
    if suffix == ".tsv":
        part = read_ucr_tsv(path)
        return from_numpy(part.values, part.labels, name=name)
    if suffix == ".ts":
        return _read_ts(path)
    raise DataError(f"{path}: unknown format {suffix or '(no suffix)'}; valid: "
                    f"{', '.join(SERIES_SUFFIXES)}")  # fmt: skip


def _read_ts(path: Path) -> Dataset:
    from aeon.datasets import load_from_ts_file

    lines = read_lines(path)  # rejects empty files with a clear message
    try:
        X, y = load_from_ts_file(str(path))
    except Exception as e:  # aeon raises IOError/ValueError/IndexError on malformed files
        raise DataError(f"{path}: cannot read .ts file: {e}") from None
    cases = list(X)
    if not cases:
        raise DataError(f"{path}: no cases after @data")
    check_ts_header(path, lines, cases, y)
    data = to_collection(cases, name=str(path))
    if y is None:
        return data
    return from_numpy(np.where(data.mask, data.X, np.nan), [str(v) for v in y], name=str(path))


# --- the user's own datasets: ``PATH[:key=value]...`` ------------------------------------------

USER_TASKS = ("classification", "clustering", "forecasting", "anomaly")
OPTION_KEYS = {
    "classification": ("task", "label", "id", "time", "split", "test"),
    "forecasting": ("task", "date", "targets", "split", "lookback", "horizons"),
    "anomaly": ("task", "label", "time", "train_end"),
}
DEFAULT_TEST_FRACTION = 0.3
DEFAULT_FORECAST_SPLIT = (0.7, 0.1, 0.2)


def is_file_ref(name: str) -> bool:
    """True when ``name`` names a file of the user (``PATH[:key=value]...`` with a series suffix)
    rather than a catalog dataset."""
    return Path(name.split(":", 1)[0]).suffix.lower() in SERIES_SUFFIXES


def parse_ref(ref: str) -> tuple[Path, dict[str, str]]:
    """``"data/x.csv:label=y:test=0.25"`` -> (path, {"label": "y", "test": "0.25"}).

    Lists inside a value are ``+``-separated (``targets=OT+HUFL``, ``split=0.7+0.1+0.2``), so a
    reference never holds a comma (the CLI separates dataset names with commas).
    """
    path, *pairs = ref.split(":")
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key or not value:
            raise DataError(f"{ref}: option {pair!r} must read key=value")
        if key in options:
            raise DataError(f"{ref}: option {key!r} given twice")
        options[key] = value
    return Path(path), options


def load_user_dataset(ref: str, task: str | None = None, *, min_length: int = 16) -> Dataset:
    """A dataset from the user's file (docs/data.md, "Your own data").

    Options (``PATH:key=value:...``): ``task`` (default: the evaluating task);
    classification/clustering: ``label`` column (default "label"), ``id`` / ``time`` (long
    layout), ``split`` (a column of train/test values) or ``test`` (fraction held out,
    stratified, seed 0; default 0.3); forecasting: ``date`` column (default "date"),
    ``targets`` (default every other numeric column), ``split`` (train/val/test fractions,
    default 0.7+0.1+0.2, or two dates: the last train and the last validation date),
    ``lookback`` and ``horizons``; anomaly: ``label`` (0/1 column, default "label"), ``time``
    (sort column), ``train_end`` (rows before it are the normal training prefix; required).

    Raises:
        DataError: naming the file, the option, row and column.
    """
    path, opts = parse_ref(ref)
    task = opts.get("task", task)
    if task not in USER_TASKS:
        raise DataError(f"{ref}: give the task (task=classification|forecasting|anomaly), got "
                        f"{task!r}")  # fmt: skip
    kind = "classification" if task == "clustering" else task
    unknown = sorted(set(opts) - set(OPTION_KEYS[kind]))
    if unknown:
        raise DataError(f"{ref}: unknown option(s) {unknown} for {task}; valid: "
                        f"{list(OPTION_KEYS[kind])}")  # fmt: skip
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found (dataset {ref!r})")
    if kind == "classification":
        return _classification(ref, path, opts, min_length)
    frame = read_frame(path)
    if kind == "forecasting":
        return _forecasting(ref, path, frame, opts)
    return _anomaly(ref, path, frame, opts)


def read_frame(path: Path) -> pd.DataFrame:
    """A ``.csv`` (header row) or ``.parquet`` file as a non-empty DataFrame.

    Raises:
        DataError: another suffix, an unreadable file, or no rows (naming the file).
    """
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise DataError(f"{path}: tables are read from .csv or .parquet, not {suffix or 'this'}")
    try:
        df = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    except (ValueError, OSError, pd.errors.ParserError) as e:
        raise DataError(f"{path}: cannot read as {suffix[1:]}: {e}") from None
    if df.empty:
        raise DataError(f"{path}: no rows")
    return df


def _column(path: Path, df: pd.DataFrame, col: str, what: str) -> pd.Series:
    if col not in df.columns:
        raise DataError(f"{path}: no {what} column {col!r}; columns: {list(df.columns)}")
    return df[col]


def _numeric(path: Path, df: pd.DataFrame, cols: list[str]) -> np.ndarray:
    """(rows, cols) float64; a non-numeric cell named by its 1-based file line and column."""
    out = np.empty((len(df), len(cols)))
    for j, col in enumerate(cols):
        values = pd.to_numeric(df[col], errors="coerce")
        bad = values.isna() & df[col].notna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(f"{path}: line {i + 2}, column {col!r}: non-numeric value "
                            f"{df[col].iloc[i]!r}")  # fmt: skip
        out[:, j] = values.to_numpy(np.float64)
    return out


def _classification(ref: str, path: Path, opts: dict[str, str], min_length: int) -> Dataset:
    label = opts.get("label", "label")
    if path.suffix.lower() in (".csv", ".parquet"):
        df = read_frame(path)
        split_col = opts.get("split")
        split = _column(path, df, split_col, "split").astype(str) if split_col else None
        body = df.drop(columns=[split_col]) if split_col else df
        _column(path, body, label, "label")
        data = from_pandas(body, label_col=label, id_col=opts.get("id"),
                           time_col=opts.get("time"), name=ref, task="classification",
                           min_length=min_length)  # fmt: skip
        if split is not None and (opts.get("id") or opts.get("time")):
            idcol = opts.get("id")
            split = df.groupby(idcol, sort=False)[split_col].first().astype(str) if idcol else None
        if split is not None:
            return _with_split_column(ref, data, split.to_numpy())
    else:
        if opts.get("split") or opts.get("id") or opts.get("time"):
            raise DataError(f"{ref}: split/id/time options apply to .csv/.parquet files")
        data = read_collection(path)
        data = Dataset(name=ref, task="classification", X=data.X, mask=data.mask, y=data.y,
                       classes=data.classes, meta=data.meta)  # fmt: skip
    if data.y is None:
        raise DataError(f"{ref}: no class labels")
    return _stratified_split(ref, data, float(opts.get("test", DEFAULT_TEST_FRACTION)))


def _with_split_column(ref: str, data: Dataset, split: np.ndarray) -> Dataset:
    values = {str(v).strip().lower() for v in split}
    if not values <= {"train", "test"} or "train" not in values or "test" not in values:
        raise DataError(f"{ref}: the split column must hold 'train' and 'test', got "
                        f"{sorted(values)}")  # fmt: skip
    splits = {s: np.flatnonzero(np.char.lower(split.astype(str)) == s) for s in ("train", "test")}
    return Dataset(name=ref, task="classification", X=data.X, mask=data.mask, y=data.y,
                   classes=data.classes, splits=splits, meta=data.meta)  # fmt: skip


def _stratified_split(ref: str, data: Dataset, test: float) -> Dataset:
    if not 0 < test < 1:
        raise DataError(f"{ref}: test must be a fraction in (0, 1), got {test}")
    from sklearn.model_selection import train_test_split

    assert data.y is not None
    idx = np.arange(len(data.y))
    try:
        tr, te = train_test_split(idx, test_size=test, random_state=0, stratify=data.y)
    except ValueError as e:  # a class too small to stratify
        raise DataError(f"{ref}: cannot hold out a stratified {test:.0%}: {e}") from None
    return Dataset(name=ref, task="classification", X=data.X, mask=data.mask, y=data.y,
                   classes=data.classes, splits={"train": np.sort(tr), "test": np.sort(te)},
                   meta={**data.meta, "split": f"stratified test={test}, seed 0"})  # fmt: skip


def _forecasting(ref: str, path: Path, df: pd.DataFrame, opts: dict[str, str]) -> Dataset:
    date_col = opts.get("date", "date")
    dates = pd.to_datetime(_column(path, df, date_col, "date"), errors="coerce")
    if dates.isna().any():
        i = int(np.flatnonzero(dates.isna().to_numpy())[0])
        raise DataError(f"{path}: line {i + 2}, column {date_col!r}: not a date "
                        f"({df[date_col].iloc[i]!r})")  # fmt: skip
    if not dates.is_monotonic_increasing:
        raise DataError(f"{path}: column {date_col!r} is not in time order")
    targets = (opts["targets"].split("+") if "targets" in opts
               else [c for c in df.columns if c != date_col])  # fmt: skip
    for col in targets:
        _column(path, df, col, "target")
    values = _numeric(path, df, targets).T  # (C, T)
    n = values.shape[1]
    borders = _forecast_borders(ref, dates, opts.get("split"), n)
    a, b = borders["train"]
    mean = np.nanmean(values[:, a:b], axis=1, keepdims=True)
    std = np.nanstd(values[:, a:b], axis=1, keepdims=True)
    std = np.where(std > 0, std, 1.0)
    X, mask = to_masked(((values - mean) / std)[None], min_length=1)
    meta: dict[str, object] = {
        "source": "user-file",
        "file": str(path),
        "mean": mean[:, 0].tolist(),
        "std": std[:, 0].tolist(),
    }
    if "lookback" in opts or "horizons" in opts:
        if not ("lookback" in opts and "horizons" in opts):
            raise DataError(f"{ref}: give lookback and horizons together")
        try:
            meta["standard"] = (int(opts["lookback"]),
                                tuple(int(h) for h in opts["horizons"].split("+")))  # fmt: skip
        except ValueError:
            raise DataError(f"{ref}: lookback and horizons must be integers") from None
    return Dataset(name=ref, task="forecasting", X=X, mask=mask, time_splits=borders,
                   channel_names=tuple(map(str, targets)), meta=meta)  # fmt: skip


def _forecast_borders(
    ref: str, dates: pd.Series, split: str | None, n: int
) -> dict[str, tuple[int, int]]:
    parts = (split or "+".join(map(str, DEFAULT_FORECAST_SPLIT))).split("+")
    try:
        fractions = [float(p) for p in parts]
    except ValueError:
        fractions = []
    if fractions:
        if len(fractions) != 3 or abs(sum(fractions) - 1) > 1e-6 or min(fractions) <= 0:
            raise DataError(f"{ref}: split must be 3 positive fractions summing to 1 "
                            f"(train+val+test), got {split}")  # fmt: skip
        n_train, n_test = int(fractions[0] * n), int(fractions[2] * n)
        cuts = (n_train, n - n_test)
    else:
        try:
            ends = [pd.Timestamp(p) for p in parts]
        except ValueError:
            raise DataError(f"{ref}: split {split!r} is neither fractions nor dates") from None
        if len(ends) != 2 or ends[0] >= ends[1]:
            raise DataError(f"{ref}: split by dates needs the last train and the last "
                            f"validation date, in order, got {split}")  # fmt: skip
        cuts = (int((dates <= ends[0]).sum()), int((dates <= ends[1]).sum()))
    if not 0 < cuts[0] < cuts[1] < n:
        raise DataError(f"{ref}: the split leaves an empty part (train/val/test ends at rows "
                        f"{cuts[0]}, {cuts[1]}, {n})")  # fmt: skip
    return {"train": (0, cuts[0]), "val": (cuts[0], cuts[1]), "test": (cuts[1], n)}


def _anomaly(ref: str, path: Path, df: pd.DataFrame, opts: dict[str, str]) -> Dataset:
    if "train_end" not in opts:
        raise DataError(f"{ref}: give train_end=ROW (the rows before it are the normal "
                        "training prefix)")  # fmt: skip
    label_col = opts.get("label", "label")
    labels = _numeric(path, df, [_column(path, df, label_col, "label").name])[:, 0]
    if not np.isin(labels, (0, 1)).all():
        i = int(np.flatnonzero(~np.isin(labels, (0, 1)))[0])
        raise DataError(f"{path}: line {i + 2}, column {label_col!r}: labels must be 0 or 1, "
                        f"got {labels[i]!r}")  # fmt: skip
    if "time" in opts:
        order = np.argsort(_column(path, df, opts["time"], "time").to_numpy(), kind="stable")
        df, labels = df.iloc[order].reset_index(drop=True), labels[order]
    cols = [c for c in df.columns if c not in (label_col, opts.get("time"))]
    values = _numeric(path, df, cols).T
    n = values.shape[1]
    try:
        train_end = int(opts["train_end"])
    except ValueError:
        raise DataError(
            f"{ref}: train_end must be a row index, got {opts['train_end']!r}"
        ) from None
    if not 0 < train_end < n:
        raise DataError(f"{ref}: train_end must lie in (0, {n}), got {train_end}")
    X, mask = to_masked(values[None], min_length=1)
    return Dataset(name=ref, task="anomaly", X=X, mask=mask, y=labels.astype(np.uint8)[None],
                   time_splits={"train": (0, train_end), "test": (train_end, n)},
                   channel_names=tuple(map(str, cols)),
                   meta={"source": "user-file", "file": str(path)})  # fmt: skip
