"""The one in-memory form of every dataset: ``X`` (N, C, T) float32 plus an observation mask.

Rules (they hold for every ``Dataset``; ``validate`` enforces them):

- ``X`` is float32 (N, C, T) and finite. NaN is never stored: missing values and the right
  padding of shorter series hold 0.0 and have ``mask`` False.
- ``mask`` is bool (N, C, T), True where a value was observed.
- ``y`` is ``None`` (unlabelled, forecasting), int64 class ids (N,) for classification (with the
  original label strings in ``classes``, in id order), or uint8 0/1 point labels (N, T) for anomaly
  detection (padded positions are 0).
- Splits come in two kinds. ``splits`` maps a name to an index array into N (archives split by
  series: UCR/UEA ``train``/``test``). ``time_splits`` maps a name to a half-open ``(start, end)``
  range along T (archives split in time: anomaly and forecasting). ``subset(name)`` handles both:
  an index split selects series, a time split slices T (and the point labels with it).
- A subset keeps ``name`` (the dataset's identity in results) and records the split in
  ``meta["split"]``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from tsdividend.errors import InputError

TASKS = ("classification", "anomaly", "forecasting", "unlabelled")


FLOAT32_MAX = float(np.finfo(np.float32).max)


class DataError(InputError):
    """Bad input data or an unusable dataset name; the message names the file, row and value."""


class DataTypeError(DataError, TypeError):
    """Values of a type that is not a number (strings, objects): a :class:`DataError` that is
    also a ``TypeError``, as NumPy and scikit-learn raise for them."""


@dataclass(eq=False, repr=False)
class Dataset:
    """A set of N series with C channels and T time steps, plus labels and splits.

    Attributes:
        name: dataset name, e.g. ``"ucr/GunPoint"``.
        task: one of ``TASKS``.
        X: float32 (N, C, T) values, 0.0 where ``mask`` is False.
        mask: bool (N, C, T), True = observed.
        y: None, int64 (N,) class ids, or uint8 (N, T) point labels (see module docstring).
        classes: original label strings in id order (classification only).
        splits: split name -> int64 index array into N.
        time_splits: split name -> half-open ``(start, end)`` along T.
        channel_names: one name per channel (defaults to ``"0"``, ``"1"``, ...).
        meta: provenance (``source``, ``files``) and per-archive extras (e.g. standardisation
            ``mean``/``std`` for forecasting).
    """

    name: str
    task: str
    X: np.ndarray
    mask: np.ndarray
    y: np.ndarray | None = None
    classes: tuple[str, ...] | None = None
    splits: dict[str, np.ndarray] = field(default_factory=dict)
    time_splits: dict[str, tuple[int, int]] = field(default_factory=dict)
    channel_names: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.splits = {k: np.asarray(v, dtype=np.int64) for k, v in self.splits.items()}
        self.time_splits = {k: (int(a), int(b)) for k, (a, b) in self.time_splits.items()}
        if self.classes is not None:
            self.classes = tuple(str(c) for c in self.classes)
        if not self.channel_names and getattr(self.X, "ndim", 0) == 3:
            self.channel_names = tuple(str(i) for i in range(self.X.shape[1]))
        self.channel_names = tuple(str(c) for c in self.channel_names)
        self.validate()

    @property
    def n_channels(self) -> int:
        """Number of channels C."""
        return int(self.X.shape[1])

    @property
    def length(self) -> int:
        """Number of time steps T (the padded, i.e. maximum, series length)."""
        return int(self.X.shape[2])

    @property
    def n_classes(self) -> int | None:
        """Number of classes for classification data, else None."""
        return None if self.classes is None else len(self.classes)

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, task={self.task!r}, X={tuple(self.X.shape)}, "
            f"classes={self.n_classes}, splits={ {k: len(v) for k, v in self.splits.items()} }, "
            f"time_splits={self.time_splits})"
        )

    def subset(self, split: str) -> Dataset:
        """Return the part of the data in ``split`` (an index split or a time split).

        Args:
            split: a key of ``splits`` (selects series) or of ``time_splits`` (slices T).

        Returns:
            A new ``Dataset`` with copied arrays; ``meta["split"]`` names the split. Index splits
            are dropped from the result, time splits are dropped from a time-sliced result.

        Raises:
            DataError: ``split`` is neither kind, naming the available ones.
        """
        meta = {**self.meta, "split": split}
        if split in self.splits:
            idx = self.splits[split]
            y = None if self.y is None else self.y[idx].copy()
            return replace(
                self, X=self.X[idx].copy(), mask=self.mask[idx].copy(), y=y, splits={}, meta=meta
            )
        if split in self.time_splits:
            a, b = self.time_splits[split]
            y = self.y
            if self.task == "anomaly" and y is not None:
                y = y[:, a:b].copy()
            return replace(
                self,
                X=self.X[:, :, a:b].copy(),
                mask=self.mask[:, :, a:b].copy(),
                y=y,
                time_splits={},
                meta=meta,
            )
        valid = sorted([*self.splits, *self.time_splits]) or ["(none)"]
        raise DataError(f"{self.name}: unknown split {split!r}; valid: {', '.join(valid)}")

    def validate(self) -> None:
        """Check shapes, dtypes and the mask/label/split rules of the module docstring.

        Raises:
            DataError: naming the first broken rule and the offending value.
        """
        where = f"dataset {self.name!r}"
        if self.task not in TASKS:
            raise DataError(f"{where}: unknown task {self.task!r}; valid: {', '.join(TASKS)}")
        X, mask = self.X, self.mask
        if not isinstance(X, np.ndarray) or X.ndim != 3 or X.dtype != np.float32:
            raise DataError(f"{where}: X must be a float32 array (N, C, T), got {_describe(X)}")
        if not isinstance(mask, np.ndarray) or mask.shape != X.shape or mask.dtype != np.bool_:
            raise DataError(
                f"{where}: mask must be bool with shape {X.shape}, got {_describe(mask)}"
            )
        if not np.isfinite(X).all():
            raise DataError(f"{where}: X holds NaN or inf (missing values must be masked)")
        if np.any(X[~mask] != 0):
            raise DataError(f"{where}: X must be 0.0 wherever mask is False")
        self._validate_labels(where)
        n, t = X.shape[0], X.shape[2]
        for key, idx in self.splits.items():
            if idx.ndim != 1 or (idx.size and (idx.min() < 0 or idx.max() >= n)):
                raise DataError(f"{where}: split {key!r} indexes outside [0, {n})")
        for key, (a, b) in self.time_splits.items():
            if not 0 <= a <= b <= t:
                raise DataError(f"{where}: time split {key!r} = [{a}, {b}) is outside [0, {t}]")
        if len(self.channel_names) != X.shape[1]:
            raise DataError(
                f"{where}: {len(self.channel_names)} channel names for {X.shape[1]} channels"
            )

    def _validate_labels(self, where: str) -> None:
        y, n, t = self.y, self.X.shape[0], self.X.shape[2]
        if self.task == "classification":
            if y is None or y.shape != (n,) or y.dtype != np.int64:
                raise DataError(
                    f"{where}: classification y must be int64 ({n},), got {_describe(y)}"
                )
            if self.classes is None or (n and (y.min() < 0 or y.max() >= len(self.classes))):
                raise DataError(f"{where}: class ids must index `classes` ({self.classes})")
        elif self.task == "anomaly":
            if y is None or y.shape != (n, t) or y.dtype not in (np.uint8, np.bool_):
                raise DataError(f"{where}: anomaly y must be uint8 ({n}, {t}), got {_describe(y)}")
            if np.any(y > 1):
                raise DataError(f"{where}: anomaly labels must be 0/1")
        elif y is not None:
            raise DataError(f"{where}: task {self.task!r} takes no labels, got {_describe(y)}")


def _describe(a: object) -> str:
    if isinstance(a, np.ndarray):
        return f"{a.dtype} array of shape {a.shape}"
    return type(a).__name__


def check_series(
    values: np.ndarray, *, source: str, rows: Sequence[int | str] | None = None
) -> None:
    """Reject or flag bad series before they become a ``Dataset``.

    - infinite values -> ``DataError`` (readers report the exact cell before calling this);
    - a series with no observed value -> ``DataError`` naming its row;
    - a constant series (every channel constant over its observed values) is kept, with one
      ``warnings.warn`` naming the rows: constant inputs are legal but usually a data bug.

    Args:
        values: float (N, C, T) with NaN for missing values.
        source: the file (or ``"<array>"``) the values came from, used in messages.
        rows: row label per series (1-based line numbers, or a line range for a one-series
            file); defaults to 1..N.
    """
    labels = list(rows) if rows is not None else list(range(1, values.shape[0] + 1))
    if values.ndim != 3 or 0 in values.shape:
        raise DataError(f"{source}: shape {values.shape} holds no value: need >= 1 series, "
                        ">= 1 channel and >= 1 time step")  # fmt: skip
    bad = np.argwhere(np.isinf(values))
    if bad.size:
        n, c, t = bad[0]
        raise DataError(
            f"{source}: row {labels[n]}: infinite value {values[n, c, t]} "
            f"(channel {c}, time step {t}); fix or remove it (NaN is treated as missing)"
        )
    huge = np.argwhere(np.abs(np.nan_to_num(values)) > FLOAT32_MAX)
    if huge.size:  # finite in float64, infinite once stored as the models' float32
        n, c, t = huge[0]
        raise DataError(
            f"{source}: row {labels[n]}: value {values[n, c, t]:g} (channel {c}, time step {t}) "
            f"is beyond float32's range (|x| <= {FLOAT32_MAX:.3g}); rescale the data"
        )
    observed = ~np.isnan(values)
    empty = np.flatnonzero(~observed.any(axis=(1, 2)))
    if empty.size:
        raise DataError(
            f"{source}: row {labels[empty[0]]} has no observed value (all missing); "
            f"{empty.size} such row(s) in all"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN channels are fine here
        spread = np.nanmax(values, axis=2) - np.nanmin(values, axis=2)
    constant = np.flatnonzero(np.all(np.nan_to_num(spread, nan=0.0) == 0, axis=1))
    if constant.size:
        shown = ", ".join(str(labels[i]) for i in constant[:10])
        more = f" and {constant.size - 10} more" if constant.size > 10 else ""
        warnings.warn(
            f"{source}: constant series at row(s) {shown}{more}; kept as is",
            stacklevel=3,
        )


def to_masked(values: np.ndarray, *, min_length: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Turn float values with NaN for missing into ``(X, mask)``.

    Args:
        values: float (N, C, T), NaN = missing, no inf (see ``check_series``).
        min_length: pad T on the right (mask False) up to this length so that every series spans
            at least one patch of the tokenizer (16 by default).

    Returns:
        X: float32 (N, C, max(T, min_length)) with 0.0 at missing/padded positions.
        mask: bool of the same shape, True = observed.

    Raises:
        DataError: a value overflows float32.
    """
    mask = ~np.isnan(values)
    X = np.where(mask, values, 0.0).astype(np.float32)
    if not np.isfinite(X).all():
        n, c, t = np.argwhere(~np.isfinite(X))[0]
        raise DataError(
            f"value {values[n, c, t]} at series {n}, channel {c}, time step {t} overflows float32"
        )
    pad = max(0, min_length - X.shape[2])
    if pad:
        X = np.pad(X, ((0, 0), (0, 0), (0, pad)))
        mask = np.pad(mask, ((0, 0), (0, 0), (0, pad)))
    return X, mask
