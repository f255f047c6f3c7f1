"""Shared by the CLI and library tests: a study small enough to run in seconds."""

from __future__ import annotations

from pathlib import Path

import pytest

TINY_STUDY = """
name = "cli"
objectives = ["mae"]
tasks = ["classification"]
depths = [1]
[datasets]
classification = ["ucr/GunPoint"]
[train]
steps = 4
batch_size = 8
data.context = 64
encoder.d_model = 16
encoder.n_heads = 2
device = "cpu"
[eval.classification]
shots = []
c_grid = [1.0]
"""


@pytest.fixture
def tiny_study(tmp_path: Path) -> Path:
    """``study.toml`` of :data:`TINY_STUDY` in the test's folder."""
    path = tmp_path / "study.toml"
    path.write_text(TINY_STUDY)
    return path
