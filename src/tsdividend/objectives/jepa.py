"""JEPA: predict the EMA encoder's latents of masked patch blocks (I-JEPA, Assran et al. 2023).

Per series row, ``num_blocks`` non-overlapping contiguous target blocks of ``int(n * ratio)``
tokens each are drawn uniformly at random (``n`` = the row's non-padded tokens; padded tokens are
never targets and never context). THE encoder (online) sees only the remaining visible tokens,
gathered with their original positions (``forward_tokens(positions=...)``). An EMA copy of it
(the target encoder) sees the full series without gradient; its outputs at the target positions,
layer-normed over features (I-JEPA's ``F.layer_norm``), are the targets. A narrow predictor of
cross-attention blocks maps positional queries to predictions; the loss is their regression
error (:func:`tsdividend.losses.latent.token_regression`), a per-row mean over its targets, then
the mean over rows.

Defaults and their sources (seed paper = Razmadze et al. 2026, section 2.4 of the reference notes):

* ``num_blocks`` 2, ``block_ratio`` 0.25: seed paper (``multi_block``); N = 21 gives 10 targets
  and 11 context tokens. I-JEPA uses 4 target blocks of 15-20% of an image.
* ``same_mask_across_channels`` True: seed paper (one mask per sample); False draws each
  channel row's blocks independently.
* Predictor: width ``d_model // 2`` when ``pred_width`` is None (I-JEPA's predictor is narrower
  than its encoder; the seed paper used 128), ``pred_depth`` 3, ``pred_heads`` 4 and MLP ratio 2
  (seed paper), pre-norm, cross-attention only: queries = a learnable mask token + a linear
  projection of the target position's sin-cos encoding, keys/values = the projected context
  outputs, no self-attention among queries (seed paper's ``JEPAPredictor``); output
  ``LayerNorm -> Linear(width -> d_model)``. No predictor dropout (I-JEPA; the seed paper: 0.1).
* ``loss`` "mse" (seed paper); "smooth_l1" is I-JEPA's choice.
* EMA ``ema_start -> 1`` on a half-cosine (seed paper; I-JEPA ramps linearly); ``ema_start``
  "auto" = the project's one EMA rule ``min(0.996, 1 - 3 / steps)`` (0.996: seed paper;
  :func:`tsdividend.schedules.auto_ema_start`, :class:`~tsdividend.objectives.ema.EMAConfig`); a
  float overrides it.
* ``var_weight`` and ``cov_weight`` 0 (off, I-JEPA style): the seed paper added VICReg terms on
  the context outputs with weights 1.0 and 0.04 (see :mod:`tsdividend.losses.latent` for the
  per-row form used here, which keeps data-parallel losses exact).

The target encoder runs in eval mode (no dropout), as in the seed paper. Downstream encoder:
the EMA target encoder (I-JEPA and the seed paper evaluate it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tsdividend.config import ConfigError, check_int
from tsdividend.encoder import Encoder
from tsdividend.encoder.layers import MLP, sincos_table
from tsdividend.losses.latent import (
    REGRESSION_KINDS,
    positional_covariance,
    positional_variance,
    token_regression,
)
from tsdividend.objectives.base import OBJECTIVES, Batch, LossOutput
from tsdividend.objectives.ema import EMAConfig, EMAObjective, ema_copy


@dataclass(frozen=True)
class JEPAConfig(EMAConfig):
    """JEPA options (defaults and sources in the module docstring; ``ema_start``/``ema_end``
    from :class:`EMAConfig`)."""

    num_blocks: int = 2
    block_ratio: float = 0.25
    same_mask_across_channels: bool = True
    pred_width: int | None = None
    pred_depth: int = 3
    pred_heads: int = 4
    pred_mlp_ratio: float = 2.0
    loss: str = "mse"
    var_weight: float = 0.0
    cov_weight: float = 0.0

    def __post_init__(self) -> None:
        for name in ("num_blocks", "pred_depth", "pred_heads"):
            check_int(name, getattr(self, name), 1)
        w = self.pred_width
        if w is not None and (isinstance(w, bool) or not isinstance(w, int) or w < 1):
            raise ConfigError(f"pred_width must be None or an int >= 1, got {self.pred_width!r}")
        if not 0.0 < self.block_ratio * self.num_blocks < 1.0:
            raise ConfigError(
                f"need 0 < num_blocks * block_ratio < 1 (some context must stay visible), got "
                f"{self.num_blocks} * {self.block_ratio!r}"
            )
        if not self.pred_mlp_ratio > 0:
            raise ConfigError(f"pred_mlp_ratio must be > 0, got {self.pred_mlp_ratio!r}")
        if self.loss not in REGRESSION_KINDS:
            raise ConfigError(f"loss {self.loss!r} unknown; valid: {list(REGRESSION_KINDS)}")
        super().__post_init__()
        for name in ("var_weight", "cov_weight"):
            if not getattr(self, name) >= 0.0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)!r}")


def block_target_mask(
    valid: Tensor, num_blocks: int, ratio: float, generator: torch.Generator, group: int = 1
) -> Tensor:
    """Non-overlapping contiguous target blocks per row, uniform over all placements.

    Each row with ``n`` valid tokens gets ``num_blocks`` blocks of ``L = int(n * ratio)``
    consecutive valid tokens. A placement is a choice of ``num_blocks`` items among
    ``n - num_blocks * L + num_blocks`` (blocks and free tokens in sequence), so sorted distinct
    draws ``u_j`` give block starts ``u_j + j * (L - 1)`` (in the order of the valid tokens).

    Args:
        valid: (R, N) bool, True = real (non-padded) token.
        num_blocks, ratio: blocks per row and their size as a fraction of ``n``.
        generator: source of the draws.
        group: consecutive rows sharing one draw (C: the same mask for all channels of a sample
            when they share their padding).

    Returns:
        (R, N) bool, True = target token (never a padded one).
    """
    r, n = valid.shape
    if r % group:
        raise ValueError(f"{r} rows are not a multiple of group={group}")
    k, dev = num_blocks, valid.device
    n_valid = valid.sum(dim=1)
    length = torch.floor(n_valid.double() * ratio).long()  # == Python's int(n * ratio)
    slots = n_valid - k * length + k  # (R,) items to choose the k block positions among
    keys = torch.rand(r // group, n + k, generator=generator, device=generator.device).to(dev)
    keys = keys.repeat_interleave(group, dim=0)
    keys = keys.masked_fill(torch.arange(n + k, device=dev) >= slots[:, None], math.inf)
    u = keys.topk(k, dim=1, largest=False).indices.sort(dim=1).values  # (R, k)
    starts = u + torch.arange(k, device=dev) * (length[:, None] - 1)
    rank = (valid.cumsum(dim=1) - 1)[:, :, None]  # (R, N, 1) index among valid tokens
    inside = (rank >= starts[:, None, :]) & (rank < (starts + length[:, None])[:, None, :])
    return inside.any(dim=-1) & valid


def gather_tokens(x: Tensor, select: Tensor, count: int) -> tuple[Tensor, Tensor, Tensor]:
    """Selected tokens of each row first, in order, padded to ``count``.

    Args:
        x: (R, N, D); select: (R, N) bool; count: >= the most selected tokens of a row.

    Returns:
        ``(tokens (R, count, D), positions (R, count) long, valid (R, count) bool)``.
    """
    order = torch.argsort((~select).to(torch.uint8), dim=1, stable=True)[:, :count]
    valid = torch.arange(count, device=x.device) < select.sum(dim=1, keepdim=True)
    return x.gather(1, order[..., None].expand(-1, -1, x.shape[-1])), order, valid


class CrossBlock(nn.Module):
    """Pre-norm ``q + CrossAttn(LN(q), LN(kv))`` then ``q + MLP(LN(q))`` (no self-attention)."""

    def __init__(self, width: int, n_heads: int, mlp_hidden: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.norm_q, self.norm_kv, self.norm_mlp = (nn.LayerNorm(width) for _ in range(3))
        self.q, self.kv, self.proj = (nn.Linear(width, width * m) for m in (1, 2, 1))
        self.mlp = MLP(width, mlp_hidden, 0.0)

    def forward(self, q: Tensor, kv: Tensor, allowed: Tensor) -> Tensor:
        """(R, T, W) queries, (R, M, W) context, (R, 1, 1, M) bool True = may attend."""
        (r, t, w), m, h = q.shape, kv.shape[1], self.n_heads
        qh = self.q(self.norm_q(q)).view(r, t, h, w // h).transpose(1, 2)
        k, v = self.kv(self.norm_kv(kv)).view(r, m, 2, h, w // h).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(qh, k, v, attn_mask=allowed)
        q = q + self.proj(y.transpose(1, 2).reshape(r, t, w))
        return q + self.mlp(self.norm_mlp(q))


class JEPAPredictor(nn.Module):
    """Positional queries cross-attend to the context outputs; (R, T, d_model) predictions."""

    pos_table: Tensor  # (max_tokens, d_model) sin-cos rows of the patch positions (a buffer)

    def __init__(self, d_model: int, cfg: JEPAConfig, max_tokens: int) -> None:
        super().__init__()
        width = cfg.pred_width or max(1, d_model // 2)
        if width % cfg.pred_heads:
            raise ConfigError(
                f"pred_width {width} must be divisible by pred_heads {cfg.pred_heads}"
            )
        self.context_proj = nn.Linear(d_model, width)
        self.pos_proj = nn.Linear(d_model, width)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, width))
        nn.init.trunc_normal_(self.mask_token, std=0.02, a=-0.04, b=0.04)
        self.register_buffer("pos_table", sincos_table(max_tokens, d_model), persistent=False)
        hidden = max(1, round(width * cfg.pred_mlp_ratio))
        self.blocks = nn.ModuleList(
            CrossBlock(width, cfg.pred_heads, hidden) for _ in range(cfg.pred_depth)
        )
        self.norm = nn.LayerNorm(width)
        self.out = nn.Linear(width, d_model)
        for lin in (mod for mod in self.modules() if isinstance(mod, nn.Linear)):
            nn.init.trunc_normal_(lin.weight, std=0.02, a=-0.04, b=0.04)  # I-JEPA's init
            nn.init.zeros_(lin.bias)

    def forward(self, context: Tensor, context_valid: Tensor, target_pos: Tensor) -> Tensor:
        """context (R, M, D), context_valid (R, M) bool, target_pos (R, T) long -> (R, T, D)."""
        kv = self.context_proj(context)
        q = self.mask_token + self.pos_proj(self.pos_table[target_pos].to(kv.dtype))
        # A row with no context (a fully padded series) may attend to slot 0 so it stays finite.
        allowed = context_valid.clone()
        allowed[:, 0] |= ~context_valid.any(dim=1)
        for block in self.blocks:
            q = block(q, kv, allowed[:, None, None, :])
        return self.out(self.norm(q))


@OBJECTIVES.register("jepa")
class JEPA(EMAObjective[JEPAConfig]):
    """I-JEPA on patch tokens; :meth:`downstream_encoder` is the EMA target encoder."""

    config_cls = JEPAConfig
    ema_pairs = (("target_encoder", "encoder"),)

    def __init__(self, encoder: Encoder, config: JEPAConfig) -> None:
        super().__init__(encoder, config)
        self.predictor = JEPAPredictor(encoder.config.d_model, config, encoder.max_tokens)
        self.target_encoder = ema_copy(encoder)
        self.train()

    def predict(self, batch: Batch) -> dict[str, Tensor]:
        """Masks, context outputs, predictions and targets of one batch (what the loss uses).

        Returns:
            dict with ``target_mask`` (R, N) bool, ``context`` (R, M, D) and ``context_valid``
            (R, M), ``prediction`` and ``target`` (R, T, D), ``target_valid`` (R, T) bool.
        """
        cfg, enc = self.config, self.encoder
        tb = enc.tokenize(batch.x, batch.mask)
        n = tb.tokens.shape[1]
        if int(n * cfg.block_ratio) < 1:
            raise ValueError(
                f"{n} tokens give empty target blocks at block_ratio={cfg.block_ratio}; need "
                f">= {math.ceil(1 / cfg.block_ratio)} tokens (longer series or larger ratio)"
            )
        valid = ~tb.padding
        group = tb.n_channels if cfg.same_mask_across_channels else 1
        target = block_target_mask(valid, cfg.num_blocks, cfg.block_ratio, batch.generator, group)
        context = valid & ~target
        m, t = torch.stack([context.sum(1).max(), target.sum(1).max()]).tolist()  # one sync
        ctx_tokens, ctx_pos, ctx_valid = gather_tokens(tb.tokens, context, max(m, 1))
        ctx_out = enc.forward_tokens(
            ctx_tokens, key_padding_mask=~ctx_valid, positions=ctx_pos, keep_cls=False
        )
        t = max(t, 1)
        with torch.no_grad():
            full = self.target_encoder.tokens(batch.x, batch.mask).float()
            full = F.layer_norm(full, full.shape[-1:])
            tgt, tgt_pos, tgt_valid = gather_tokens(full, target, t)
        return {
            "target_mask": target,
            "context": ctx_out,
            "context_valid": ctx_valid,
            "prediction": self.predictor(ctx_out, ctx_valid, tgt_pos),
            "target": tgt,
            "target_valid": tgt_valid,
        }

    def forward(self, batch: Batch) -> LossOutput:
        cfg = self.config
        out = self.predict(batch)
        pred_loss = token_regression(
            out["prediction"], out["target"], out["target_valid"], cfg.loss
        ).mean()
        loss, logs = pred_loss, {"prediction": pred_loss.detach()}
        if cfg.var_weight > 0:
            var = positional_variance(out["context"], out["context_valid"]).mean()
            loss, logs["variance"] = loss + cfg.var_weight * var, var.detach()
        if cfg.cov_weight > 0:
            cov = positional_covariance(out["context"], out["context_valid"]).mean()
            loss, logs["covariance"] = loss + cfg.cov_weight * cov, cov.detach()
        return LossOutput(loss, logs)

    @torch.no_grad()
    def downstream_encoder(self) -> Encoder:
        """The EMA target encoder."""
        return self.target_encoder

    @classmethod
    def tiny_config(cls) -> JEPAConfig:
        """One predictor block, 2 heads, for CPU tests."""
        return JEPAConfig(pred_depth=1, pred_heads=2)
