"""The SQLite results store: one row per measurement, resumable, never duplicated.

WAL journal mode lets a report read while a study writes. A measurement's key is (study,
encoder_id, task, dataset, regime, seed, metric); the rows of one evaluation cell are written in
one transaction together with the cell's completion mark, so a kill leaves either all of a cell's
rows or none, and a rerun skips exactly the completed cells (``has_cell``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from tsdividend.atomic import storage_error
from tsdividend.errors import StorageError
from tsdividend.results.row import ResultRow

T = TypeVar("T")

KEY = ("study", "encoder_id", "task", "dataset", "regime", "seed", "metric")
CELL = ("study", "encoder_id", "task", "dataset", "regime", "seed")
_FIELDS = [f.name for f in dataclasses.fields(ResultRow)]
_TYPES = {"seed": "INTEGER", "value": "REAL", "higher_is_better": "INTEGER", "depth": "INTEGER",
          "wall_seconds": "REAL", "pretrain_size": "INTEGER", "pretrain_steps": "INTEGER",
          "pretrain_samples": "INTEGER"}  # fmt: skip

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS results (
    {", ".join(f"{n} {_TYPES.get(n, 'TEXT')}" for n in _FIELDS)},
    UNIQUE ({", ".join(KEY)})
);
CREATE TABLE IF NOT EXISTS cells (
    {", ".join(f"{n} {_TYPES.get(n, 'TEXT')} NOT NULL" for n in CELL)},
    PRIMARY KEY ({", ".join(CELL)})
);
"""


LOCK_WAIT_ENV = "TSDIVIDEND_LOCK_WAIT"  # seconds a locked store is waited on (default 60)
_BUSY = ("locked", "busy")


def writable(folder: Path) -> bool:
    """True when this process may create files in ``folder``."""
    return os.access(folder, os.W_OK)


class ResultStore:
    """Rows of a study in ``path`` (created if missing, unless ``readonly``).

    A store locked by another program is waited on (a line on stderr says so) for
    ``$TSDIVIDEND_LOCK_WAIT`` seconds (60), then a :class:`StorageError` names it; every other
    SQLite failure (unwritable folder, full disk) is a :class:`StorageError` naming the file.

    Args:
        path: the SQLite file (e.g. ``OUT/results.sqlite``).
        readonly: open for reading only (``results``, ``report``): it must exist, nothing is
            written; in a folder this process cannot write (where WAL's ``-shm`` file cannot be
            made) the file is opened immutable.
    """

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._said_wait = False
        if readonly:
            if not self.path.is_file():
                raise FileNotFoundError(f"{self.path} not found: is {self.path.parent} a study "
                                        "folder?")  # fmt: skip
            # WAL readers need a -shm file next to the store; where it cannot be made, read the
            # file as immutable (nothing can write there anyway)
            mode = "mode=ro" if writable(self.path.parent) else "immutable=1"
            self._con = self._retry(lambda: sqlite3.connect(
                f"file:{self.path.resolve()}?{mode}", uri=True, timeout=1.0))  # fmt: skip
        else:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise storage_error(e, self.path) from None
            self._con = self._retry(lambda: sqlite3.connect(self.path, timeout=1.0))
            self._retry(lambda: self._con.execute("PRAGMA journal_mode=WAL"))
            self._con.execute("PRAGMA synchronous=NORMAL")
            self._retry(lambda: self._con.executescript(_SCHEMA))
            self._retry(self._add_missing_columns)
        self._have = [r[1] for r in self._retry(
            lambda: self._con.execute("PRAGMA table_info(results)").fetchall())]  # fmt: skip

    def _retry(self, fn: Callable[[], T]) -> T:
        """``fn()``, waiting while another program holds the store's lock (bounded, said once);
        SQLite failures become :class:`StorageError` naming the file."""
        limit = float(os.environ.get(LOCK_WAIT_ENV, "60"))
        start = time.monotonic()
        while True:
            try:
                return fn()
            except sqlite3.OperationalError as e:
                text = str(e)
                if not any(b in text for b in _BUSY):
                    raise StorageError(
                        f"results store {self.path}: {text} (check that the "
                        "folder is writable and the disk has space)"
                    ) from None
                if not self._said_wait:
                    print(f"waiting for {self.path}: locked by another program (up to "
                          f"{limit:.0f} s)", file=sys.stderr, flush=True)  # fmt: skip
                    self._said_wait = True
                waited = time.monotonic() - start
                if waited >= limit:
                    raise StorageError(f"results store {self.path} stayed locked by another "
                                       f"program for {waited:.0f} s; close it and retry (or set "
                                       f"{LOCK_WAIT_ENV})") from None  # fmt: skip
                time.sleep(0.2)

    def _add_missing_columns(self) -> None:
        """A store written before a ResultRow field existed gets that column (NULL in old rows),
        so old stores stay readable and writable."""
        have = {r[1] for r in self._con.execute("PRAGMA table_info(results)")}
        with self._con:
            for name in _FIELDS:
                if name not in have:
                    self._con.execute(f"ALTER TABLE results ADD COLUMN {name} "
                                      f"{_TYPES.get(name, 'TEXT')}")  # fmt: skip

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add_cell(self, cell: dict[str, Any], rows: Sequence[ResultRow]) -> None:
        """Write the rows of one evaluation cell and mark it complete, atomically.

        Raises:
            ValueError: when a row does not belong to ``cell`` or two rows share a key, or the
                cell is already complete (rows are never silently replaced).
        """
        cell = {k: cell[k] for k in CELL}
        keys = set()
        for row in rows:
            for k in CELL:
                if getattr(row, k) != cell[k]:
                    raise ValueError(f"row {row.metric!r} has {k}={getattr(row, k)!r}, cell has "
                                     f"{cell[k]!r}")  # fmt: skip
            key = tuple(getattr(row, k) for k in KEY)
            if key in keys:
                raise ValueError(f"two rows share the key {dict(zip(KEY, key, strict=True))}")
            keys.add(key)
        if self.readonly:
            raise ValueError(f"{self.path} was opened read-only")

        def write() -> None:
            with self._con:  # one transaction
                try:
                    self._con.execute(
                        f"INSERT INTO cells ({', '.join(CELL)}) "
                        f"VALUES ({', '.join('?' * len(CELL))})",
                        [cell[k] for k in CELL],
                    )
                except sqlite3.IntegrityError:
                    raise ValueError(f"cell {cell} is already in {self.path}") from None
                self._con.executemany(
                    f"INSERT INTO results ({', '.join(_FIELDS)}) "
                    f"VALUES ({', '.join('?' * len(_FIELDS))})",
                    [self._encode(r) for r in rows],
                )

        self._retry(write)

    def has_cell(self, cell: dict[str, Any]) -> bool:
        """True when ``cell`` (the CELL fields) was completed earlier."""
        where = " AND ".join(f"{k} = ?" for k in CELL)
        return self._retry(lambda: self._con.execute(
            f"SELECT 1 FROM cells WHERE {where}", [cell[k] for k in CELL]).fetchone()
        ) is not None  # fmt: skip

    def rows(self, **filters: Any) -> list[ResultRow]:
        """Every row matching ``field=value`` filters, in insertion order."""
        unknown = set(filters) - set(_FIELDS)
        if unknown:
            raise ValueError(f"unknown filter field(s) {sorted(unknown)}; valid: {_FIELDS}")
        where = " AND ".join(f"{k} = ?" for k in filters) or "1"
        cols = [n for n in _FIELDS if n in self._have]  # a read-only old store lacks new ones
        found = self._retry(lambda: self._con.execute(
            f"SELECT {', '.join(cols)} FROM results WHERE {where} ORDER BY rowid",
            list(filters.values())).fetchall())  # fmt: skip
        return [self._decode(dict(zip(cols, r, strict=True))) for r in found]

    def __len__(self) -> int:
        return int(
            self._retry(lambda: self._con.execute("SELECT COUNT(*) FROM results").fetchone()[0])
        )

    @staticmethod
    def _encode(row: ResultRow) -> list[Any]:
        data = dataclasses.asdict(row)
        data["extra"] = json.dumps(data["extra"], sort_keys=True)
        data["higher_is_better"] = int(data["higher_is_better"])
        return [data[n] for n in _FIELDS]

    @staticmethod
    def _decode(data: dict[str, Any]) -> ResultRow:
        data["extra"] = json.loads(data["extra"])
        data["higher_is_better"] = bool(data["higher_is_better"])
        return ResultRow(**data)
