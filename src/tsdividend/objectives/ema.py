"""EMA targets: the one declared option set (:class:`EMAConfig`) and the one base class
(:class:`EMAObjective`) of every objective with an exponential-moving-average target (JEPA's
target encoder, DINO's teacher, BYOL's target network).

The EMA rule (docs/objectives.md, "EMA rule"): the momentum rises from ``ema_start`` to
``ema_end`` on a half-cosine over the run (:func:`tsdividend.schedules.ema_momentum`; BYOL, Grill
et al. 2020; DINO, Caron et al. 2021; I-JEPA, Assran et al. 2023). ``ema_start="auto"`` resolves
to ``min(0.996, 1 - 3 / total_steps)`` (:func:`tsdividend.schedules.auto_ema_start`), so the
target can follow the online network at least three times per run; a float overrides the rule.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import torch
from torch import nn

from tsdividend.config import ConfigError
from tsdividend.encoder import Encoder
from tsdividend.objectives.base import Objective
from tsdividend.schedules import (
    EMA_AUTO,
    EMA_DEFAULT_START,
    EMA_TIME_CONSTANT_DIVISOR,
    check_ema_options,
    ema_momentum,
    resolve_ema_start,
)

M = TypeVar("M", bound=nn.Module)


@dataclass(frozen=True, kw_only=True)
class EMAConfig:
    """The EMA options every EMA objective's config inherits (flat keys, so ``objective_options``
    stay ``{"ema_start": ..., "ema_end": ...}``).

    Keyword-only: a subclass keeps its own fields' positional order; dataclass inheritance puts
    these two first in ``dataclasses.fields`` (config hashes sort keys, so they do not see it).
    A subclass with its own ``__post_init__`` calls ``super().__post_init__()``.

    Attributes:
        ema_start: starting momentum, ``"auto"`` (the step-budget rule) or a float in [0, ema_end].
        ema_end: final momentum, in [0, 1].
    """

    ema_start: float | str = EMA_AUTO
    ema_end: float = 1.0

    def __post_init__(self) -> None:
        try:
            check_ema_options(self.ema_start, self.ema_end)
        except ValueError as err:
            raise ConfigError(str(err)) from None


C = TypeVar("C", bound=EMAConfig)


class EMAObjective(Objective[C]):
    """An objective with EMA targets, listed in :attr:`ema_pairs` as (target attribute, online
    attribute): the targets stay in eval mode, get no gradient (:func:`ema_copy`) and follow their
    online module in :meth:`on_after_step` with momentum
    ``ema_momentum(step, total, ema_start_for(total), config.ema_end)``.

    Subclasses set ``config_cls`` to a subclass of :class:`EMAConfig` and ``ema_pairs``.
    """

    ema_pairs: ClassVar[tuple[tuple[str, str], ...]] = ()

    def __init__(self, encoder: Encoder, config: C) -> None:
        super().__init__(encoder, config)
        if not isinstance(config, EMAConfig):
            raise TypeError(f"{type(self).__name__}'s config must subclass EMAConfig")
        if not self.ema_pairs:
            raise TypeError(f"{type(self).__name__} must list its EMA targets in ema_pairs")

    def train(self, mode: bool = True) -> EMAObjective[C]:
        """Set the online modules' mode; EMA targets always stay in eval mode (no dropout)."""
        super().train(mode)
        for target, _ in self.ema_pairs:
            getattr(self, target).eval()
        return self

    def on_after_step(self, step: int, total_steps: int) -> None:
        """Move every EMA target of :attr:`ema_pairs` (``step`` = optimiser steps done);
        objectives with more state (DINO's centre) extend it."""
        start = self.ema_start_for(total_steps)
        m = ema_momentum(step, total_steps, start, self.config.ema_end)
        for target, online in self.ema_pairs:
            ema_update(getattr(self, target), getattr(self, online), m)

    def ema_start_for(self, total_steps: int) -> float:
        """The starting EMA momentum of a run of ``total_steps`` (``config.ema_start`` resolved:
        a float is an explicit override, ``"auto"`` applies the step-budget rule)."""
        return resolve_ema_start(self.config.ema_start, total_steps, self.config.ema_end)

    def ema_schedule(self, total_steps: int) -> dict[str, Any] | None:
        """What the run's meta records about the EMA: the resolved start and end momentum, the
        configured value, the rule and the starting time constant."""
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


def ema_copy(module: M) -> M:
    """A frozen deep copy of ``module`` to serve as an EMA target (no gradients, ever)."""
    target = copy.deepcopy(module)
    for p in target.parameters():
        p.requires_grad_(False)
    return target


@torch.no_grad()
def ema_update(target: nn.Module, online: nn.Module, momentum: float) -> None:
    """``target <- momentum * target + (1 - momentum) * online`` for parameters and float
    buffers, outside ``forward`` (so it acts on the real module under data parallelism)."""
    t_params: list[torch.Tensor] = list(target.parameters())
    o_params = [p.detach() for p in online.parameters()]
    if len(t_params) != len(o_params):
        raise ValueError("EMA target and online module have different parameter lists")
    torch._foreach_lerp_(t_params, o_params, 1.0 - momentum)
    for tb, ob in zip(target.buffers(), online.buffers(), strict=True):
        if tb.is_floating_point():
            tb.lerp_(ob, 1.0 - momentum)
