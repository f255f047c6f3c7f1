"""The metric registry: name -> function + direction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tsdividend.registry import Registry


@dataclass(frozen=True)
class Metric:
    """A named metric function and its direction."""

    name: str
    fn: Callable[..., float]
    higher_is_better: bool


METRICS: Registry[Metric] = Registry("metric")


def metric(
    name: str, higher_is_better: bool
) -> Callable[[Callable[..., float]], Callable[..., float]]:
    """Decorator registering ``fn`` as metric ``name`` with its direction."""

    def deco(fn: Callable[..., float]) -> Callable[..., float]:
        METRICS.register(name)(Metric(name, fn, higher_is_better))
        return fn

    return deco
