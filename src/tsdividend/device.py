"""Device choice, explicit everywhere (every path runs on CPU)."""

from __future__ import annotations

import torch

DEVICES = ("auto", "cpu", "cuda")


def pick_device(name: str = "auto", local_rank: int = 0) -> torch.device:
    """ "auto" = this process's CUDA device when there is one, else the CPU.

    Raises:
        ValueError: on an unknown name, or "cuda" without a CUDA device.
    """
    if name not in DEVICES:
        raise ValueError(f"device {name!r} unknown; valid: {list(DEVICES)}")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but torch.cuda.is_available() is False")
    if name == "cpu" or (name == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    return torch.device("cuda", local_rank % torch.cuda.device_count())
