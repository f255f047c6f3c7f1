"""BYOL: bootstrap your own latent (Grill et al. 2020), as NuTime pretrains (Lin et al. 2024).

Two views of each series go through the online network (THE encoder -> pooled embedding ->
projector -> predictor) and through the target network (an EMA copy of encoder + projector,
no gradient). Each online prediction regresses the other view's target projection:

    loss = mean_n [ (2 - 2 cos(p_1, sg(z'_2))) + (2 - 2 cos(p_2, sg(z'_1))) ]

(:func:`tsdividend.losses.similarity.normalized_mse`). Samples are channel rows (B*C).

Defaults and their sources:

* Projector ``d -> 4096 -> 256`` and predictor ``256 -> 4096 -> 256``: BYOL and NuTime
  (hidden = 16 x out_dim).
* Target EMA ``ema_start -> 1`` on a half-cosine per step; ``ema_start`` "auto" = the
  project's one EMA rule ``min(0.996, 1 - 3 / steps)`` (0.996: BYOL's base; NuTime: 0.999;
  :func:`tsdividend.schedules.auto_ema_start`, :class:`~tsdividend.objectives.ema.EMAConfig`); a
  float overrides it.
* Views ``("rrc", "rrc")``: NuTime's only augmentation, random resized crop of 0.8..1.0 of the
  length, resized back (here to the input length; NuTime to 512). Any registered view names may
  be given instead, e.g. ``("dwt_soft", "dwt_perturb")``.

Deviations from the reference code:

* LayerNorm instead of BatchNorm in projector and predictor, so the loss is an exact per-sample
  mean and data-parallel ranks reproduce the single-process loss; BYOL trains without batch
  statistics (Richemond et al. 2020, arXiv 2010.10241).
* Representation (``representation="mean"``): THE pooling rule per channel row (mean of the
  non-padded token outputs) rather than NuTime's CLS token (``"cls"``, an option), so the vector
  BYOL trains is exactly the one every downstream task reads, and because THE encoder's CLS
  output starts nearly constant across series (see :mod:`tsdividend.objectives.dino`).
* Scale: NuTime's ``nn.MSELoss`` on the unit vectors equals ``(2 - 2 cos) / 256`` per pair; we
  use BYOL's unscaled ``2 - 2 cos`` (256x NuTime's value; with AdamW only the gradient clipping
  and the loss's printed value see the difference).
* The EMA update happens in :meth:`on_after_step`, on the real module (NuTime updates inside
  ``forward``, which does not reach the master weights under ``DataParallel``); the target runs
  in eval mode (no dropout).
* Downstream encoder: the EMA target's encoder (BYOL and NuTime evaluate the online network;
  the project's rule is one documented encoder per objective, the EMA one where there is one).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from tsdividend.augment import make_view
from tsdividend.augment.views import VIEWS
from tsdividend.config import ConfigError, check_int
from tsdividend.encoder import Encoder
from tsdividend.encoder.pooling import check_representation, row_embedding
from tsdividend.losses.similarity import normalized_mse
from tsdividend.objectives.base import OBJECTIVES, Batch, LossOutput
from tsdividend.objectives.ema import EMAConfig, EMAObjective, ema_copy
from tsdividend.objectives.heads import mlp


@dataclass(frozen=True)
class BYOLConfig(EMAConfig):
    """BYOL options (defaults and sources in the module docstring; ``ema_start``/``ema_end``
    from :class:`EMAConfig`)."""

    projector_hidden: int = 4096
    projector_dim: int = 256
    predictor_hidden: int = 4096
    views: tuple[str, str] = ("rrc", "rrc")
    representation: str = "mean"

    def __post_init__(self) -> None:
        check_representation(self.representation)
        for name in ("projector_hidden", "projector_dim", "predictor_hidden"):
            check_int(name, getattr(self, name), 1)
        super().__post_init__()
        object.__setattr__(self, "views", tuple(self.views))  # TOML gives a list
        if len(self.views) != 2:
            raise ConfigError(f"views must name exactly 2 views, got {list(self.views)}")
        for view in self.views:
            if view not in VIEWS.names():
                raise ConfigError(f"view {view!r} unknown; valid: {VIEWS.names()}")


@OBJECTIVES.register("byol")
class BYOL(EMAObjective[BYOLConfig]):
    """BYOL on THE encoder; :meth:`downstream_encoder` is the EMA target's encoder."""

    config_cls = BYOLConfig
    ema_pairs = (("target_encoder", "encoder"), ("target_projector", "projector"))

    def __init__(self, encoder: Encoder, config: BYOLConfig) -> None:
        super().__init__(encoder, config)
        c = config
        d = encoder.config.d_model
        self.projector = mlp((d, c.projector_hidden, c.projector_dim), norm="layer")
        self.predictor = mlp((c.projector_dim, c.predictor_hidden, c.projector_dim), norm="layer")
        self.target_encoder = ema_copy(encoder)
        self.target_projector = ema_copy(self.projector)
        self.view_fns = tuple(make_view(v) for v in c.views)
        self.train()

    def _project(
        self, xs: list[Tensor], ms: list[Tensor | None], online: bool
    ) -> tuple[Tensor, Tensor]:
        """Views 1 and 2 -> (B*C, projector_dim) online predictions or target projections (one
        encoder call when the views have the same length)."""
        enc, proj = (
            (self.encoder, self.projector)
            if online
            else (self.target_encoder, self.target_projector)
        )
        if xs[0].shape == xs[1].shape:
            m1, m2 = ms
            mask = None if m1 is None or m2 is None else torch.cat([m1, m2])
            z1, z2 = proj(
                row_embedding(enc, torch.cat(xs), mask, self.config.representation)
            ).chunk(2)
        else:
            z1, z2 = (
                proj(row_embedding(enc, x, m, self.config.representation))
                for x, m in zip(xs, ms, strict=True)
            )
        return (self.predictor(z1), self.predictor(z2)) if online else (z1, z2)

    def forward(self, batch: Batch) -> LossOutput:
        views = [v(batch.x, generator=batch.generator, mask=batch.mask) for v in self.view_fns]
        xs, ms = [v[0] for v in views], [v[1] for v in views]
        p1, p2 = self._project(xs, ms, online=True)
        with torch.no_grad():
            z1, z2 = self._project(xs, ms, online=False)
        loss = (normalized_mse(p1, z2) + normalized_mse(p2, z1)).mean()
        # collapse diagnostic: per-dimension std of the unit target projections (~1/sqrt(dim))
        z_std = F.normalize(z1.float(), dim=-1).std(dim=0).mean()
        return LossOutput(loss, {"byol": loss.detach(), "target_std": z_std.detach()})

    @torch.no_grad()
    def downstream_encoder(self) -> Encoder:
        """The EMA target's encoder."""
        return self.target_encoder

    @classmethod
    def tiny_config(cls) -> BYOLConfig:
        """Small heads (hidden 64, output 32) for CPU tests."""
        return BYOLConfig(projector_hidden=64, projector_dim=32, predictor_hidden=64)
