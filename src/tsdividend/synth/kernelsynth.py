"""KernelSynth: univariate series drawn from GP priors with random composite kernels.

Ansari et al. 2024, "Chronos: Learning the Language of Time Series" (TMLR), Sec. 4.2 and
``scripts/kernel-synth.py``: pick 1..``max_kernels`` kernels with replacement from the 33-kernel
bank (:data:`~tsdividend.synth.kernels.KERNEL_BANK`), fold them with random ``+`` / ``*``, and draw
one GP prior path on ``linspace(0, 1, L)``. Chronos draws with ``GaussianProcessRegressor.sample_y``
(an SVD per series); we draw from the same Gaussian with :func:`~tsdividend.synth.gp.sample_gp`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tsdividend.synth.gp import sample_gp
from tsdividend.synth.kernels import Kernel, random_kernel


@dataclass(frozen=True)
class KernelSynthConfig:
    """KernelSynth options.

    Attributes:
        max_kernels: largest number of bank kernels per composition (Chronos: 5).
    """

    max_kernels: int = 5

    def __post_init__(self) -> None:
        if not 1 <= self.max_kernels <= 64:
            raise ValueError(f"max_kernels must be in 1..64, got {self.max_kernels}")


def draw_kernelsynth(
    rng: np.random.Generator, length: int, config: KernelSynthConfig = KernelSynthConfig()
) -> tuple[Kernel, np.ndarray]:
    """Draw a composition and one exact GP path of it.

    Args:
        rng: source of every draw (composition first, then the path).
        length: series length L >= 1.
        config: KernelSynth options.

    Returns:
        (the kernel composition, float64 series (L,)).
    """
    kernel = random_kernel(rng, config.max_kernels)
    return kernel, sample_gp(kernel, length, rng)[0]


def sample_kernelsynth(
    rng: np.random.Generator, length: int, config: KernelSynthConfig = KernelSynthConfig()
) -> np.ndarray:
    """One KernelSynth series: float64 (L,). See :func:`draw_kernelsynth`."""
    return draw_kernelsynth(rng, length, config)[1]
