"""ResultRow's identity columns, the one regime -> baseline mapping, and old stores."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from tsdividend.results import ResultStore
from tsdividend.results.row import BASELINE_OF, INITS, REGIMES, STUDY_REGIMES, ResultRow

NEW = ("pretrain_size", "pretrain_steps", "pretrain_samples")


def row(**kw: object) -> ResultRow:
    base = {"encoder_id": "e", "init": "pretrained", "task": "classification", "dataset": "d",
            "regime": "probe", "seed": 0, "metric": "accuracy", "value": 0.5,
            "higher_is_better": True}  # fmt: skip
    return ResultRow(**{**base, **kw})  # type: ignore[arg-type]


def test_baselines_are_inits_of_study_regimes() -> None:
    assert STUDY_REGIMES == ("probe", "finetune")
    assert BASELINE_OF == {"probe": "random", "finetune": "scratch"}
    assert set(BASELINE_OF) <= set(REGIMES) and set(BASELINE_OF.values()) <= set(INITS)


def test_pretraining_columns_default_to_none_and_round_trip(tmp_path: Path) -> None:
    assert all(getattr(row(), f) is None for f in NEW)
    r = row(pretrain_size=64, pretrain_steps=20, pretrain_samples=160)
    with ResultStore(tmp_path / "s.sqlite") as store:
        store.add_cell(dataclasses.asdict(r), [r])
        assert store.rows() == [r]
        assert store.rows(pretrain_size=64) == [r]
    with pytest.raises(ValueError, match="init 'frozen' unknown"):
        row(init="frozen")


def test_a_store_written_before_the_columns_existed_stays_readable(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    old_fields = [f.name for f in dataclasses.fields(ResultRow) if f.name not in NEW]
    con = sqlite3.connect(path)
    con.execute(f"CREATE TABLE results ({', '.join(old_fields)})")
    old = {**dataclasses.asdict(row()), "extra": "{}", "higher_is_better": 1}
    con.execute(f"INSERT INTO results VALUES ({', '.join('?' * len(old_fields))})",
                [old[f] for f in old_fields])  # fmt: skip
    con.commit()
    con.close()
    with ResultStore(path) as store:
        (got,) = store.rows()
        assert got == row() and all(getattr(got, f) is None for f in NEW)
        new = row(seed=1, pretrain_steps=5)
        store.add_cell(dataclasses.asdict(new), [new])
        assert store.rows(seed=1) == [new]
