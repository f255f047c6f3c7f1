"""Self-supervised objectives on THE encoder, registered by name.

Adding an objective = one file + one import line here + its test.
"""

from tsdividend.objectives.base import (
    OBJECTIVES,
    Batch,
    LossOutput,
    Objective,
    build_objective,
    ema_copy,
    ema_update,
)

__all__ = [
    "OBJECTIVES",
    "Batch",
    "LossOutput",
    "Objective",
    "build_objective",
    "ema_copy",
    "ema_update",
]
