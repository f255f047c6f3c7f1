"""Multivariate synthetic series by a linear model of coregionalization (LMC).

The seed paper's extension of KernelSynth (Razmadze, Major, Shavit 2026, "Quantifying the
Pre-training Dividend", ``scripts/synthetic_data_generation/LMC_Synth.py``): K latent KernelSynth
series, each with its own random composition, mixed into C channels by a row-stochastic weight
matrix. ``K = round(Weibull(shape) * scale + 1)`` clipped to ``[max(2, C // 20), C]``; every row of
``W`` (C, K) is drawn from ``Dirichlet(alpha * 1_K)`` with one ``alpha ~ U(dirichlet_min,
dirichlet_max)`` per series; the output is ``W @ latents`` (C, T). The paper's README run uses
C = 160, shape 1.5, scale 2.0, alpha range [0.1, 1.0], which are our defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tsdividend.synth.kernelsynth import KernelSynthConfig, sample_kernelsynth


@dataclass(frozen=True)
class LMCConfig:
    """LMC options (defaults: the seed paper's README run).

    Attributes:
        n_channels: channels C of every series.
        weibull_shape: shape of the Weibull draw of the number of latents.
        weibull_scale: multiplier of the Weibull draw.
        dirichlet_min: lower bound of the Dirichlet concentration ``alpha``.
        dirichlet_max: upper bound of ``alpha``.
        max_kernels: KernelSynth ``max_kernels`` of each latent.
    """

    n_channels: int = 160
    weibull_shape: float = 1.5
    weibull_scale: float = 2.0
    dirichlet_min: float = 0.1
    dirichlet_max: float = 1.0
    max_kernels: int = 5

    def __post_init__(self) -> None:
        if self.n_channels < 1:
            raise ValueError(f"n_channels must be >= 1, got {self.n_channels}")
        if self.weibull_shape <= 0 or self.weibull_scale < 0:
            raise ValueError(
                f"need weibull_shape > 0 and weibull_scale >= 0, got "
                f"{self.weibull_shape}, {self.weibull_scale}"
            )
        if not 0 < self.dirichlet_min <= self.dirichlet_max:
            raise ValueError(
                f"need 0 < dirichlet_min <= dirichlet_max, got "
                f"{self.dirichlet_min}, {self.dirichlet_max}"
            )
        KernelSynthConfig(self.max_kernels)  # validates max_kernels


def latent_bounds(n_channels: int) -> tuple[int, int]:
    """Allowed number of latents ``[max(2, C // 20), C]`` (lower bound capped at C when C < 2)."""
    return min(max(2, n_channels // 20), n_channels), n_channels


def draw_n_latents(rng: np.random.Generator, n_channels: int, config: LMCConfig) -> int:
    """``round(Weibull(shape) * scale + 1)`` clipped to :func:`latent_bounds`."""
    lo, hi = latent_bounds(n_channels)
    k = round(float(rng.weibull(config.weibull_shape)) * config.weibull_scale + 1.0)
    return int(np.clip(k, lo, hi))


def sample_lmc(
    rng: np.random.Generator,
    length: int,
    n_channels: int | None = None,
    config: LMCConfig = LMCConfig(),
) -> np.ndarray:
    """One LMC series.

    Args:
        rng: source of every draw (K, alpha, W, then the latents in order).
        length: series length T >= 1.
        n_channels: channels C; None uses ``config.n_channels``.
        config: LMC options.

    Returns:
        float64 array (C, T) ``= W @ latents`` with W (C, K) row-stochastic.
    """
    c = config.n_channels if n_channels is None else int(n_channels)
    if c < 1:
        raise ValueError(f"n_channels must be >= 1, got {c}")
    k = draw_n_latents(rng, c, config)
    alpha = float(rng.uniform(config.dirichlet_min, config.dirichlet_max))
    weights = rng.dirichlet(np.full(k, alpha), size=c)  # (C, K), rows sum to 1
    ks_config = KernelSynthConfig(config.max_kernels)
    latents = np.stack([sample_kernelsynth(rng, length, ks_config) for _ in range(k)])
    return weights @ latents
