"""Tokenizers: (B, C, T) series -> (B*C, N, D) channel-independent tokens.

Two kinds, selected by name from the encoder config (:data:`TOKENIZERS`): ``"patch"`` (PatchTST:
instance normalisation + linear patch embedding) and ``"nutime"`` (NuTime: window shape + NME of
window mean and std, raw values in). Conventions (mask, padding, right-padding, channel folding) are
documented in :mod:`tsdividend.tokenizer.base`.
"""

from tsdividend.tokenizer.base import (
    TOKENIZERS,
    TokenBatch,
    Tokenizer,
    build_tokenizer,
    check_series,
    masked_moments,
    num_windows,
    unfold_windows,
)
from tsdividend.tokenizer.nutime import NME, NuTimeTokenizer, WindowStats, window_stats
from tsdividend.tokenizer.patch import (
    InstanceStats,
    Patches,
    PatchTokenizer,
    instance_stats,
    patchify,
)

__all__ = [
    "NME",
    "TOKENIZERS",
    "InstanceStats",
    "NuTimeTokenizer",
    "PatchTokenizer",
    "Patches",
    "TokenBatch",
    "Tokenizer",
    "WindowStats",
    "build_tokenizer",
    "check_series",
    "instance_stats",
    "masked_moments",
    "num_windows",
    "patchify",
    "unfold_windows",
    "window_stats",
]
