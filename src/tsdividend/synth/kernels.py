"""Kernel specifications, the KernelSynth kernel bank and random kernel compositions.

KernelSynth (Ansari et al. 2024, "Chronos: Learning the Language of Time Series", Sec. 4.2 and
``scripts/kernel-synth.py`` of amazon-science/chronos-forecasting) draws 1..5 kernels with
replacement from a bank of 33 scikit-learn kernels, folds them left to right with a random ``+`` or
``*`` and samples one Gaussian-process prior path on ``linspace(0, 1, L)``. The bank (with the
scikit-learn defaults for every hyper-parameter Chronos does not set, checked against
``sklearn.gaussian_process.kernels`` 1.x):

- ``ExpSineSquared(periodicity=p / L)`` for p in 24, 48, 96, 168, 336, 672, 7, 14, 30, 60, 365,
  730, 4, 26, 52, 4, 6, 12, 4, 40, 10 (Chronos divides by its fixed ``LENGTH=1024``; we divide by
  the series length L); ``length_scale=1.0`` (sklearn default):
  ``k(d) = exp(-2 sin^2(pi d / period) / length_scale^2)``.
- ``DotProduct(sigma_0)`` for sigma_0 in {0, 1, 10}: ``k(x, x') = sigma_0^2 + x x'``.
- ``RBF(length_scale)`` for length_scale in {0.1, 1, 10}: ``k(d) = exp(-d^2 / (2 l^2))``.
- ``RationalQuadratic(alpha)`` for alpha in {0.1, 1, 10}, ``length_scale=1.0`` (sklearn default):
  ``k(d) = (1 + d^2 / (2 alpha l^2))^(-alpha)``.
- ``WhiteKernel(noise_level)`` for 0.1 and 1: ``noise_level`` on the diagonal only.
- ``ConstantKernel()`` with ``constant_value=1.0`` (sklearn default).

Kernels here are small frozen dataclasses (hashable, so samplers can cache per kernel), convertible
to the equivalent scikit-learn object with :func:`to_sklearn` (the reference in tests and the
benchmark) and expandable into a sum of products with :func:`expand` (distributivity), which is
what the exact sampler in :mod:`tsdividend.synth.gp` works on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np


@dataclass(frozen=True)
class Periodic:
    """``ExpSineSquared`` with periodicity ``steps / L`` on the grid ``linspace(0, 1, L)``."""

    steps: float
    length_scale: float = 1.0

    def __post_init__(self) -> None:
        if not (self.steps > 0 and self.length_scale > 0):
            raise ValueError(f"Periodic needs steps > 0 and length_scale > 0, got {self}")


@dataclass(frozen=True)
class DotProduct:
    """``k(x, x') = sigma_0^2 + x x'`` (non-stationary, rank 2)."""

    sigma_0: float

    def __post_init__(self) -> None:
        if self.sigma_0 < 0:
            raise ValueError(f"DotProduct needs sigma_0 >= 0, got {self.sigma_0}")


@dataclass(frozen=True)
class RBF:
    """Squared exponential ``k(d) = exp(-d^2 / (2 length_scale^2))``."""

    length_scale: float

    def __post_init__(self) -> None:
        if self.length_scale <= 0:
            raise ValueError(f"RBF needs length_scale > 0, got {self.length_scale}")


@dataclass(frozen=True)
class RationalQuadratic:
    """``k(d) = (1 + d^2 / (2 alpha length_scale^2))^(-alpha)``."""

    alpha: float
    length_scale: float = 1.0

    def __post_init__(self) -> None:
        if not (self.alpha > 0 and self.length_scale > 0):
            raise ValueError(f"RationalQuadratic needs alpha, length_scale > 0, got {self}")


@dataclass(frozen=True)
class White:
    """White noise: ``noise_level`` on the diagonal of the prior covariance, 0 elsewhere."""

    noise_level: float

    def __post_init__(self) -> None:
        if self.noise_level < 0:
            raise ValueError(f"White needs noise_level >= 0, got {self.noise_level}")


@dataclass(frozen=True)
class Constant:
    """``k(x, x') = value``."""

    value: float = 1.0

    def __post_init__(self) -> None:
        if self.value < 0:
            raise ValueError(f"Constant needs value >= 0, got {self.value}")


BaseKernel: TypeAlias = Periodic | DotProduct | RBF | RationalQuadratic | White | Constant
STATIONARY_DECAYING = (RBF, RationalQuadratic)


@dataclass(frozen=True)
class Sum:
    """``left + right``: the sum of two kernels (independent GPs added)."""

    left: Kernel
    right: Kernel


@dataclass(frozen=True)
class Product:
    """``left * right``: the elementwise product of two kernels."""

    left: Kernel
    right: Kernel


Kernel: TypeAlias = BaseKernel | Sum | Product

# The 21 periodicities of Chronos' bank, in time steps (divided by L on the unit grid).
CHRONOS_PERIODS: tuple[int, ...] = (
    24, 48, 96, 168, 336, 672, 7, 14, 30, 60, 365, 730, 4, 26, 52, 4, 6, 12, 4, 40, 10,
)  # fmt: skip

KERNEL_BANK: tuple[BaseKernel, ...] = (
    *(Periodic(float(p)) for p in CHRONOS_PERIODS),
    DotProduct(0.0),
    DotProduct(1.0),
    DotProduct(10.0),
    RBF(0.1),
    RBF(1.0),
    RBF(10.0),
    RationalQuadratic(0.1),
    RationalQuadratic(1.0),
    RationalQuadratic(10.0),
    White(0.1),
    White(1.0),
    Constant(1.0),
)
"""The 33 kernels of Chronos' KernelSynth bank, in Chronos' order."""


def random_kernel(
    rng: np.random.Generator, max_kernels: int = 5, bank: tuple[BaseKernel, ...] = KERNEL_BANK
) -> Kernel:
    """Draw a KernelSynth composition: 1..max_kernels bank kernels, left-folded by random + or *.

    Mirrors Chronos' ``functools.reduce(random_binary_map, selected_kernels)``: the number of
    kernels is uniform on {1, ..., max_kernels}, kernels are drawn uniformly with replacement, each
    fold step picks ``+`` or ``*`` with probability 1/2.

    Args:
        rng: the generator every draw comes from.
        max_kernels: largest number of bank kernels in one composition (Chronos: 5).
        bank: kernels to draw from.
    """
    if max_kernels < 1:
        raise ValueError(f"max_kernels must be >= 1, got {max_kernels}")
    n = int(rng.integers(1, max_kernels + 1))
    picks = rng.integers(0, len(bank), size=n)
    ops = rng.integers(0, 2, size=n - 1)
    kernel: Kernel = bank[int(picks[0])]
    for pick, op in zip(picks[1:], ops, strict=True):
        kernel = Sum(kernel, bank[int(pick)]) if op == 0 else Product(kernel, bank[int(pick)])
    return kernel


def expand(kernel: Kernel) -> list[tuple[BaseKernel, ...]]:
    """Expand a composition into a sum of products of base kernels (distributivity).

    ``(A + B) * C`` becomes ``[(A, C), (B, C)]``. The covariance of the composition is the sum of
    the product terms' covariances, so independent samples of the terms add up to an exact sample.
    """
    if isinstance(kernel, Sum):
        return expand(kernel.left) + expand(kernel.right)
    if isinstance(kernel, Product):
        return [a + b for a in expand(kernel.left) for b in expand(kernel.right)]
    return [(kernel,)]


def stationary_profile(kernel: BaseKernel, d: np.ndarray, length: int) -> np.ndarray:
    """Evaluate a stationary base kernel at lags ``d`` (time units of the unit grid).

    Args:
        kernel: a Periodic, RBF, RationalQuadratic or Constant kernel.
        d: lags, any shape.
        length: series length L (a Periodic kernel's periodicity is ``steps / L``).
    """
    if isinstance(kernel, Periodic):
        s = np.sin(np.pi * d / (kernel.steps / length)) / kernel.length_scale
        return np.exp(-2.0 * s * s)
    if isinstance(kernel, RBF):
        return np.exp(-0.5 * (d / kernel.length_scale) ** 2)
    if isinstance(kernel, RationalQuadratic):
        a, ls = kernel.alpha, kernel.length_scale
        return (1.0 + d * d / (2.0 * a * ls * ls)) ** (-a)
    if isinstance(kernel, Constant):
        return np.full(np.shape(d), kernel.value)
    raise TypeError(f"{kernel!r} is not stationary; stationary kinds: Periodic, RBF, RQ, Constant")


def to_sklearn(kernel: Kernel, length: int) -> Any:
    """The equivalent ``sklearn.gaussian_process.kernels`` object on ``linspace(0, 1, length)``.

    Used as the independent reference (covariance tests, benchmark). Imports scikit-learn lazily.
    """
    from sklearn.gaussian_process import kernels as sk

    if isinstance(kernel, Sum):
        return to_sklearn(kernel.left, length) + to_sklearn(kernel.right, length)
    if isinstance(kernel, Product):
        return to_sklearn(kernel.left, length) * to_sklearn(kernel.right, length)
    if isinstance(kernel, Periodic):
        return sk.ExpSineSquared(
            length_scale=kernel.length_scale, periodicity=kernel.steps / length
        )
    if isinstance(kernel, DotProduct):
        return sk.DotProduct(sigma_0=kernel.sigma_0)
    if isinstance(kernel, RBF):
        return sk.RBF(length_scale=kernel.length_scale)
    if isinstance(kernel, RationalQuadratic):
        return sk.RationalQuadratic(length_scale=kernel.length_scale, alpha=kernel.alpha)
    if isinstance(kernel, White):
        return sk.WhiteKernel(noise_level=kernel.noise_level)
    if isinstance(kernel, Constant):
        return sk.ConstantKernel(constant_value=kernel.value)
    raise TypeError(f"not a kernel: {kernel!r}")


def describe(kernel: Kernel) -> str:
    """Short human-readable formula, e.g. ``(Periodic(24) + RBF(0.1)) * DotProduct(1)``."""
    if isinstance(kernel, Sum):
        return f"({describe(kernel.left)} + {describe(kernel.right)})"
    if isinstance(kernel, Product):
        return f"{describe(kernel.left)} * {describe(kernel.right)}"
    name = type(kernel).__name__
    value = next(iter(vars(kernel).values()))
    return f"{name}({value:g})"
