"""The objective interface: one ``nn.Module`` per self-supervised objective around THE encoder.

An objective receives the shared :class:`~tsdividend.encoder.Encoder` and owns everything else:
heads, predictors, EMA targets, masks, views and loss weights. The trainer only ever calls
``forward(batch) -> LossOutput``, ``on_after_step(step, total_steps)``, ``ema_schedule(steps)``
(for the run's meta) and ``downstream_encoder()``; there is no objective-specific branch anywhere
else.

Randomness: every per-sample random draw of an objective (masks, views, noise, timesteps) comes
from ``batch.generator``, which the trainer seeds from (run seed, step, rank); draws that must be
identical on every data-parallel rank (SIGReg's slice directions) come from
``batch.shared_generator``, seeded from (run seed, step) only. Together with the pure schedules this
makes a resumed run bit-identical to an uninterrupted one without saving any generator state.
Dropout uses torch's global RNG, which the trainer also reseeds every step.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

import torch
from torch import Tensor, nn

from tsdividend.config import from_dict
from tsdividend.encoder import Encoder
from tsdividend.registry import Registry

C = TypeVar("C")


@dataclass
class Batch:
    """One training batch.

    Attributes:
        x: (B, C, T) float series (0.0 at unobserved steps).
        mask: (B, C, T) bool, True = observed.
        generator: per-rank source of randomness for this step (on x's device).
        shared_generator: source of randomness identical on every rank (on x's device).
        step: optimiser steps done before this batch; total_steps: steps of the run (for
            objectives with step-dependent behaviour, e.g. DINO freezing its last layer).
    """

    x: Tensor
    mask: Tensor
    generator: torch.Generator
    shared_generator: torch.Generator
    step: int = 0
    total_steps: int = 1


@dataclass
class LossOutput:
    """A scalar loss plus detached scalar tensors to log (no host sync until they are printed)."""

    loss: Tensor
    logs: dict[str, Tensor] = field(default_factory=dict)


class Objective(nn.Module, abc.ABC, Generic[C]):
    """Base class of every objective, generic in its config type ``C``.

    Subclasses set ``config_cls`` (a frozen dataclass defined in the same file; its name is the
    registered one, given once to ``@OBJECTIVES.register(name)``), implement :meth:`forward`,
    and may override :meth:`on_after_step`, :meth:`downstream_encoder` and :meth:`tiny_config`.
    Objectives with EMA targets derive from :class:`tsdividend.objectives.ema.EMAObjective`.
    """

    config_cls: ClassVar[type[Any]]
    config: C

    def __init__(self, encoder: Encoder, config: C) -> None:
        super().__init__()
        if not isinstance(config, self.config_cls):
            raise TypeError(
                f"{type(self).__name__} needs a {self.config_cls.__name__}, got {type(config)}"
            )
        self.encoder = encoder
        self.config = config

    @abc.abstractmethod
    def forward(self, batch: Batch) -> LossOutput:
        """Compute the loss of one batch."""

    def on_after_step(self, step: int, total_steps: int) -> None:
        """Called after each optimiser step (``step`` = number of steps done); nothing by default
        (EMA targets move here, see :class:`~tsdividend.objectives.ema.EMAObjective`)."""

    def ema_schedule(self, total_steps: int) -> dict[str, Any] | None:
        """What the run's meta records about the EMA; None: this objective has no EMA target."""
        return None

    def downstream_encoder(self) -> Encoder:
        """The ONE encoder that evaluation uses (the EMA target/teacher where there is one)."""
        return self.encoder

    @classmethod
    def tiny_config(cls) -> Any:
        """A small config for CPU tests (default: the defaults)."""
        return cls.config_cls()


OBJECTIVES: Registry[type[Objective[Any]]] = Registry("objective")


def build_objective(
    name: str, encoder: Encoder, options: dict[str, Any] | None = None
) -> Objective[Any]:
    """Instantiate objective ``name`` on ``encoder`` with config overrides from ``options``."""
    import tsdividend.objectives  # noqa: F401 - registers every objective

    cls = OBJECTIVES.get(name)
    config = from_dict(cls.config_cls, dict(options or {}), where=f"objective {name}")
    return cls(encoder, config)
