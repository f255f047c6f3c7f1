"""Small heads shared by objectives (projectors, predictors, patch decoders)."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

NORMS = ("none", "batch", "layer")


def mlp(dims: Sequence[int], *, norm: str = "none", last_bias: bool = True) -> nn.Sequential:
    """Linear -> [norm] -> GELU blocks through ``dims``, the last layer plain Linear.

    Args:
        dims: layer widths, e.g. ``(128, 4096, 256)`` (>= 2 entries).
        norm: "none", "batch" (BYOL-style projectors) or "layer", after each hidden Linear.
        last_bias: bias of the final Linear.

    Example: ``mlp((128, 4096, 256), norm="batch")`` is BYOL's projector (Grill et al. 2020).
    """
    if len(dims) < 2:
        raise ValueError(f"mlp needs at least 2 widths, got {list(dims)}")
    if norm not in NORMS:
        raise ValueError(f"norm {norm!r} unknown; valid: {list(NORMS)}")
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
        last = i == len(dims) - 2
        layers.append(nn.Linear(a, b, bias=last_bias if last else norm != "batch"))
        if not last:
            if norm == "batch":
                layers.append(nn.BatchNorm1d(b))
            elif norm == "layer":
                layers.append(nn.LayerNorm(b))
            layers.append(nn.GELU())
    return nn.Sequential(*layers)
