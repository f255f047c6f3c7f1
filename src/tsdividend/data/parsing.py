"""Strict parsing of delimited numeric text files with exact error locations.

pandas' C parser does the fast work; whenever it fails, or the result holds an infinite value, the
lines are re-scanned to name the file, the 1-based line number, the 1-based column and the cell
text. Conventions shared by every text reader:

- an empty (or whitespace-only) file is an error; trailing blank lines are ignored;
- every row must have the header's (or the first row's) number of fields ("ragged" otherwise; a
  blank line in the middle is ragged too);
- ``NaN``/``nan``/``NA`` and empty cells are missing values (masked later);
- ``inf``/``-inf`` (or values beyond float64 range) are errors, as is any non-numeric cell.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tsdividend.data.dataset import DataError

NA_TOKENS = ("NaN", "nan", "NAN", "NA", "")
_FLOAT = re.compile(
    r"^\s*[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)\s*$", re.IGNORECASE
)


def is_number(cell: str) -> bool:
    """True when ``cell`` is a float literal or a missing-value token."""
    return cell.strip() in NA_TOKENS or _FLOAT.match(cell) is not None


def read_lines(path: Path) -> list[str]:
    """Read a UTF-8 text file into lines (LF or CRLF), dropping trailing blank lines.

    Raises:
        DataError: the file is empty or not UTF-8 text.
    """
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise DataError(f"{path}: empty file")
    return lines


@dataclass
class Table:
    """A parsed delimited file.

    Attributes:
        path: the file.
        header: column names, or None for header-less files.
        values: float64 (rows, columns); NaN for missing cells and for text columns.
        text: raw cells of the requested text columns, by column index.
        first_line: 1-based line number of the first data row.
    """

    path: Path
    header: list[str] | None
    values: np.ndarray
    text: dict[int, list[str]]
    first_line: int

    def line(self, row: int) -> int:
        """1-based line number of data row ``row`` (0-based)."""
        return self.first_line + row


def read_table(path: Path, *, sep: str, header: bool, text_cols: tuple[int, ...] = ()) -> Table:
    """Parse a delimited file whose columns are numeric except ``text_cols``.

    Args:
        path: the file.
        sep: field separator (``"\\t"`` or ``","``).
        header: whether line 1 holds column names.
        text_cols: 0-based columns kept as raw text (labels, dates).

    Returns:
        The parsed ``Table``.

    Raises:
        DataError: empty file, no data rows, ragged rows, non-numeric or infinite cells; the
            message names the file, line, column and cell.
    """
    lines = read_lines(path)
    names = lines[0].split(sep) if header else None
    data = lines[1:] if header else lines
    first = 2 if header else 1
    if not data:
        raise DataError(f"{path}: no data rows after the header")
    n_fields = len(names) if names is not None else data[0].count(sep) + 1
    _check_field_counts(path, data, sep, n_fields, first)
    numeric = [c for c in range(n_fields) if c not in text_cols]
    try:
        df = pd.read_csv(
            io.StringIO("\n".join(data)),
            sep=sep,
            header=None,
            names=list(range(n_fields)),
            dtype={c: (str if c in text_cols else np.float64) for c in range(n_fields)},
            keep_default_na=False,
            na_values={c: list(NA_TOKENS) for c in numeric},
            skip_blank_lines=False,
            float_precision="round_trip",
            engine="c",
        )
    except (ValueError, pd.errors.ParserError) as e:
        _raise_first_bad_cell(path, data, sep, numeric, first, names)
        raise DataError(f"{path}: could not parse: {e}") from None
    if len(df) != len(data):  # quoting or comment characters would shift rows: refuse
        raise DataError(f"{path}: parsed {len(df)} rows from {len(data)} lines (quoted fields?)")
    values = np.full((len(data), n_fields), np.nan)
    values[:, numeric] = df[numeric].to_numpy(dtype=np.float64)
    inf = np.argwhere(np.isinf(values))
    if inf.size:
        r, c = inf[0]
        cell = data[r].split(sep)[c]
        raise DataError(
            f"{path}: row {first + r}, column {_col(c, names)}: infinite value {cell.strip()!r}"
        )
    text = {c: [str(v) for v in df[c].tolist()] for c in text_cols}
    return Table(path=path, header=names, values=values, text=text, first_line=first)


def read_tokens(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read whitespace-separated numbers, any count per line, in reading order.

    Used for the UCR anomaly archive, whose files hold one value per line (some archive files
    put many values on a line; both read the same way).

    Returns:
        values: float64 (n,), NaN for missing tokens.
        lines: int64 (n,) 1-based line number of each value.

    Raises:
        DataError: empty file, non-numeric or infinite token (naming line and position).
    """
    lines = read_lines(path)
    tokens_per_line = [ln.split() for ln in lines]
    tokens = [tok for toks in tokens_per_line for tok in toks]
    if not tokens:
        raise DataError(f"{path}: empty file (no values)")
    line_of = np.repeat(
        np.arange(1, len(lines) + 1), [len(toks) for toks in tokens_per_line]
    ).astype(np.int64)
    for k, tok in enumerate(tokens):
        if not is_number(tok):
            line = int(line_of[k])
            position = k - int(np.searchsorted(line_of, line)) + 1
            raise DataError(f"{path}: row {line}, column {position}: non-numeric value {tok!r}")
    values = np.array([np.nan if t in NA_TOKENS else t for t in tokens], dtype=np.float64)
    inf = np.flatnonzero(np.isinf(values))
    if inf.size:
        k = int(inf[0])
        raise DataError(f"{path}: row {line_of[k]}: infinite value {tokens[k]!r}")
    return values, line_of


def _check_field_counts(path: Path, data: list[str], sep: str, n_fields: int, first: int) -> None:
    for i, ln in enumerate(data):
        got = ln.count(sep) + 1
        if got != n_fields or not ln.strip():
            what = "an empty line" if not ln.strip() else f"{got} fields"
            raise DataError(
                f"{path}: row {first + i}: ragged row ({what}, expected {n_fields} fields)"
            )


def _raise_first_bad_cell(
    path: Path,
    data: list[str],
    sep: str,
    numeric: list[int],
    first: int,
    names: list[str] | None,
) -> None:
    for i, ln in enumerate(data):
        cells = ln.split(sep)
        for c in numeric:
            if not is_number(cells[c]):
                raise DataError(
                    f"{path}: row {first + i}, column {_col(c, names)}: "
                    f"non-numeric value {cells[c]!r}"
                )


def _col(c: int, names: list[str] | None) -> str:
    """1-based column number, with its header name when there is one."""
    return f"{c + 1} ({names[c]!r})" if names is not None else str(c + 1)
