"""Shared fixtures: the benchmark data root (skips cleanly when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parents[1]


def _find_shared_data() -> Path | None:
    env = os.environ.get("TSDIVIDEND_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(_REPO.parent / "shared" / "data")
    for cand in candidates:
        if (cand / "ucr").is_dir():
            return cand
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of the real benchmark data (``TSDIVIDEND_DATA`` or ``../shared/data``); else skip."""
    root = _find_shared_data()
    if root is None:
        pytest.skip("shared benchmark data not found (set TSDIVIDEND_DATA)")
    return root
