"""Hybrid: a generative and a latent objective on ONE encoder, weighted by alpha.

The seed paper (Razmadze et al. 2026) reads its results as a precision-invariance trade-off:
generative objectives keep the fine detail forecasting needs, latent objectives with DWT
invariance help classification and anomaly detection; it proposes combining them as future work
(its post-paper code tried LeJEPA + NTP). Here the two parts are the existing objectives, built on
the same encoder, and the loss is

    alpha * L_generative + (1 - alpha) * L_latent,

default MAE (40% masked patches) + LeJEPA (DWT views, SIGReg), alpha = 0.5. Both parts draw
their randomness from the same per-step generators, in a fixed order (generative first), so the
hybrid stays deterministic and resumable. Downstream encoder: the shared encoder (neither part has
an EMA target).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tsdividend.config import ConfigError
from tsdividend.encoder import Encoder
from tsdividend.objectives.base import OBJECTIVES, Batch, LossOutput, Objective
from tsdividend.objectives.lejepa import LeJEPA, LeJEPAConfig
from tsdividend.objectives.mae import MAEConfig, MAEObjective


@dataclass(frozen=True)
class HybridConfig:
    """Options of :class:`Hybrid`.

    Attributes:
        alpha: weight of the generative part, in [0, 1] (1 = pure MAE, 0 = pure LeJEPA).
        generative: the MAE part's options.
        latent: the LeJEPA part's options.
    """

    alpha: float = 0.5
    generative: MAEConfig = field(default_factory=MAEConfig)
    latent: LeJEPAConfig = field(default_factory=LeJEPAConfig)

    def __post_init__(self) -> None:
        a = self.alpha
        if isinstance(a, bool) or not isinstance(a, (int, float)) or not 0.0 <= a <= 1.0:
            raise ConfigError(f"alpha must be a number in [0, 1], got {a!r}")
        object.__setattr__(self, "alpha", float(a))


@OBJECTIVES.register("hybrid")
class Hybrid(Objective[HybridConfig]):
    """MAE + LeJEPA on one encoder, ``alpha * mae + (1 - alpha) * lejepa``."""

    config_cls = HybridConfig

    def __init__(self, encoder: Encoder, config: HybridConfig) -> None:
        super().__init__(encoder, config)
        self.generative = MAEObjective(encoder, config.generative)
        self.latent = LeJEPA(encoder, config.latent)

    def forward(self, batch: Batch) -> LossOutput:
        gen = self.generative(batch)
        lat = self.latent(batch)
        a = self.config.alpha
        loss = a * gen.loss.float() + (1.0 - a) * lat.loss.float()
        logs = {"generative": gen.loss.detach(), "latent": lat.loss.detach()}
        logs.update({f"generative/{k}": v for k, v in gen.logs.items()})
        logs.update({f"latent/{k}": v for k, v in lat.logs.items()})
        return LossOutput(loss, logs)

    def on_after_step(self, step: int, total_steps: int) -> None:
        self.generative.on_after_step(step, total_steps)
        self.latent.on_after_step(step, total_steps)

    @classmethod
    def tiny_config(cls) -> HybridConfig:
        return HybridConfig(generative=MAEObjective.tiny_config(), latent=LeJEPA.tiny_config())
