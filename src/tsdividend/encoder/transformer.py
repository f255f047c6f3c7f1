"""THE encoder: one pre-LN transformer class and one frozen config for every objective.

The seed paper's reference code trained each objective on a different backbone (post-norm or
BatchNorm, learned or sin-cos positions, widths 128/256, ReLU or GELU); here every objective gets
this same class built from this same config, and causal attention and the CLS token are call-time
arguments. Nothing objective-specific lives here (mask tokens, heads, predictors, EMA copies belong
to the objectives).

Defaults and their sources:

* ``d_model`` 128, ``depth`` 8, ``patch_len`` = ``stride`` = 16: the seed paper's main setting
  (Razmadze et al. 2026: 8 layers, non-overlapping patches of 16, context 336 = 21 tokens).
* ``n_heads`` 8, ``mlp_ratio`` 4 (MLP 512), pre-LN, GELU, dropout 0.1, sin-cos positions, CLS
  token: NuTime's WinT (Lin et al. 2024), which also fixes ``nme_dim`` 32.
* ``max_len`` 512 positions, CLS included (index 0), so up to 511 patch tokens (8176 steps).

Positional encodings: table row 0 belongs to CLS and patch token ``i`` always gets row ``i + 1``,
whether or not CLS is used in a call, so a token's encoding never depends on the CLS choice.

Parameter init (reproducible from ``generator``): transformer Linear layers trunc normal(0.02) with
GPT-2's ``1/sqrt(2 * depth)`` scaling of residual output projections, zero biases, LayerNorm
ones/zeros, CLS token and learned positions trunc normal(0.02); tokenizers as documented there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch
from torch import Tensor, nn

from tsdividend.config import ConfigError, check_int
from tsdividend.encoder.layers import Block, attention_mask, sincos_table
from tsdividend.encoder.pooling import pool_embedding
from tsdividend.tokenizer import TOKENIZERS, Patches, TokenBatch, build_tokenizer, check_series

POS_ENCODINGS = ("sincos", "learned")


@dataclass(frozen=True)
class EncoderConfig:
    """Everything that defines the encoder; checkpoints store it and rebuild from it alone.

    Attributes:
        tokenizer: "patch" (PatchTST instance norm + linear) or "nutime" (window stats + NME).
        patch_len: window length P (>= 1).
        stride: window step, 1 <= stride <= patch_len.
        d_model: token width D (>= 1), divisible by ``n_heads``.
        depth: number of transformer blocks (>= 1).
        n_heads: attention heads (>= 1).
        mlp_ratio: MLP hidden width / D (> 0).
        dropout: attention-probability and residual-branch dropout, in [0, 1).
        pos_encoding: "sincos" (fixed) or "learned".
        max_len: positional table size, CLS slot included (>= 2).
        use_cls: default of the ``use_cls`` argument of every method; the CLS parameter always
            exists. The value used in pretraining must be used downstream, which this default
            guarantees when the pretrained config is saved with the weights.
        nme_dim: NuTime NME width (>= 1; unused by the patch tokenizer).
    """

    tokenizer: str = "patch"
    patch_len: int = 16
    stride: int = 16
    d_model: int = 128
    depth: int = 8
    n_heads: int = 8
    mlp_ratio: float = 4.0
    dropout: float = 0.1
    pos_encoding: str = "sincos"
    max_len: int = 512
    use_cls: bool = True
    nme_dim: int = 32

    def __post_init__(self) -> None:
        if self.tokenizer not in TOKENIZERS:
            raise ConfigError(f"tokenizer {self.tokenizer!r} unknown; valid: {TOKENIZERS.names()}")
        check_int("patch_len", self.patch_len, 1)
        check_int("stride", self.stride, 1, self.patch_len)
        check_int("d_model", self.d_model, 1)
        check_int("depth", self.depth, 1)
        check_int("n_heads", self.n_heads, 1)
        if self.d_model % self.n_heads:
            raise ConfigError(f"d_model={self.d_model} must be divisible by n_heads={self.n_heads}")
        check_int("max_len", self.max_len, 2)
        check_int("nme_dim", self.nme_dim, 1)
        for name in ("mlp_ratio", "dropout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{name} must be a number, got {value!r}")
            object.__setattr__(self, name, float(value))  # TOML may give an int
        if not self.mlp_ratio > 0 or round(self.d_model * self.mlp_ratio) < 1:
            raise ConfigError(f"mlp_ratio must be > 0 (hidden >= 1), got {self.mlp_ratio}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.pos_encoding not in POS_ENCODINGS:
            raise ConfigError(
                f"pos_encoding {self.pos_encoding!r} unknown; valid: {list(POS_ENCODINGS)}"
            )
        if not isinstance(self.use_cls, bool):
            raise ConfigError(f"use_cls must be a bool, got {self.use_cls!r}")

    @property
    def mlp_hidden(self) -> int:
        """MLP hidden width, ``round(d_model * mlp_ratio)``."""
        return round(self.d_model * self.mlp_ratio)


class Encoder(nn.Module):
    """Channel-independent pre-LN transformer over tokens of (B, C, T) series.

    Args:
        config: the :class:`EncoderConfig`.
        generator: draws every initial parameter when given (same seed, same model, whatever
            the global RNG state); else the global RNG.
    """

    pos_table: Tensor  # (max_len, D) fixed sin-cos rows (a buffer; "sincos" encoding only)

    def __init__(self, config: EncoderConfig, *, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.config = config
        d = config.d_model
        self.tokenizer = build_tokenizer(
            config.tokenizer,
            patch_len=config.patch_len,
            stride=config.stride,
            d_model=d,
            nme_dim=config.nme_dim,
        )
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        if config.pos_encoding == "learned":
            self.pos_embed = nn.Parameter(torch.zeros(config.max_len, d))
        else:
            self.register_buffer("pos_table", sincos_table(config.max_len, d), persistent=False)
        self.blocks = nn.ModuleList(
            Block(d, config.n_heads, config.mlp_hidden, config.dropout) for _ in range(config.depth)
        )
        self.norm = nn.LayerNorm(d)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """(Re)initialise every parameter (see the module docstring for the scheme)."""
        self.tokenizer.reset_parameters(generator)
        nn.init.trunc_normal_(self.cls_token, std=0.02, a=-0.04, b=0.04, generator=generator)
        if self.config.pos_encoding == "learned":
            nn.init.trunc_normal_(self.pos_embed, std=0.02, a=-0.04, b=0.04, generator=generator)
        for block in self.blocks:  # a ModuleList of Block (iteration types them as Module)
            cast(Block, block).reset_parameters(self.config.depth, generator)
        self.norm.reset_parameters()

    @property
    def max_tokens(self) -> int:
        """Most patch tokens per series (``max_len - 1``: row 0 of the table is CLS's)."""
        return self.config.max_len - 1

    @property
    def max_length(self) -> int:
        """Longest series (steps) one pass takes: ``(max_tokens - 1) * stride + patch_len``."""
        return (self.max_tokens - 1) * self.config.stride + self.config.patch_len

    @property
    def token_dim(self) -> int:
        """Width D of one token output (``d_model``)."""
        return self.config.d_model

    @property
    def token_stride(self) -> int:
        """Steps between the starts of consecutive tokens' patches."""
        return self.config.stride

    def num_tokens(self, length: int) -> int:
        """Number of patch tokens N for a series of ``length`` steps."""
        return self.tokenizer.num_tokens(length)

    def embedding_dim(self, n_channels: int = 1) -> int:
        """Width of :meth:`embed`'s output for ``n_channels`` channels: ``n_channels * d_model``."""
        return n_channels * self.config.d_model

    def position_table(self) -> Tensor:
        """(max_len, D) positional encodings; row 0 is CLS's, row ``i + 1`` patch token ``i``'s."""
        return self.pos_embed if self.config.pos_encoding == "learned" else self.pos_table

    def tokenize(self, x: Tensor, mask: Tensor | None = None) -> TokenBatch:
        """(B, C, T) series (+ (B, C, T) bool mask, True = observed) -> :class:`TokenBatch`.

        Raises:
            ValueError: on bad shapes, or when T needs more than :attr:`max_tokens` tokens.
        """
        mask = check_series(x, mask)
        n = self.num_tokens(x.shape[-1])
        if n > self.max_tokens:
            raise ValueError(
                f"series length {x.shape[-1]} gives {n} tokens; this encoder takes at most "
                f"{self.max_tokens} (max_len={self.config.max_len} incl. CLS)"
            )
        return self.tokenizer(x, mask)

    def patchify(self, x: Tensor, mask: Tensor | None = None) -> Patches:
        """Instance-normalised (B*C, N, P) patches aligned with the tokens (regression targets)."""
        return self.tokenizer.patchify(x, mask)

    def forward_tokens(
        self,
        tokens: Tensor,
        *,
        causal: bool = False,
        key_padding_mask: Tensor | None = None,
        positions: Tensor | None = None,
        use_cls: bool | None = None,
        keep_cls: bool = True,
    ) -> Tensor:
        """Run the transformer on given tokens.

        Args:
            tokens: (B', N, D) token embeddings (e.g. a ``TokenBatch.tokens``, or a subset of them).
            causal: token i attends only to tokens j <= i, in the order given (CLS, at 0, is
                visible to all).
            key_padding_mask: (B', N) bool, True = padded token that no other token attends to
                (a padded query still sees itself, so its row stays finite). Checked with one
                ``.any()``: when nothing is padded SDPA keeps its fused kernels.
            positions: (B', N) long patch indices of the tokens (e.g. JEPA's visible tokens keep
                their original positions); default ``0 .. N-1``. Each must lie in
                ``[0, max_tokens)`` (not checked, to avoid a device sync).
            use_cls: prepend the CLS token at position 0; default ``config.use_cls``.
            keep_cls: return the CLS output row (when ``use_cls``); False drops it, so output
                row ``i`` is token ``i``'s (the one place callers strip CLS).

        Returns:
            (B', N + 1, D) with the CLS output at row 0 when ``use_cls`` and ``keep_cls``, else
            (B', N, D); after the final LayerNorm.
        """
        use_cls = self.config.use_cls if use_cls is None else use_cls
        if tokens.ndim != 3 or tokens.shape[-1] != self.config.d_model:
            raise ValueError(
                f"tokens must be (B', N, {self.config.d_model}), got {tuple(tokens.shape)}"
            )
        b, n, _ = tokens.shape
        if n > self.max_tokens:
            raise ValueError(f"{n} tokens exceed max_tokens={self.max_tokens}")
        table = self.position_table()
        if positions is None:
            x = tokens + table[1 : n + 1]
        else:
            if positions.shape != (b, n):
                raise ValueError(f"positions must be ({b}, {n}), got {tuple(positions.shape)}")
            x = tokens + table[positions + 1]
        if key_padding_mask is not None:
            if key_padding_mask.shape != (b, n) or key_padding_mask.dtype != torch.bool:
                raise ValueError(
                    f"key_padding_mask must be bool ({b}, {n}), got "
                    f"{key_padding_mask.dtype} {tuple(key_padding_mask.shape)}"
                )
            if not key_padding_mask.any():  # nothing padded: keep SDPA's fused kernels
                key_padding_mask = None
        if use_cls:
            cls = (self.cls_token + table[0]).expand(b, 1, -1).to(x.dtype)
            x = torch.cat([cls, x], dim=1)
            if key_padding_mask is not None:
                key_padding_mask = nn.functional.pad(key_padding_mask, (1, 0), value=False)
        attn_mask, is_causal = attention_mask(key_padding_mask, causal, x.shape[1])
        for block in self.blocks:
            x = block(x, attn_mask, is_causal)
        x = self.norm(x)
        return x[:, 1:] if use_cls and not keep_cls else x

    def _encode(
        self, x: Tensor, mask: Tensor | None, causal: bool, use_cls: bool | None
    ) -> tuple[Tensor, TokenBatch]:
        tb = self.tokenize(x, mask)
        out = self.forward_tokens(
            tb.tokens, causal=causal, key_padding_mask=tb.padding, use_cls=use_cls, keep_cls=False
        )
        return out, tb

    def tokens(
        self,
        x: Tensor,
        mask: Tensor | None = None,
        *,
        causal: bool = False,
        use_cls: bool | None = None,
    ) -> Tensor:
        """(B, C, T) series -> (B*C, N, D) per-token outputs (CLS row dropped)."""
        return self._encode(x, mask, causal, use_cls)[0]

    def embed(
        self,
        x: Tensor,
        mask: Tensor | None = None,
        *,
        causal: bool = False,
        use_cls: bool | None = None,
    ) -> Tensor:
        """(B, C, T) series -> (B, C * D) embeddings by THE pooling rule of
        :mod:`tsdividend.encoder.pooling` (mean over non-padded tokens, channels concatenated)."""
        out, tb = self._encode(x, mask, causal, use_cls)
        return pool_embedding(out, tb.padding, tb.n_channels)

    def forward(self, x: Tensor, mask: Tensor | None = None, *, causal: bool = False) -> Tensor:
        """Same as :meth:`tokens` (so hooks and wrappers that call the module work)."""
        return self.tokens(x, mask, causal=causal)
