"""Self-supervised objectives on THE encoder, registered by name.

Adding an objective = one file + its name in ``MODULES`` + its test. ``MODULES`` also fixes the
registry's (and ``tsdividend objectives``') listing order: generative, latent, then the hybrid.
"""

import importlib

from tsdividend.objectives.base import (
    OBJECTIVES,
    Batch,
    LossOutput,
    Objective,
    build_objective,
    ema_copy,
    ema_update,
)

MODULES = ("ntp", "mae", "diffusion", "jepa", "lejepa", "dino", "byol", "hybrid")
for _module in MODULES:
    importlib.import_module(f"tsdividend.objectives.{_module}")  # registers the objective

__all__ = [
    "MODULES",
    "OBJECTIVES",
    "Batch",
    "LossOutput",
    "Objective",
    "build_objective",
    "ema_copy",
    "ema_update",
]
