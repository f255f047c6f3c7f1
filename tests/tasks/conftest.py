"""Fixtures shared by the task tests."""

from __future__ import annotations

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
