"""tsdividend: self-supervised pretraining of time-series encoders and the pre-training dividend."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "load_encoder"]


def __getattr__(name: str) -> Any:
    # Lazy, so ``import tsdividend`` (and the CLI's --help) does not import torch.
    if name == "load_encoder":
        from tsdividend.encoder.embedder import load_encoder

        return load_encoder
    raise AttributeError(f"module 'tsdividend' has no attribute {name!r}")
