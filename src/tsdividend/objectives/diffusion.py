"""Diffusion: TimeDART-style autoregressive denoising of patches (TimeDART, Wang et al. 2024;
seed paper, ``TimeDART-main/models/TimeDART.py``).

The causal encoder runs over the clean tokens shifted right (a learnable SOS token prepended, the
last token dropped), so its output ``j`` has seen clean patches ``< j`` only. Each normalised patch
is noised independently, ``x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps`` with its own timestep
``t``; a light decoder embeds the noisy patch (+ timestep embedding + position), fuses encoder
output ``j`` into query ``j`` only, and predicts the clean patch ``x0``; MSE over observed values
(exact per-series mean, see :func:`~tsdividend.losses.reconstruction.masked_mse`).

Defaults and their sources:

* Cosine schedule, ``cosine_s`` 0.008, ``timesteps`` T = 1000 (Nichol & Dhariwal 2021; TimeDART):
  ``abar(t) = f(t) / f(0)``, ``f(t) = cos((t / T + s) / (1 + s) * pi / 2)**2``, betas
  ``1 - abar(t) / abar(t - 1)`` clipped to [0, 0.999], then ``abar_t = prod(1 - beta)``; timesteps
  drawn uniformly in ``{0, ..., T - 1}`` per patch (index ``t`` = noise after ``t + 1`` steps, as in
  TimeDART's ``Diffusion``).
* x0-prediction (TimeDART's loss is MSE to the clean input, not to eps).
* ``decoder_depth`` 1 (TimeDART's ``d_layers``), decoder MLP width = the encoder's, ``dropout``
  0.1 (TimeDART's).

Deviations from the reference code, and why:

* Self-only attention, computed per position: TimeDART's decoder masks its cross-attention so query
  ``j`` sees only encoder output ``j``. A softmax over one key is 1, so that attention equals
  ``out_proj(v_proj(enc_j))`` whatever the query: we compute it as one ``Linear(D, D)`` (the
  product of two DxD maps spans the same maps) in O(N) instead of an N x N masked attention, and
  drop its query/key projections, which cannot change the output. The decoder's self-attention
  (self-only as well, commented out in the paper's final code) would only add a linear map of the
  query to itself, absorbed by the block's residual MLP, so it is left out.
* Timestep embedding: TimeDART draws ``t`` but never gives it to the decoder; here sinusoidal(t)
  -> MLP is added to the noisy-patch embedding (standard DDPM/DiT conditioning), since without it
  the decoder cannot know how much to trust the noisy input.
* Noisy patches get the decoder's own ``Linear(P -> D)``: TimeDART reuses the encoder's patch
  embedding, but our tokenizers are not plain linear maps (instance norm, NME) and would
  re-normalise the noisy values. A per-patch ``LayerNorm -> Linear(D -> P)`` head replaces
  TimeDART's flatten head (which ties pretraining to one series length). Noise is added to
  observed steps only; unobserved steps stay 0.
* Leak note (shared with TimeDART's instance norm): the patch tokenizer normalises with the whole
  window's statistics, so encoder output ``j`` sees clean patches ``< j`` scaled by statistics that
  include later patches. The NuTime tokenizer has no such leak (each window embeds its own values).

Downstream: the online encoder, bidirectional by default (``Encoder.embed``), as TimeDART
fine-tunes without the causal mask, although it was pretrained causally.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tsdividend.config import ConfigError, check_int
from tsdividend.encoder import MLP, Encoder, sincos_table
from tsdividend.losses.reconstruction import masked_mse
from tsdividend.objectives.base import OBJECTIVES, Batch, LossOutput, Objective
from tsdividend.objectives.heads import mlp, patch_decoder
from tsdividend.tokenizer import Patches

MAX_BETA = 0.999  # Nichol & Dhariwal 2021 clip betas to avoid a singularity at t = T


@dataclass(frozen=True)
class DiffusionConfig:
    """Options of :class:`DiffusionObjective` (sources in the module docstring).

    Attributes:
        timesteps: T >= 1 diffusion steps.
        cosine_s: offset s > 0 of the cosine schedule.
        decoder_depth: denoising blocks >= 1.
        dropout: decoder dropout in [0, 1).
    """

    timesteps: int = 1000
    cosine_s: float = 0.008
    decoder_depth: int = 1
    dropout: float = 0.1

    def __post_init__(self) -> None:
        for name in ("timesteps", "decoder_depth"):
            check_int(name, getattr(self, name), 1)
        for name, ok, span in (
            ("cosine_s", lambda v: v > 0, "> 0"),
            ("dropout", lambda v: 0 <= v < 1, "in [0, 1)"),
        ):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not ok(v):
                raise ConfigError(f"{name} must be a number {span}, got {v!r}")
            object.__setattr__(self, name, float(v))


def cosine_alpha_bar(timesteps: int, s: float = 0.008) -> Tensor:
    """Cumulative signal fractions ``abar_t`` of the cosine schedule (Nichol & Dhariwal 2021).

    Returns:
        (timesteps,) float32; entry ``t`` is the signal fraction after ``t + 1`` noising steps.
    """
    steps = torch.arange(timesteps + 1, dtype=torch.float64)
    f = torch.cos((steps / timesteps + s) / (1 + s) * (math.pi / 2)) ** 2
    abar = f / f[0]
    betas = (1 - abar[1:] / abar[:-1]).clamp(0.0, MAX_BETA)
    return torch.cumprod(1 - betas, dim=0).float()


def q_sample(x0: Tensor, alpha_bar: Tensor, noise: Tensor) -> Tensor:
    """Forward diffusion ``sqrt(abar) * x0 + sqrt(1 - abar) * noise``.

    Args:
        x0: (B', N, P) clean patches. alpha_bar: (B', N) per-patch ``abar_t``. noise: like x0.

    Returns:
        (B', N, P) noisy patches.
    """
    a = alpha_bar[..., None]
    return a.sqrt() * x0 + (1 - a).sqrt() * noise


class DenoisingDecoder(nn.Module):
    """Self-only denoiser: query ``j`` = embedded noisy patch ``j`` + time + position, fused with
    encoder output ``j`` only, then a residual MLP; predicts the clean patch.

    Args:
        d_model: D. patch_len: P. hidden: MLP width. depth: blocks. dropout: residual dropout.
        timesteps: T (size of the sinusoidal timestep table).
    """

    t_table: Tensor  # (timesteps, d_model) sinusoidal timestep embeddings (a buffer)

    def __init__(
        self, d_model: int, patch_len: int, hidden: int, depth: int, dropout: float, timesteps: int
    ) -> None:
        super().__init__()
        self.embed = nn.Linear(patch_len, d_model)
        self.register_buffer("t_table", sincos_table(timesteps, d_model), persistent=False)
        self.t_mlp = mlp((d_model, d_model, d_model))
        # fuse[i](enc_j) is block i's cross-attention to the single key j (see module docstring).
        self.fuse = nn.ModuleList(nn.Linear(d_model, d_model) for _ in range(depth))
        self.norms = nn.ModuleList(nn.LayerNorm(d_model) for _ in range(depth))
        self.mlps = nn.ModuleList(MLP(d_model, hidden, dropout) for _ in range(depth))
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(d_model)
        self.head = patch_decoder(d_model, patch_len)

    def forward(self, noisy: Tensor, t: Tensor, context: Tensor, positions: Tensor) -> Tensor:
        """(B', N, P) noisy patches, (B', N) long timesteps, (B', N, D) encoder outputs and
        (N, D) positional encodings -> (B', N, P) predicted clean patches."""
        h = self.embed(noisy) + self.t_mlp(self.t_table[t]) + positions
        for fuse, norm, block in zip(self.fuse, self.norms, self.mlps, strict=True):
            h = h + self.dropout(fuse(context))
            h = h + block(norm(h))
        return self.head(self.norm(h))


@OBJECTIVES.register("diffusion")
class DiffusionObjective(Objective[DiffusionConfig]):
    """TimeDART-style denoising of patches; downstream uses the online encoder.

    Args:
        encoder: the shared encoder.
        config: :class:`DiffusionConfig`.
    """

    config_cls = DiffusionConfig
    alpha_bar: Tensor  # (timesteps,) cumulative signal fractions (a buffer)

    def __init__(self, encoder: Encoder, config: DiffusionConfig) -> None:
        super().__init__(encoder, config)
        ec = encoder.config
        self.sos_token = nn.Parameter(torch.zeros(1, 1, ec.d_model))
        nn.init.trunc_normal_(self.sos_token, std=0.02, a=-0.04, b=0.04)
        self.decoder = DenoisingDecoder(
            ec.d_model,
            ec.patch_len,
            ec.mlp_hidden,
            config.decoder_depth,
            config.dropout,
            config.timesteps,
        )
        alpha_bar = cosine_alpha_bar(config.timesteps, config.cosine_s)
        self.register_buffer("alpha_bar", alpha_bar, persistent=False)

    @classmethod
    def tiny_config(cls) -> DiffusionConfig:
        """Defaults without dropout (deterministic CPU tests)."""
        return DiffusionConfig(dropout=0.0)

    def encode_context(self, x: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Patches]:
        """Causal encoder over SOS + clean tokens ``0 .. N-2``: output ``j`` has seen patches
        ``< j``.

        Returns:
            ``(context (B*C, N, D), patches)`` with the clean normalised target patches.
        """
        tb = self.encoder.tokenize(x, mask)
        sos = self.sos_token.to(tb.tokens.dtype).expand(tb.tokens.shape[0], 1, -1)
        tokens = torch.cat([sos, tb.tokens[:, :-1]], dim=1)
        padding = F.pad(tb.padding[:, :-1], (1, 0), value=False)
        out = self.encoder.forward_tokens(
            tokens, causal=True, key_padding_mask=padding, keep_cls=False
        )
        return out, self.encoder.patchify(x, mask)

    def forward(self, batch: Batch) -> LossOutput:
        """x0-prediction MSE over observed values, one random timestep per patch."""
        context, patches = self.encode_context(batch.x, batch.mask)
        x0, observed = patches.values, patches.observed
        g, dev = batch.generator, x0.device
        t = torch.randint(0, self.config.timesteps, x0.shape[:2], generator=g, device=dev)
        eps = torch.randn(x0.shape, generator=g, device=dev)
        noisy = torch.where(observed, q_sample(x0, self.alpha_bar[t], eps), 0.0)
        positions = self.encoder.position_table()[1 : x0.shape[1] + 1]
        pred = self.decoder(noisy, t, context, positions)
        return LossOutput(masked_mse(pred, x0, observed))
