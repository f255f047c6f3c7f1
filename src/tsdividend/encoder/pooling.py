"""THE pooling rule: how per-token outputs become one vector per sample, for every downstream task.

Rule: for each (sample, channel), the mean of the encoder's output tokens over its non-padded
tokens (the CLS row excluded); then the C channel vectors are concatenated in channel order, giving
(B, C * D) (= (B, D) for univariate data).

Why the token mean and not CLS: only DINO-style objectives train the CLS output; NTP, MAE,
diffusion and JEPA never put a loss on it, so a CLS probe would measure an untrained vector for
them and the dividend comparison would be unfair. The mean over real tokens is trained (directly or
through attention) by every objective, ignores padding so variable-length series pool correctly,
and matches the "average token" representation used by TS2Vec-style probes.

Why concatenate channels rather than average them: the encoder is channel-independent, so the only
place channel identity survives is the position in this vector. A linear probe on the
concatenation can still learn the channel mean (it is a linear function of it), but not the other
way round; the reference pipelines likewise concatenate channels (seed paper: last token per
channel, concatenated; NuTime: per-window channel tokens concatenated).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import Tensor

from tsdividend.config import ConfigError

if TYPE_CHECKING:  # transformer.py imports this module
    from tsdividend.encoder.transformer import Encoder

# Per-row representations an objective may train (DINO, BYOL): THE rule's token mean, or CLS.
REPRESENTATIONS = ("mean", "cls")


def masked_token_mean(tokens: Tensor, padding: Tensor | None = None) -> Tensor:
    """Mean over the non-padded tokens of each row.

    Args:
        tokens: (B', N, D) token outputs.
        padding: (B', N) bool, True = padded (ignored); None = no padding.

    Returns:
        (B', D); a row whose tokens are all padded gives zeros (never NaN).
    """
    if padding is None:
        return tokens.mean(dim=1)
    keep = (~padding).to(tokens.dtype).unsqueeze(-1)  # (B', N, 1)
    total = (tokens * keep).sum(dim=1)
    return total / keep.sum(dim=1).clamp_min(1.0)


def concat_channels(per_series: Tensor, n_channels: int) -> Tensor:
    """(B*C, D) rows ordered ``b * C + c`` -> (B, C * D), channel 0's features first."""
    bc, d = per_series.shape
    if bc % n_channels:
        raise ValueError(f"{bc} rows are not a multiple of n_channels={n_channels}")
    return per_series.reshape(bc // n_channels, n_channels * d)


def pool_embedding(tokens: Tensor, padding: Tensor | None, n_channels: int) -> Tensor:
    """THE downstream rule: masked token mean per channel, channels concatenated.

    Args:
        tokens: (B*C, N, D) encoder outputs without the CLS row.
        padding: (B*C, N) bool, True = padded token; None = none padded.
        n_channels: C.

    Returns:
        (B, C * D) embeddings.
    """
    return concat_channels(masked_token_mean(tokens, padding), n_channels)


def check_representation(value: str) -> None:
    """Raise :class:`ConfigError` unless ``value`` is one of :data:`REPRESENTATIONS`."""
    if value not in REPRESENTATIONS:
        raise ConfigError(f"representation {value!r} unknown; valid: {list(REPRESENTATIONS)}")


def row_embedding(
    encoder: Encoder, x: Tensor, mask: Tensor | None, representation: str = "mean"
) -> Tensor:
    """(B, C, T) series -> (B*C, D): one vector per channel row (before channels are joined).

    Args:
        encoder: THE encoder.
        x: (B, C, T) series; mask: (B, C, T) bool, True = observed.
        representation: "mean" (THE pooling rule per row: mean of the non-padded token outputs,
            :func:`masked_token_mean`; the CLS row, if the encoder uses one, is not pooled) or
            "cls" (the CLS output, row 0 of ``forward_tokens(use_cls=True)``).
    """
    if representation not in REPRESENTATIONS:
        raise ValueError(f"representation {representation!r} unknown; valid: {REPRESENTATIONS}")
    tb = encoder.tokenize(x, mask)
    if representation == "cls":
        return encoder.forward_tokens(tb.tokens, key_padding_mask=tb.padding, use_cls=True)[:, 0]
    out = encoder.forward_tokens(tb.tokens, key_padding_mask=tb.padding, keep_cls=False)
    return masked_token_mean(out, tb.padding)
