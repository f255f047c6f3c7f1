"""The SQLite results store: one row per measurement, resumable, never duplicated.

WAL journal mode lets a report read while a study writes. A measurement's key is (study,
encoder_id, task, dataset, regime, seed, metric); the rows of one evaluation cell are written in
one transaction together with the cell's completion mark, so a kill leaves either all of a cell's
rows or none, and a rerun skips exactly the completed cells (``has_cell``).
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tsdividend.results.row import ResultRow

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


class ResultStore:
    """Rows of a study in ``path`` (created if missing).

    Args:
        path: the SQLite file (e.g. ``OUT/results.sqlite``).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._con = sqlite3.connect(self.path, timeout=60.0)
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute("PRAGMA synchronous=NORMAL")
        self._con.executescript(_SCHEMA)
        self._add_missing_columns()

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
        with self._con:  # one transaction
            try:
                self._con.execute(
                    f"INSERT INTO cells ({', '.join(CELL)}) VALUES ({', '.join('?' * len(CELL))})",
                    [cell[k] for k in CELL],
                )
            except sqlite3.IntegrityError:
                raise ValueError(f"cell {cell} is already in {self.path}") from None
            self._con.executemany(
                f"INSERT INTO results ({', '.join(_FIELDS)}) "
                f"VALUES ({', '.join('?' * len(_FIELDS))})",
                [self._encode(r) for r in rows],
            )

    def has_cell(self, cell: dict[str, Any]) -> bool:
        """True when ``cell`` (the CELL fields) was completed earlier."""
        where = " AND ".join(f"{k} = ?" for k in CELL)
        cur = self._con.execute(f"SELECT 1 FROM cells WHERE {where}", [cell[k] for k in CELL])
        return cur.fetchone() is not None

    def rows(self, **filters: Any) -> list[ResultRow]:
        """Every row matching ``field=value`` filters, in insertion order."""
        unknown = set(filters) - set(_FIELDS)
        if unknown:
            raise ValueError(f"unknown filter field(s) {sorted(unknown)}; valid: {_FIELDS}")
        where = " AND ".join(f"{k} = ?" for k in filters) or "1"
        cur = self._con.execute(
            f"SELECT {', '.join(_FIELDS)} FROM results WHERE {where} ORDER BY rowid",
            list(filters.values()),
        )
        return [self._decode(r) for r in cur.fetchall()]

    def __len__(self) -> int:
        return int(self._con.execute("SELECT COUNT(*) FROM results").fetchone()[0])

    @staticmethod
    def _encode(row: ResultRow) -> list[Any]:
        data = dataclasses.asdict(row)
        data["extra"] = json.dumps(data["extra"], sort_keys=True)
        data["higher_is_better"] = int(data["higher_is_better"])
        return [data[n] for n in _FIELDS]

    @staticmethod
    def _decode(values: Iterable[Any]) -> ResultRow:
        data = dict(zip(_FIELDS, values, strict=True))
        data["extra"] = json.loads(data["extra"])
        data["higher_is_better"] = bool(data["higher_is_better"])
        return ResultRow(**data)
