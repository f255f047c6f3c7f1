"""Small heads shared by objectives (projectors, predictors, patch decoders), plus the masked
patch MSE that the reconstruction heads are trained with."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

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


class ResidualMLP(nn.Module):
    """``fc2(GELU(fc1(x))) + skip(x)``: a 2-layer MLP with a linear skip connection.

    The seed paper's NTP head (``NTPHead``, a TimesFM-style residual block d_model -> d_ff ->
    patch_len plus a linear skip; Razmadze et al. 2026). No normalisation, so rows never interact.

    Args:
        d_in: input width. hidden: hidden width. d_out: output width.
    """

    def __init__(self, d_in: int, hidden: int, d_out: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(d_in, hidden)
        self.fc2 = nn.Linear(hidden, d_out)
        self.skip = nn.Linear(d_in, d_out)

    def forward(self, x: Tensor) -> Tensor:
        """(..., d_in) -> (..., d_out)."""
        return self.fc2(nn.functional.gelu(self.fc1(x))) + self.skip(x)


def patch_decoder(d_model: int, patch_len: int, hidden: int = 0) -> nn.Module:
    """Per-token patch regressor: ``Linear(d_model -> patch_len)`` (PatchTST's pretraining head)
    when ``hidden`` is 0, else :class:`ResidualMLP` ``(d_model, hidden, patch_len)``."""
    if hidden < 0:
        raise ValueError(f"hidden must be >= 0 (0 = linear head), got {hidden}")
    if hidden == 0:
        return nn.Linear(d_model, patch_len)
    return ResidualMLP(d_model, hidden, patch_len)
