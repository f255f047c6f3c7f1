"""Shared fixtures: the benchmark data root (skips cleanly when absent), planted cell failures."""

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


@pytest.fixture
def fail_random_cells(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every study evaluation cell of the random encoder raises; the other cells run for real."""
    import tsdividend.study.runner as runner_mod

    real = runner_mod.run_job

    def failing(job):
        if type(job).__name__ == "EvalJob" and job.cell["encoder_id"] == "random":
            raise RuntimeError("planted failure")
        return real(job)

    monkeypatch.setattr(runner_mod, "run_job", failing)
