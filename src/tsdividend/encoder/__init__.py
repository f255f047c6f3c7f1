"""THE encoder shared by every objective: config, transformer, layers and the pooling rule."""

from tsdividend.encoder.layers import MLP, Block, SelfAttention, attention_mask, sincos_table
from tsdividend.encoder.pooling import (
    concat_channels,
    masked_token_mean,
    pool_embedding,
    row_embedding,
)
from tsdividend.encoder.transformer import POS_ENCODINGS, Encoder, EncoderConfig

__all__ = [
    "MLP",
    "POS_ENCODINGS",
    "Block",
    "Encoder",
    "EncoderConfig",
    "SelfAttention",
    "attention_mask",
    "concat_channels",
    "masked_token_mean",
    "pool_embedding",
    "row_embedding",
    "sincos_table",
]
