"""DINO: self-distillation with no labels (Caron et al. 2021) as the seed paper's "wavelet DINO".

The student (THE encoder + a DINO head) sees a DWT high-perturb view (and optional short local
crops); the teacher (an EMA copy of encoder + head) sees the DWT soft-threshold view of the same
series. One representation per channel row (B*C rows) goes through the head; the loss is
:func:`tsdividend.losses.distillation.dino_loss` over every (teacher view, student view) pair.
Views are made in units of each series' own std
(:func:`~tsdividend.objectives.scaling.scaled_view`): the DWT detail noise assumes z-normalised
inputs, which real windows are not (issue 9).

Defaults and their sources:

* Head ``d -> 2048 -> 2048 -> 256`` (GELU, no BatchNorm), L2-normalise, ``K = 1024`` prototypes
  with unit-norm rows (``norm_last_layer=True``): DINO, and the seed paper's TSDiNO head
  (``out_dim`` 1024; DINO itself uses 65 536).
* ``student_temp`` 0.1, ``teacher_temp`` 0.04 (no warm-up), ``center_momentum`` 0.9: DINO and the
  seed paper.
* Teacher EMA ``ema_start -> 1`` on a half-cosine per step; ``ema_start`` "auto" = the
  project's one EMA rule ``min(0.996, 1 - 3 / steps)`` (0.996: DINO; the seed paper used 0.9995;
  :func:`tsdividend.schedules.auto_ema_start`, :class:`~tsdividend.objectives.ema.EMAConfig`); a
  float overrides it.
* ``freeze_last_layer_steps`` 50: DINO and the seed paper freeze the prototypes for the first
  epoch (1 of 20 epochs in the seed paper = 5%); 50 steps is 5% of the trainer's 1000 default.
* Views ``dwt_soft`` (teacher) and ``dwt_perturb`` (student): the seed paper's "DWT 1 vs 1"
  setting, where the student's copy of the global crop is skipped, so one pair remains.
* ``n_local_crops`` 0 (off, as in the seed paper): when > 0, each adds a student-only view: a
  random crop of ``local_crop_scale`` of the valid length, resized to ``round(hi * T)`` steps
  (the encoder takes any length), then the student view. DINO uses (0.05, 0.4) of the area.

Deviation: representation. The seed paper (and the brief) use the CLS output; here the default
is ``representation="mean"``, THE pooling rule per channel row (mean of the non-padded token
outputs), and ``"cls"`` is an option. Why: on THE encoder (pre-LN, sin-cos positions whose CLS row
is a constant of norm ~sqrt(D/2), GPT-2-scaled residual init) the CLS output at init is almost the
same for every series (per-sample deviation 0.3% of its norm at D=32, 1.1% at the reference
D=128/depth 8; mean-pooled tokens: ~47%), so the centred teacher is uniform from the first steps
and DINO collapses to the uniform solution and stays there. Measured (reference encoder,
KernelSynth batches of 32, AdamW 5e-4, 400 steps): CLS loss 6.93 = log 1024 flat from step 40;
mean: 6.92 at step 40 falling to ~4.7-5.2 by step 400; RankMe of the teacher's pooled embedding
after 300 steps: cls 11.2, mean 15.1, random init 11.4. The seed paper's DINO backbone (post-norm
BatchNorm, learned positions) did not have this problem. "mean" also trains exactly the vector
that every downstream task reads.

Implementation choices:

* Prototypes: the weight rows are L2-normalised in ``forward`` (``F.linear(z, normalize(W))``),
  which equals ``weight_norm`` with its magnitude frozen at 1 and needs no frozen parameter or
  parametrisation (deep copies and state dicts stay plain). Decoupled weight decay only rescales
  the raw rows, which the normalisation ignores.
* Freezing the last layer: while ``batch.step < freeze_last_layer_steps`` the prototypes enter
  the graph as ``W.detach() + 0 * W``: the forward value is W and the gradient is exactly zero,
  so the parameter still gets a (zero) gradient, DDP sees it used, and AdamW (zero moments) does
  not move its direction. DINO instead sets ``p.grad = None`` after backward.
* The teacher always runs in eval mode (no dropout), under ``no_grad``; the centre is updated in
  :meth:`on_after_step` from the teacher scores of every micro-batch since the last step,
  all-reduced (sum and count) across ranks, so it equals the single-process global-batch mean.
* Downstream encoder: the EMA teacher (DINO evaluates the teacher; the seed paper used the
  teacher for forecasting/anomaly but the student for classification; we use one).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

from tsdividend.augment import RandomResizedCrop, make_view
from tsdividend.augment.views import VIEWS
from tsdividend.config import ConfigError, check_int
from tsdividend.encoder import Encoder
from tsdividend.encoder.pooling import check_representation, row_embedding
from tsdividend.losses.distillation import dino_loss, update_center
from tsdividend.objectives.base import OBJECTIVES, Batch, LossOutput
from tsdividend.objectives.ema import EMAConfig, EMAObjective, ema_copy
from tsdividend.objectives.heads import mlp
from tsdividend.objectives.scaling import scaled_view


@dataclass(frozen=True)
class DINOConfig(EMAConfig):
    """DINO options (defaults and sources in the module docstring; ``ema_start``/``ema_end``
    from :class:`EMAConfig`)."""

    head_hidden: int = 2048
    bottleneck: int = 256
    n_prototypes: int = 1024
    student_temp: float = 0.1
    teacher_temp: float = 0.04
    center_momentum: float = 0.9
    freeze_last_layer_steps: int = 50
    teacher_view: str = "dwt_soft"
    student_view: str = "dwt_perturb"
    n_local_crops: int = 0
    local_crop_scale: tuple[float, float] = (0.3, 0.5)
    representation: str = "mean"

    def __post_init__(self) -> None:
        check_representation(self.representation)
        for name, low in (("head_hidden", 1), ("bottleneck", 1), ("n_prototypes", 1)):
            check_int(name, getattr(self, name), low)
        check_int("freeze_last_layer_steps", self.freeze_last_layer_steps, 0)
        check_int("n_local_crops", self.n_local_crops, 0)
        for name in ("student_temp", "teacher_temp"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if not 0.0 <= self.center_momentum <= 1.0:
            raise ConfigError(f"center_momentum must be in [0, 1], got {self.center_momentum!r}")
        super().__post_init__()
        for name in ("teacher_view", "student_view"):
            if getattr(self, name) not in VIEWS.names():
                raise ConfigError(f"{name} {getattr(self, name)!r} unknown; valid: {VIEWS.names()}")
        scale = tuple(self.local_crop_scale)  # TOML gives a list
        object.__setattr__(self, "local_crop_scale", scale)
        if len(scale) != 2 or not 0.0 < scale[0] <= scale[1] <= 1.0:
            raise ConfigError(f"local_crop_scale must be (lo, hi), 0 < lo <= hi <= 1, got {scale}")


class DINOHead(nn.Module):
    """MLP -> L2-normalise -> cosine scores against K unit-norm prototypes.

    Args:
        dim: input width D; hidden: MLP hidden width; bottleneck: MLP output width;
        n_prototypes: K.
    """

    def __init__(self, dim: int, hidden: int, bottleneck: int, n_prototypes: int) -> None:
        super().__init__()
        self.mlp = mlp((dim, hidden, hidden, bottleneck))
        self.prototypes = nn.Parameter(torch.empty(n_prototypes, bottleneck))
        for lin in [m for m in self.mlp if isinstance(m, nn.Linear)]:
            nn.init.trunc_normal_(lin.weight, std=0.02, a=-0.04, b=0.04)  # DINO's head init
            nn.init.zeros_(lin.bias)
        nn.init.trunc_normal_(self.prototypes, std=0.02, a=-0.04, b=0.04)

    def forward(self, x: Tensor, freeze_prototypes: bool = False) -> Tensor:
        """(N, D) -> (N, K) scores in [-1, 1]; ``freeze_prototypes`` zeroes their gradient."""
        z = F.normalize(self.mlp(x), dim=-1)
        w: Tensor = self.prototypes
        if freeze_prototypes:
            w = w.detach() + 0.0 * w  # same value, zero gradient, still used (see module doc)
        return F.linear(z, F.normalize(w, dim=-1).to(z.dtype))


@OBJECTIVES.register("dino")
class DINO(EMAObjective[DINOConfig]):
    """Wavelet DINO on THE encoder; :meth:`downstream_encoder` is the EMA teacher's encoder."""

    config_cls = DINOConfig
    center: Tensor  # (K,) running mean of the teacher scores (a buffer, see on_after_step)
    ema_pairs = (("teacher_encoder", "encoder"), ("teacher_head", "head"))

    def __init__(self, encoder: Encoder, config: DINOConfig) -> None:
        super().__init__(encoder, config)
        c = config
        self.head = DINOHead(encoder.config.d_model, c.head_hidden, c.bottleneck, c.n_prototypes)
        self.teacher_encoder = ema_copy(encoder)
        self.teacher_head = ema_copy(self.head)
        self.register_buffer("center", torch.zeros(c.n_prototypes))
        self.teacher_view = make_view(c.teacher_view)
        self.student_view = make_view(c.student_view)
        self._pending_sum: Tensor | None = None  # teacher scores summed since the last step
        self._pending_count = 0
        self.train()

    def _local_crops(self, x: Tensor, mask: Tensor, g: torch.Generator) -> tuple[Tensor, Tensor]:
        """(n_local_crops * B, C, L) crops, crop-major, each then given the student view."""
        n, (lo, hi) = self.config.n_local_crops, self.config.local_crop_scale
        crop = RandomResizedCrop(scale=(lo, hi), out_length=max(1, round(hi * x.shape[-1])))
        xc, mc = crop(x.repeat(n, 1, 1), generator=g, mask=mask.repeat(n, 1, 1))
        assert mc is not None  # the crop returns a mask whenever it is given one
        return scaled_view(self.student_view, xc, mc, g)

    def forward(self, batch: Batch) -> LossOutput:
        cfg, g = self.config, batch.generator
        # views in units of each series' std (their noise amounts assume z-normalised inputs)
        x_t, m_t = scaled_view(self.teacher_view, batch.x, batch.mask, g)
        x_s, m_s = scaled_view(self.student_view, batch.x, batch.mask, g)
        freeze = batch.step < cfg.freeze_last_layer_steps
        student = [self.head(row_embedding(self.encoder, x_s, m_s, cfg.representation), freeze)]
        if cfg.n_local_crops:
            x_l, m_l = self._local_crops(batch.x, batch.mask, g)
            local = self.head(row_embedding(self.encoder, x_l, m_l, cfg.representation), freeze)
            student += list(local.reshape(cfg.n_local_crops, -1, local.shape[-1]))
        with torch.no_grad():
            teacher = self.teacher_head(
                row_embedding(self.teacher_encoder, x_t, m_t, cfg.representation)
            )[None]
        teacher = teacher.float()
        loss = dino_loss(
            torch.stack(student), teacher, self.center, cfg.student_temp, cfg.teacher_temp
        )
        if self.training:  # accumulate for the centre update in on_after_step
            batch_sum = teacher.sum(dim=(0, 1))
            self._pending_sum = (
                batch_sum if self._pending_sum is None else self._pending_sum + batch_sum
            )
            self._pending_count += teacher.shape[0] * teacher.shape[1]
        probs = F.softmax((teacher[0] - self.center) / cfg.teacher_temp, dim=-1)
        entropy = torch.special.entr(probs).sum(dim=-1).mean()
        return LossOutput(loss, {"dino_ce": loss.detach(), "teacher_entropy": entropy.detach()})

    @torch.no_grad()
    def on_after_step(self, step: int, total_steps: int) -> None:
        """EMA-update the teacher (encoder + head) and the centre (all-reduced across ranks)."""
        super().on_after_step(step, total_steps)
        if self._pending_sum is None:
            return
        count = self._pending_sum.new_tensor([float(self._pending_count)])
        stats = torch.cat([self._pending_sum, count])
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            dist.all_reduce(stats)
        self.center.copy_(
            update_center(self.center, stats[:-1] / stats[-1], self.config.center_momentum)
        )
        self._pending_sum, self._pending_count = None, 0

    def downstream_encoder(self) -> Encoder:
        """The EMA teacher's encoder."""
        return self.teacher_encoder

    @classmethod
    def tiny_config(cls) -> DINOConfig:
        """Small head (hidden 64, bottleneck 16, K 32) for CPU tests."""
        return DINOConfig(head_hidden=64, bottleneck=16, n_prototypes=32)
