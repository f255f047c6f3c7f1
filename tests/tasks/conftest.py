"""Fixtures shared by the task tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tsdividend.data import Dataset, load_dataset


@pytest.fixture(autouse=True)
def one_thread():
    # The CI box has 2 shared cores: oversubscribed torch threads made these runs ~6x slower.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def gunpoint() -> Dataset:
    """GunPoint (the data dir's copy when TSDIVIDEND_DATA is set, else aeon's bundled one)."""
    return load_dataset("ucr/GunPoint")


@pytest.fixture
def two_frequencies() -> Dataset:
    """40 series of 64 steps: class 0 a slow sine, class 1 a fast one (random phases)."""
    n, length = 40, 64
    rng = np.random.default_rng(0)
    y = np.arange(n) % 2
    t = np.arange(length)
    X = np.sin(2 * np.pi * np.where(y == 0, 2, 9)[:, None] * t / length
               + rng.uniform(0, 6.3, n)[:, None]) + 0.1 * rng.normal(size=(n, length))  # fmt: skip
    X = X[:, None].astype(np.float32)
    splits = {"train": np.arange(n // 2), "test": np.arange(n // 2, n)}
    return Dataset("synthetic/freq", "classification", X, np.ones_like(X, bool),
                   y.astype(np.int64), ("2", "9"), splits=splits)  # fmt: skip
