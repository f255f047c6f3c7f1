"""tsdividend: self-supervised pretraining of time-series encoders and the pre-training dividend.

The library functions behind the command line (``tsdividend.api``): ``run`` (a dividend study),
``evaluate``, ``pretrain``, ``baseline``; and ``load_encoder`` (a pretrained encoder as an
embedder).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "baseline", "evaluate", "load_encoder", "pretrain", "run"]
_API = ("baseline", "evaluate", "pretrain", "run")


def __getattr__(name: str) -> Any:
    # Lazy, so ``import tsdividend`` (and the CLI's --help) does not import torch.
    if name == "load_encoder":
        from tsdividend.encoder.embedder import load_encoder

        return load_encoder
    if name in _API:
        from tsdividend import api

        return getattr(api, name)
    raise AttributeError(f"module 'tsdividend' has no attribute {name!r}")
