"""The objective interface: one ``nn.Module`` per self-supervised objective around THE encoder.

An objective receives the shared :class:`~tsdividend.encoder.Encoder` and owns everything else:
heads, predictors, EMA targets, masks, views and loss weights. The trainer only ever calls
``forward(batch) -> LossOutput``, ``on_after_step(step, total_steps)`` and
``downstream_encoder()``; there is no objective-specific branch anywhere else.

Randomness: every per-sample random draw of an objective (masks, views, noise, timesteps) comes
from ``batch.generator``, which the trainer seeds from (run seed, step, rank); draws that must be
identical on every data-parallel rank (SIGReg's slice directions) come from
``batch.shared_generator``, seeded from (run seed, step) only. Together with the pure schedules this
makes a resumed run bit-identical to an uninterrupted one without saving any generator state.
Dropout uses torch's global RNG, which the trainer also reseeds every step.
"""

from __future__ import annotations

import abc
import copy
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from tsdividend.config import ConfigError, from_dict
from tsdividend.encoder import Encoder
from tsdividend.registry import Registry
from tsdividend.train.schedules import (
    EMA_DEFAULT_START,
    EMA_TIME_CONSTANT_DIVISOR,
    check_ema_options,
    ema_momentum,
    resolve_ema_start,
)


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


class Objective(nn.Module, abc.ABC):
    """Base class of every objective.

    Subclasses set ``name`` and ``config_cls`` (a frozen dataclass defined in the same file),
    implement :meth:`forward`, and register with ``@OBJECTIVES.register(name)``.
    """

    name: ClassVar[str]
    config_cls: ClassVar[type]
    # EMA targets as (target attribute, online attribute) pairs: the targets stay in eval mode,
    # get no gradient (see ema_copy) and follow their online module in on_after_step with the
    # momentum schedule ema_momentum(step, total, start, config.ema_end), where start is
    # ema_start_for(total): THE EMA rule of train/schedules.py unless config.ema_start is a float.
    ema_pairs: ClassVar[tuple[tuple[str, str], ...]] = ()

    def __init__(self, encoder: Encoder, config: Any) -> None:
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

    def train(self, mode: bool = True) -> Objective:
        """Set the online modules' mode; EMA targets always stay in eval mode (no dropout)."""
        super().train(mode)
        for target, _ in self.ema_pairs:
            getattr(self, target).eval()
        return self

    def on_after_step(self, step: int, total_steps: int) -> None:
        """Called after each optimiser step (``step`` = number of steps done): moves every EMA
        target of :attr:`ema_pairs`; objectives with more state (DINO's centre) extend it."""
        if not self.ema_pairs:
            return
        start = self.ema_start_for(total_steps)
        m = ema_momentum(step, total_steps, start, self.config.ema_end)
        for target, online in self.ema_pairs:
            ema_update(getattr(self, target), getattr(self, online), m)

    def ema_start_for(self, total_steps: int) -> float:
        """The starting EMA momentum of a run of ``total_steps`` (``config.ema_start`` resolved:
        a float is an explicit override, ``"auto"`` applies the step-budget rule)."""
        return resolve_ema_start(self.config.ema_start, total_steps, self.config.ema_end)

    def ema_schedule(self, total_steps: int) -> dict[str, Any] | None:
        """What the run's meta records about the EMA (None without EMA targets): the resolved
        start and end momentum, the configured value, the rule and the starting time constant."""
        if not self.ema_pairs:
            return None
        start = self.ema_start_for(total_steps)
        return {
            "start": start,
            "end": float(self.config.ema_end),
            "configured": self.config.ema_start,
            "rule": (
                f"min({EMA_DEFAULT_START}, 1 - {EMA_TIME_CONSTANT_DIVISOR:g} / total_steps)"
                if isinstance(self.config.ema_start, str)
                else "explicit ema_start"
            ),
            "total_steps": total_steps,
            "time_constant_steps": (1.0 / (1.0 - start)) if start < 1.0 else None,
            "targets": [target for target, _ in self.ema_pairs],
        }

    def downstream_encoder(self) -> Encoder:
        """The ONE encoder that evaluation uses (the EMA target/teacher where there is one)."""
        return self.encoder

    @classmethod
    def tiny_config(cls) -> Any:
        """A small config for CPU tests (default: the defaults)."""
        return cls.config_cls()


OBJECTIVES: Registry[type[Objective]] = Registry("objective")


def build_objective(
    name: str, encoder: Encoder, options: dict[str, Any] | None = None
) -> Objective:
    """Instantiate objective ``name`` on ``encoder`` with config overrides from ``options``."""
    import tsdividend.objectives  # noqa: F401 - registers every objective

    cls = OBJECTIVES.get(name)
    config = from_dict(cls.config_cls, dict(options or {}), where=f"objective {name}")
    return cls(encoder, config)


def check_ema_config(start: float | str, end: float) -> None:
    """Validate an objective config's ``ema_start`` ("auto" or a float) and ``ema_end``.

    Raises:
        ConfigError: naming the bad values and the valid ones.
    """
    try:
        check_ema_options(start, end)
    except ValueError as err:
        raise ConfigError(str(err)) from None


def ema_copy(module: nn.Module) -> nn.Module:
    """A frozen deep copy of ``module`` to serve as an EMA target (no gradients, ever)."""
    target = copy.deepcopy(module)
    for p in target.parameters():
        p.requires_grad_(False)
    return target


@torch.no_grad()
def ema_update(target: nn.Module, online: nn.Module, momentum: float) -> None:
    """``target <- momentum * target + (1 - momentum) * online`` for parameters and float
    buffers, outside ``forward`` (so it acts on the real module under data parallelism)."""
    t_params = list(target.parameters())
    o_params = [p.detach() for p in online.parameters()]
    if len(t_params) != len(o_params):
        raise ValueError("EMA target and online module have different parameter lists")
    torch._foreach_lerp_(t_params, o_params, 1.0 - momentum)
    for tb, ob in zip(target.buffers(), online.buffers(), strict=True):
        if tb.is_floating_point():
            tb.lerp_(ob, 1.0 - momentum)
