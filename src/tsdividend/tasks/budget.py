"""The step budget of every fine-tune (torch-free, so task configs can validate theirs).

:class:`StepBudget` says how long and how a fine-tune trains; the engine that runs it is
:mod:`tsdividend.tasks.finetune` (which re-exports it).
"""

from __future__ import annotations

from dataclasses import dataclass

from tsdividend.config import ConfigError, check_int


@dataclass(frozen=True)
class StepBudget:
    """How long and how a fine-tune trains.

    Attributes:
        steps: optimizer updates at most (the budget).
        warmup: linear warm-up updates (< steps; 0 = none).
        eval_every: updates between validation evaluations (the last update is always evaluated).
        patience: updates without a strict validation improvement before stopping.
        grad_clip: max global gradient norm; None = no clipping.
    """

    steps: int
    warmup: int = 0
    eval_every: int = 1
    patience: int = 1_000_000
    grad_clip: float | None = None

    def __post_init__(self) -> None:
        check_int("steps", self.steps, 1)
        check_int("warmup", self.warmup, 0)
        check_int("eval_every", self.eval_every, 1)
        check_int("patience", self.patience, 1)
        if self.warmup >= self.steps:
            raise ConfigError(f"warmup must be < steps={self.steps}, got {self.warmup}")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ConfigError(f"grad_clip must be > 0 or None, got {self.grad_clip}")

    def eval_points(self) -> list[int]:
        """Steps at which validation is evaluated: 0, eval_every, 2 * eval_every, ..., steps."""
        points = list(range(0, self.steps, self.eval_every))
        return [*points, self.steps]
