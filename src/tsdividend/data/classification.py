"""Readers for the UCR (``.tsv``) and UEA (``.ts``) classification archives.

Both archives ship a fixed TRAIN/TEST split; a dataset holds TRAIN series first, then TEST, with
``splits = {"train": [0, n_train), "test": [n_train, N)}``. Label strings are mapped to ids over
both files together (numeric labels sorted numerically, ``"4.0"`` read as ``"4"``), so TRAIN and
TEST agree. Variable-length series (NaN-padded in ``.tsv``, ragged in ``.ts``) and missing values
are right-padded / masked; trailing time steps missing in every series are dropped, so ``length``
is the longest series.

Sources: UCR 2018 archive (Dau et al., 2019, IEEE/CAA JAS 6(6)); UEA archive (Bagnall et al., 2018,
arXiv:1811.00075). ``.ts`` files are read with ``aeon.datasets.load_from_ts_file``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tsdividend.data.convert import encode_labels
from tsdividend.data.dataset import DataError, Dataset, check_series, to_masked
from tsdividend.data.parsing import read_lines, read_table


@dataclass
class Part:
    """One parsed split file: values (n, C, T) float64 with NaN, labels, 1-based line numbers."""

    path: Path
    values: np.ndarray
    labels: list[str]
    lines: list[int]


def read_ucr_tsv(path: Path) -> Part:
    """Read a UCR 2018 ``.tsv`` file (no header; label in column 1, values after it).

    Raises:
        DataError: empty file, ragged rows, non-numeric or infinite values, or a missing/empty/NaN
            label (naming the file and line).
    """
    table = read_table(path, sep="\t", header=False, text_cols=(0,))
    labels = table.text[0]
    for i, lab in enumerate(labels):
        if not lab.strip() or lab.strip().lower() in ("nan", "na"):
            raise DataError(f"{path}: row {table.line(i)}, column 1: missing class label ({lab!r})")
    values = table.values[:, 1:]
    if values.shape[1] == 0:
        raise DataError(f"{path}: no values after the label column")
    lines = [table.line(i) for i in range(len(labels))]
    return Part(path, values[:, None, :], labels, lines)


def read_ts(path: Path) -> Part:
    """Read a sktime/aeon ``.ts`` file with aeon's reader; ragged cases are NaN-padded.

    Raises:
        DataError: the file cannot be parsed or has no class labels.
    """
    from aeon.datasets import load_from_ts_file

    lines = read_lines(path)  # also rejects empty files with a clear message
    try:
        X, y = load_from_ts_file(str(path))
    except Exception as e:  # aeon raises IOError/ValueError/IndexError on malformed files
        raise DataError(f"{path}: cannot read .ts file: {e}") from None
    cases = list(X)
    if len(cases) == 0:
        raise DataError(f"{path}: no cases after @data")
    check_ts_header(path, lines, cases, y)
    if y is None or len(y) != len(cases):
        raise DataError(f"{path}: expected one class label per case (@classLabel true)")
    C = cases[0].shape[0]
    T = max(c.shape[1] for c in cases)
    values = np.full((len(cases), C, T), np.nan)
    for i, case in enumerate(cases):
        values[i, :, : case.shape[1]] = case
    return Part(path, values, [str(v) for v in y], _ts_case_lines(lines, len(cases)))


def ts_header(lines: list[str]) -> dict[str, list[str]]:
    """The ``@tag value...`` lines before ``@data`` (tags lower-cased)."""
    tags: dict[str, list[str]] = {}
    for line in lines:
        text = line.strip()
        if text.lower() == "@data":
            break
        if text.startswith("@"):
            tag, *values = text.split()
            tags[tag[1:].lower()] = values
    return tags


def check_ts_header(path: Path, lines: list[str], cases: list[np.ndarray], y: object) -> None:
    """The body of a ``.ts`` file must agree with its header: ``@dimensions`` (and
    ``@univariate``), ``@classLabel`` (declared labels only, or none), ``@equalLength`` and
    ``@seriesLength``.

    Raises:
        DataError: naming the file, the case's 1-based line, the header tag and both values.
    """
    tags = ts_header(lines)
    where = _ts_case_lines(lines, len(cases))

    def flag(name: str) -> bool | None:
        values = tags.get(name)
        return None if not values else values[0].lower() == "true"

    dims = tags.get("dimensions")
    expected = int(dims[0]) if dims and dims[0].isdigit() else (1 if flag("univariate") else None)
    for i, case in enumerate(cases):
        if expected is not None and case.shape[0] != expected:
            tag = "@dimensions" if dims else "@univariate true"
            raise DataError(
                f"{path}: line {where[i]}: case has {case.shape[0]} dimension(s), "
                f"the header says {tag} {expected if dims else ''}".rstrip()
            )
    lengths = [c.shape[1] for c in cases]
    if flag("equallength"):
        n = tags.get("serieslength")
        target = int(n[0]) if n and n[0].isdigit() else lengths[0]
        bad = next((i for i, m in enumerate(lengths) if m != target), None)
        if bad is not None:
            raise DataError(f"{path}: line {where[bad]}: case has {lengths[bad]} steps, the "
                            f"header says @equalLength true (length {target})")  # fmt: skip
    declared = tags.get("classlabel")
    if declared and declared[0].lower() == "true" and y is not None:
        allowed = set(declared[1:])
        folded = {a.lower() for a in allowed}  # archive files differ in case (Standing/standing)
        for i, label in enumerate(np.asarray(y).tolist()):
            if allowed and str(label).lower() not in folded:
                raise DataError(f"{path}: line {where[i]}: class label {label!r} is not among "
                                f"@classLabel {sorted(allowed)}")  # fmt: skip
    if declared and declared[0].lower() == "false" and y is not None:
        raise DataError(f"{path}: the header says @classLabel false but cases carry labels")


def _ts_case_lines(lines: list[str], n_cases: int) -> list[int]:
    """1-based line numbers of the cases (data lines after ``@data``) of a ``.ts`` file."""
    start = next((i for i, ln in enumerate(lines) if ln.strip().lower() == "@data"), -1)
    data = [
        i + 1
        for i in range(start + 1, len(lines))
        if lines[i].strip() and not lines[i].lstrip().startswith("#")
    ]
    return data[:n_cases] if len(data) >= n_cases else list(range(1, n_cases + 1))


def assemble(
    name: str, train: Part, test: Part, *, min_length: int, meta: dict[str, object]
) -> Dataset:
    """Stack TRAIN then TEST into one classification ``Dataset``.

    Args:
        name: dataset name.
        train: parsed TRAIN file.
        test: parsed TEST file.
        min_length: right-pad (mask False) up to this length.
        meta: provenance to store (``source``, ...); ``files`` is added.

    Raises:
        DataError: the files disagree on the number of channels, or a series is unusable.
    """
    if train.values.shape[1] != test.values.shape[1]:
        raise DataError(
            f"{name}: {train.path} has {train.values.shape[1]} channels but "
            f"{test.path} has {test.values.shape[1]}"
        )
    for part in (train, test):
        check_series(part.values, source=str(part.path), rows=part.lines)
    n_tr, n_te = len(train.labels), len(test.labels)
    C = train.values.shape[1]
    T = max(train.values.shape[2], test.values.shape[2])
    values = np.full((n_tr + n_te, C, T), np.nan)
    values[:n_tr, :, : train.values.shape[2]] = train.values
    values[n_tr:, :, : test.values.shape[2]] = test.values
    observed_steps = np.flatnonzero((~np.isnan(values)).any(axis=(0, 1)))
    values = values[:, :, : observed_steps[-1] + 1]
    y, classes = encode_labels(train.labels + test.labels)
    X, mask = to_masked(values, min_length=min_length)
    return Dataset(
        name=name,
        task="classification",
        X=X,
        mask=mask,
        y=y,
        classes=classes,
        splits={"train": np.arange(n_tr), "test": np.arange(n_tr, n_tr + n_te)},
        meta={**meta, "files": [str(train.path), str(test.path)]},
    )


def load_ucr(name: str, train: Path, test: Path, *, min_length: int, source: str) -> Dataset:
    """Load a UCR 2018 dataset from its ``_TRAIN.tsv`` and ``_TEST.tsv`` files."""
    return assemble(
        name,
        read_ucr_tsv(train),
        read_ucr_tsv(test),
        min_length=min_length,
        meta={"source": source, "format": "ucr-tsv"},
    )


def load_ts(name: str, train: Path, test: Path, *, min_length: int, source: str) -> Dataset:
    """Load a UEA (or aeon-bundled UCR) dataset from its ``_TRAIN.ts`` and ``_TEST.ts`` files."""
    return assemble(
        name,
        read_ts(train),
        read_ts(test),
        min_length=min_length,
        meta={"source": source, "format": "ts"},
    )
