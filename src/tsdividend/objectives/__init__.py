"""Self-supervised objectives on THE encoder, registered by name.

Adding an objective = one module in this package (its config dataclass and its class, registered
with ``@OBJECTIVES.register("name")``) + its test. Importing the package imports every module in
it (``pkgutil`` discovery), so a new module registers itself without being listed anywhere.

Listing order (the registry's, ``tsdividend objectives``', the report's): the built-ins in
``MODULES`` order (generative, latent, then the hybrid: ntp, mae, diffusion, jepa, lejepa, dino,
byol, hybrid), then any other module of the package in alphabetical order. ``MODULES`` only fixes
that order; an objective that should be listed elsewhere is added to it. Objectives registered
from outside the package (e.g. a test's toy objective) follow, in the order they were registered.
"""

import importlib
import pkgutil

from tsdividend.objectives.base import OBJECTIVES, Batch, LossOutput, Objective, build_objective
from tsdividend.objectives.ema import EMAConfig, EMAObjective, ema_copy, ema_update

MODULES = ("ntp", "mae", "diffusion", "jepa", "lejepa", "dino", "byol", "hybrid")


def _package_modules() -> list[str]:
    """Module names of this package: ``MODULES`` first, then the others alphabetically."""
    found = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    missing = [name for name in MODULES if name not in found]
    if missing:
        raise ImportError(f"objectives MODULES names {missing}, which are not in {__name__}")
    return [*MODULES, *(name for name in found if name not in MODULES)]


for _module in _package_modules():
    importlib.import_module(f"{__name__}.{_module}")  # an objective module registers itself

__all__ = [
    "MODULES",
    "OBJECTIVES",
    "Batch",
    "EMAConfig",
    "EMAObjective",
    "LossOutput",
    "Objective",
    "build_objective",
    "ema_copy",
    "ema_update",
]
