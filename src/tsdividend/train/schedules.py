"""Schedules as pure functions of the step (learning rate, EMA momentum, temperatures).

Being pure, they are unit-tested on their own and make resuming exact: the value at step ``s``
depends on nothing but ``s`` and the config.
"""

from __future__ import annotations

import math


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
