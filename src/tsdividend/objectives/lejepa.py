"""LeJEPA: view invariance + SIGReg on THE encoder (Balestriero & LeCun 2025, arXiv 2511.08544).

Each series gets V augmented views; every view goes through the encoder (all views in one call),
is pooled per channel row by THE pooling rule (masked token mean, :mod:`tsdividend.encoder.pooling`)
and projected by a small MLP to ``z`` (V, B*C, proj_dim). Loss, with λ = ``sigreg_weight``:

    (1 - λ) * invariance(z) + λ * mean_v SIGReg(z_v)

(:mod:`tsdividend.losses.multiview`). No predictor, no EMA, no stop-gradient.

Defaults and their sources:

* ``views`` ("lejepa_soft", "lejepa_perturb"), V = 2: the seed paper (Razmadze et al. 2026,
  section 2.5): jitter, amplitude scale and FFT band mask, then the DWT soft-threshold view or the
  DWT high-perturb view, each step with p = 0.5 per sample (the reference flipped one coin per
  batch). Any list of >= 2 names of :data:`tsdividend.augment.VIEWS` (same length out) works;
  the official recipe uses V = 4. Views are made in units of each series' own std
  (:func:`~tsdividend.objectives.scaling.scaled_view`): their noise amounts assume z-normalised
  inputs, which real windows are not (issue 9).
* ``sigreg_weight`` λ = 0.02 (official minimal recipe, rbalestr-lab/lejepa ``MINIMAL.md``; the seed
  paper used 0.008).
* ``num_slices`` K = 256 directions, resampled every step from ``batch.shared_generator`` (same on
  every rank), shared by all views; ``t_max`` 3 and ``n_knots`` 17: minimal recipe.
* ``invariance_reduction`` "mean": the minimal recipe's ``(z.mean(0) - z).square().mean()``
  (squared distance averaged over features), the scale at which λ = 0.02 was tuned; "sum" is the
  paper's squared L2 norm.
* Projector ``d -> 512 -> 512 -> 16`` with LayerNorm + GELU: the minimal recipe's
  ``MLP(512, [2048, 2048, 16])`` scaled to a 4x hidden ratio of d_model = 128, with LayerNorm in
  place of BatchNorm so the loss stays an exact per-sample mean under data parallelism.

Which embedding SIGReg and the invariance act on: the pooled per-channel embedding (the vector
downstream tasks use, one per (sample, channel) row, N = B*C samples) through the projector, as in
the official recipe, not per token as in the seed paper. Pooled: the theory asks the embedding
used downstream to be isotropic Gaussian over *samples*; tokens of one series are strongly
correlated, so per-token SIGReg counts them as independent samples and constrains within-series
structure instead. Projector: the official recipe regularises a low-dimensional projection and
evaluates the backbone features; ``projector=False`` applies both terms to the pooled embedding
directly. Downstream encoder: the encoder itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from tsdividend.augment import make_view
from tsdividend.augment.views import VIEWS
from tsdividend.config import ConfigError, check_int
from tsdividend.encoder import Encoder
from tsdividend.encoder.pooling import masked_token_mean
from tsdividend.losses.multiview import REDUCTIONS, sigreg_per_view, view_invariance
from tsdividend.losses.sigreg import random_directions
from tsdividend.objectives.base import OBJECTIVES, Batch, LossOutput, Objective
from tsdividend.objectives.heads import mlp
from tsdividend.objectives.scaling import scaled_view


@dataclass(frozen=True)
class LeJEPAConfig:
    """LeJEPA options (defaults and sources in the module docstring)."""

    views: tuple[str, ...] = ("lejepa_soft", "lejepa_perturb")
    sigreg_weight: float = 0.02
    num_slices: int = 256
    t_max: float = 3.0
    n_knots: int = 17
    invariance_reduction: str = "mean"
    projector: bool = True
    proj_hidden: int = 512
    proj_dim: int = 16

    def __post_init__(self) -> None:
        views = tuple(self.views) if isinstance(self.views, (list, tuple)) else None
        if views is None or len(views) < 2:
            raise ConfigError(f"views must list >= 2 view names, got {self.views!r}")
        object.__setattr__(self, "views", views)
        for name in views:
            if name not in VIEWS:
                raise ConfigError(f"view {name!r} unknown; valid: {VIEWS.names()}")
        if not 0.0 <= self.sigreg_weight <= 1.0:
            raise ConfigError(f"sigreg_weight must be in [0, 1], got {self.sigreg_weight!r}")
        for name, low in (("num_slices", 1), ("n_knots", 2), ("proj_hidden", 1), ("proj_dim", 1)):
            check_int(name, getattr(self, name), low)
        if not self.t_max > 0:
            raise ConfigError(f"t_max must be > 0, got {self.t_max!r}")
        if self.invariance_reduction not in REDUCTIONS:
            raise ConfigError(
                f"invariance_reduction {self.invariance_reduction!r} unknown; valid: "
                f"{list(REDUCTIONS)}"
            )
        if not isinstance(self.projector, bool):
            raise ConfigError(f"projector must be a bool, got {self.projector!r}")


@OBJECTIVES.register("lejepa")
class LeJEPA(Objective[LeJEPAConfig]):
    """LeJEPA on pooled, projected view embeddings; :meth:`downstream_encoder` is the encoder."""

    config_cls = LeJEPAConfig

    def __init__(self, encoder: Encoder, config: LeJEPAConfig) -> None:
        super().__init__(encoder, config)
        d = encoder.config.d_model
        self.projector: nn.Module = nn.Identity()
        if config.projector:
            dims = (d, config.proj_hidden, config.proj_hidden, config.proj_dim)
            self.projector = mlp(dims, norm="layer")
        self.embedding_dim = config.proj_dim if config.projector else d
        self.view_fns = [make_view(name) for name in config.views]

    def slice_directions(self, batch: Batch) -> Tensor:
        """(embedding_dim, num_slices) unit directions from ``batch.shared_generator`` only."""
        return random_directions(self.embedding_dim, self.config.num_slices, batch.shared_generator)

    def view_embeddings(self, batch: Batch) -> Tensor:
        """(V, B*C, embedding_dim) projected pooled embeddings of the V views.

        Views are drawn in config order from ``batch.generator`` and encoded in one call (the
        view pipelines run with autocast off).
        """
        xs, masks = [], []
        for view in self.view_fns:
            # in units of each series' std: the views' noise amounts assume z-normalised inputs
            xv, mv = scaled_view(view, batch.x, batch.mask, batch.generator)
            xs.append(xv)
            masks.append(batch.mask if mv is None else mv)
        if len({x.shape for x in xs}) != 1:
            raise ValueError(
                f"views {list(self.config.views)} give shapes {[tuple(x.shape) for x in xs]}; "
                "all views must keep one shape"
            )
        tb = self.encoder.tokenize(torch.cat(xs), torch.cat(masks))
        out = self.encoder.forward_tokens(tb.tokens, key_padding_mask=tb.padding, keep_cls=False)
        pooled = masked_token_mean(out, tb.padding)  # (V*B*C, D)
        return self.projector(pooled).reshape(len(xs), -1, self.embedding_dim)

    def forward(self, batch: Batch) -> LossOutput:
        cfg = self.config
        z = self.view_embeddings(batch).float()
        invariance = view_invariance(z, cfg.invariance_reduction).mean()
        sig = sigreg_per_view(z, self.slice_directions(batch), cfg.t_max, cfg.n_knots)
        loss = (1.0 - cfg.sigreg_weight) * invariance + cfg.sigreg_weight * sig
        return LossOutput(loss, {"invariance": invariance.detach(), "sigreg": sig.detach()})

    @classmethod
    def tiny_config(cls) -> LeJEPAConfig:
        """32 slices, projector 32 -> 32 -> 8, for CPU tests."""
        return LeJEPAConfig(num_slices=32, proj_hidden=32, proj_dim=8)
