"""Schedules as pure functions of the step (learning rate, EMA momentum, temperatures).

Being pure, they are unit-tested on their own and make resuming exact: the value at step ``s``
depends on nothing but ``s`` and the config.

A leaf module (it imports only ``math``): the trainer (learning rate), the fine-tunes (learning
rate) and the objectives (EMA momentum) all read it, and imports flow downward only, so it cannot
live in ``train`` (objectives must not import the trainer's package).
"""

from __future__ import annotations

import math

# The one EMA rule (docs/objectives.md, "EMA rule"): an EMA target with momentum m averages the
# online weights over about 1/(1-m) steps. With ema_start = "auto" the starting momentum is
# min(default, 1 - EMA_TIME_CONSTANT_DIVISOR / total_steps), so the starting time constant is at
# most total_steps / 3: the target can follow the online network at least three times per run.
EMA_AUTO = "auto"
EMA_DEFAULT_START = 0.996
EMA_TIME_CONSTANT_DIVISOR = 3.0


def _check(step: int, total: int) -> None:
    if total < 1:
        raise ValueError(f"total steps must be >= 1, got {total}")
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")


def cosine_interp(step: int, total: int, start: float, end: float) -> float:
    """Half-cosine from ``start`` at step 0 to ``end`` at step ``total`` (held after)."""
    _check(step, total)
    frac = min(step, total) / total
    return end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * frac))


def warmup_cosine(
    step: int, total: int, base: float, warmup: int = 0, final: float = 0.0, start: float = 0.0
) -> float:
    """Linear warm-up from ``start`` to ``base`` over ``warmup`` steps, then cosine to ``final``.

    Args:
        step: current optimiser step (0-based).
        total: total steps of the run (warm-up included).
        base: peak value reached at the end of warm-up.
        warmup: warm-up steps (< total).
        final: value at the last step.
        start: value at step 0 when warming up.
    """
    _check(step, total)
    if not 0 <= warmup < total:
        raise ValueError(f"warmup must be in [0, total={total}), got {warmup}")
    if step < warmup:
        return start + (base - start) * step / warmup
    return cosine_interp(step - warmup, total - warmup, base, final)


def ema_momentum(step: int, total: int, start: float = 0.996, end: float = 1.0) -> float:
    """EMA momentum rising from ``start`` to ``end`` on a half-cosine (BYOL, DINO, I-JEPA):
    ``m = end - (end - start) * (1 + cos(pi * step / total)) / 2``."""
    if not 0.0 <= start <= end <= 1.0:
        raise ValueError(f"need 0 <= start <= end <= 1, got start={start}, end={end}")
    return cosine_interp(step, total, start, end)


def auto_ema_start(
    total: int, default: float = EMA_DEFAULT_START, divisor: float = EMA_TIME_CONSTANT_DIVISOR
) -> float:
    """The step-budget EMA rule: ``min(default, 1 - divisor / total)``, floored at 0.

    The time constant ``1 / (1 - m)`` of the starting momentum is then at most
    ``total / divisor`` steps; long runs keep the per-paper ``default`` (0.996: BYOL, Grill et al.
    2020; DINO, Caron et al. 2021; I-JEPA, Assran et al. 2023), short runs get a faster target.

    Args:
        total: optimiser steps of the run (>= 1).
        default: the momentum used when it already satisfies the rule.
        divisor: ``c`` in ``time constant <= total / c`` (> 0).

    Returns:
        The starting momentum, in [0, default].
    """
    _check(0, total)
    if not divisor > 0:
        raise ValueError(f"divisor must be > 0, got {divisor}")
    if not 0.0 <= default <= 1.0:
        raise ValueError(f"default must be in [0, 1], got {default}")
    return max(0.0, min(default, 1.0 - divisor / total))


def resolve_ema_start(start: float | str, total: int, end: float = 1.0) -> float:
    """``start`` itself when it is a number (an explicit override), else the rule of
    :func:`auto_ema_start` for a run of ``total`` steps (``start == "auto"``), capped at ``end``
    so the schedule never decreases."""
    if isinstance(start, str):
        if start != EMA_AUTO:
            raise ValueError(f"ema_start must be a float in [0, 1] or {EMA_AUTO!r}, got {start!r}")
        return min(auto_ema_start(total), end)
    return float(start)


def check_ema_options(start: float | str, end: float) -> None:
    """Validate an objective's ``(ema_start, ema_end)``; raises ValueError naming the values.

    ``start`` is ``"auto"`` (the rule above) or a float with ``0 <= start <= end <= 1``.
    """
    if isinstance(start, bool) or not isinstance(start, (int, float, str)):
        raise ValueError(f"ema_start must be a float in [0, 1] or {EMA_AUTO!r}, got {start!r}")
    if isinstance(start, str):
        if start != EMA_AUTO:
            raise ValueError(f"ema_start must be a float in [0, 1] or {EMA_AUTO!r}, got {start!r}")
        lo = 0.0
    else:
        lo = float(start)
    if not 0.0 <= lo <= end <= 1.0:
        raise ValueError(f"need 0 <= ema_start <= ema_end <= 1, got {start!r}, {end!r}")
