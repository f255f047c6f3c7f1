"""A dataset family added from this test module alone (registered at import): it is listed,
loaded, explained when missing, and used as the real pretraining corpus.

The family ``toy/<key>`` reads ``<root>/toy/<key>.csv``: one series per row,
``split,label,v_0,...,v_{T-1}``. It is registered once per process and stays registered (no file
of another test's root is under ``toy/``, so other tests never see a toy dataset).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tsdividend.data import DataError, Dataset, dataset_info, list_datasets, load_dataset
from tsdividend.data.catalog import parse_name, patterns
from tsdividend.data.families import BUILTIN
from tsdividend.data.family import FAMILIES, WORD, FamilySpec, register_family
from tsdividend.train.sources import (
    DataConfig,
    PretrainSource,
    describe_corpus,
    family,
    real_corpus,
)

T, N_TRAIN, N_TEST, L = 40, 6, 3, 16


def _read_toy(name: str, key: str, files: list[Path], min_length: int, source: str) -> Dataset:
    """Rows ``split,label,values...`` -> a classification Dataset with train/test splits."""
    rows = [line.split(",") for line in files[0].read_text().splitlines() if line]
    X = np.array([[float(v) for v in r[2:]] for r in rows], np.float32)[:, None, :]
    split = np.array([r[0] for r in rows])
    labels = np.array([int(r[1]) for r in rows])
    return Dataset(
        name=name,
        task="classification",
        X=X,
        mask=np.ones_like(X, bool),
        y=labels.astype(np.int64),
        classes=("0", "1"),
        splits={s: np.flatnonzero(split == s) for s in ("train", "test")},
        meta={"source": source, "files": [str(f) for f in files]},
    )


TOY = register_family(
    FamilySpec(
        name="toy",
        pattern="toy/<key>",
        task="classification",
        key_re=WORD,
        paths=lambda root, key: [root / "toy" / f"{key}.csv"],
        scan=lambda root: sorted(p.stem for p in (root / "toy").glob("*.csv")),
        read=_read_toy,
    )
)


def _write_toy(root: Path, key: str, seed: int) -> np.ndarray:
    """Write ``toy/<key>.csv`` (train rows first) and return its values (N_TRAIN + N_TEST, T).
    Test rows are offset by 1000 so that no window of a test row can pass for a train window."""
    rng = np.random.default_rng(seed)
    values = np.cumsum(rng.standard_normal((N_TRAIN + N_TEST, T)), axis=1).astype(np.float32)
    values[N_TRAIN:] += 1000.0
    lines = [
        ",".join(["train" if i < N_TRAIN else "test", str(i % 2), *map(repr, map(float, row))])
        for i, row in enumerate(values)
    ]
    (root / "toy").mkdir(parents=True, exist_ok=True)
    (root / "toy" / f"{key}.csv").write_text("\n".join(lines) + "\n")
    return values


@pytest.fixture
def root(tmp_path: Path) -> tuple[Path, np.ndarray]:
    values = _write_toy(tmp_path, "x", seed=0)
    _write_toy(tmp_path, "y", seed=1)
    return tmp_path, values


def test_registered_family_is_known_by_name_and_pattern() -> None:
    assert FAMILIES.get("toy") is TOY and FAMILIES.names()[:6] == [
        "ucr", "uea", "anomaly/ucr", "anomaly/nab", "anomaly/msl", "forecast"]  # fmt: skip
    assert parse_name(" toy/x ") == ("toy", "x") and family("toy/x") == "toy"
    assert "toy/<key>" in patterns()
    with pytest.raises(DataError, match=r"valid patterns: ucr/<Name>, .*, toy/<key>"):
        parse_name("toy/../etc")
    with pytest.raises(ValueError, match="already registered"):
        register_family(TOY)


def test_listed_after_the_builtin_families_and_loaded(root: tuple[Path, np.ndarray]) -> None:
    path, values = root
    rows = list_datasets(path)
    toy = [r for r in rows if r["name"].startswith("toy/")]
    assert toy == [
        {"name": f"toy/{k}", "task": "classification", "available": True, "source": "data-dir"}
        for k in ("x", "y")
    ]
    builtin = {spec.name for spec in BUILTIN}
    last_builtin = max(i for i, r in enumerate(rows) if parse_name(r["name"])[0] in builtin)
    assert rows.index(toy[0]) > last_builtin  # families list in registration order
    ds = load_dataset("toy/x", path)
    assert ds.name == "toy/x" and ds.meta["source"] == "data-dir"
    np.testing.assert_array_equal(ds.X[:, 0], values)
    np.testing.assert_array_equal(ds.subset("test").X[:, 0], values[N_TRAIN:])
    assert dataset_info("toy/x", path) == {
        "name": "toy/x", "task": "classification", "n_train": N_TRAIN, "n_test": N_TEST,
        "n_channels": 1, "length": T, "n_classes": 2}  # fmt: skip


def test_missing_toy_dataset_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        load_dataset("toy/absent", tmp_path)
    msg = str(err.value)
    assert str(tmp_path / "toy" / "absent.csv") in msg and "not in the fetch catalog" in msg
    assert not [r for r in list_datasets(tmp_path) if r["name"].startswith("toy/")]


def test_real_corpus_reads_only_the_toy_train_rows(root: tuple[Path, np.ndarray]) -> None:
    path, values = root
    config = DataConfig(source="real", context=L, real_datasets=("toy/x",), data_dir=str(path))
    assert [d.name for d in real_corpus(config.real_datasets, config.data_dir)] == ["toy/x"]
    real = describe_corpus(config)["real"]
    assert real["datasets"] == ["toy/x"] and list(real["families"]) == ["toy"]
    assert real["counts"]["series"] == N_TRAIN  # the test rows are never read
    assert real["counts"]["windows"] == N_TRAIN * (T - L + 1)
    x, mask = PretrainSource(config, seed=0, global_batch=8).batch(0, 0, 8)
    assert x.shape == (8, 1, L) and mask.all()
    train_windows = np.lib.stride_tricks.sliding_window_view(values[:N_TRAIN], L, axis=1)
    for w in x[:, 0]:  # every sample is a window of a train row
        assert (train_windows == w).all(-1).any()
