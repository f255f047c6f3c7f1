import sqlite3

import pytest

from tsdividend.results import ResultRow
from tsdividend.results.store import ResultStore


def _rows(seed: int, metrics=("accuracy", "balanced_accuracy")) -> list[ResultRow]:
    return [
        ResultRow(
            "random",
            "random",
            "classification",
            "ucr/GunPoint",
            "probe",
            seed,
            m,
            0.5 + seed / 10,
            True,
            depth=8,
            extra={"C": 1.0},
        )  # fmt: skip
        for m in metrics
    ]


CELL = {"study": "", "encoder_id": "random", "task": "classification", "dataset": "ucr/GunPoint",
        "regime": "probe", "seed": 0}  # fmt: skip


def test_round_trip_wal_and_cells(tmp_path):
    path = tmp_path / "results.sqlite"
    with ResultStore(path) as store:
        assert not store.has_cell(CELL)
        store.add_cell(CELL, _rows(0))
        assert store.has_cell(CELL) and len(store) == 2
        assert store.rows(metric="accuracy") == [_rows(0)[0]]
    with ResultStore(path) as again:  # reopened: the rows and the cell mark persist
        assert len(again) == 2 and again.has_cell(CELL)
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_never_duplicates_and_rejects_foreign_rows(tmp_path):
    with ResultStore(tmp_path / "r.sqlite") as store:
        store.add_cell(CELL, _rows(0))
        with pytest.raises(ValueError, match="already in"):
            store.add_cell(CELL, _rows(0))
        assert len(store) == 2  # the failed transaction wrote nothing
        with pytest.raises(ValueError, match="has seed=1, cell has 0"):
            store.add_cell(CELL, _rows(1))
        with pytest.raises(ValueError, match="share the key"):
            store.add_cell({**CELL, "seed": 2}, _rows(2, metrics=("accuracy", "accuracy")))
        assert not store.has_cell({**CELL, "seed": 2})
        with pytest.raises(ValueError, match="unknown filter"):
            store.rows(colour="red")
