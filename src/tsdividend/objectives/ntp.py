"""NTP: next-patch prediction with a causal encoder (Razmadze et al. 2026, the seed paper).

Each token ``i`` of the causal encoder (it sees patches ``<= i`` only) regresses patch ``i + k``
(``horizon`` k), MSE on instance-normalised patches, counting observed target values only (exact
per-series mean, see :func:`~tsdividend.losses.reconstruction.masked_mse`).

Defaults and their sources:

* ``horizon`` 1 with ``positions`` "all": teacher forcing at every position (issue 3, "each
  position predicts the next patch"). The seed paper's code (``NTP/ntp_pretrain.py``) predicts 6
  ahead and puts the loss on its last 6 context tokens only: ``horizon=6, positions="last"``.
* ``head`` "residual": the paper's ``NTPHead``, a residual 2-layer MLP d_model -> d_ff ->
  patch_len plus a linear skip (:class:`~tsdividend.objectives.heads.ResidualMLP`), with d_ff the
  encoder's MLP width; "linear" is a plain ``Linear(d_model -> patch_len)``. No head dropout.

Normalisation and what a causal token can know (deviation from the reference code, to shrink a
leak): the encoder's patch tokenizer normalises each series with statistics of everything it is
given, so a causal token still sees values scaled by the mean/std of later patches; since the
normalised series has mean 0 and variance 1, the tokens constrain the aggregate of the patches
still to come. The paper's code z-normalised over all 27 patches, horizon included. Here the
window is split into a context (its first ``N - k`` patches) and the ``k`` patches after it; only
the context is tokenized, and every target is normalised with the CONTEXT's statistics (which
costs nothing). Consequences: with ``positions="last"`` (targets beyond the context only) the
objective is leak-free; with ``positions="all"`` the last ``k`` positions are leak-free and
in-context targets keep the mild leak (their values enter the context statistics). Removing it
there too would need a causal (prefix) instance normalisation in the tokenizer. The NuTime
tokenizer has no such leak in its tokens (each window is embedded from its own raw values), only
the targets are scaled by context statistics. The leak-free part is logged as ``mse_future``.

Target floor (``target_floor`` True, our fix, issue 9): the targets' std is floored at the whole
observed window's std (:func:`~tsdividend.losses.reconstruction.floored_stats`), so a jump after a
flat context cannot become an enormous target (the context std is then the tokenizer's floor
``sqrt(1e-5)``); every target is bounded by ``2 sqrt(n_observed - 1)``. The tokens are unchanged;
only the targets' scale depends on later values. ``False`` keeps the context-only statistics.

The pretraining window of ``N`` patches therefore feeds ``N - k`` patches to the encoder (the
paper sampled 432 = 21 + 6 patches; here the horizon is carved out of the sampled window).

Downstream: the online encoder (there is no EMA copy), run bidirectionally by default although
it was trained causally; ``Encoder.embed(..., causal=True)`` reproduces the pretraining view.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from tsdividend.config import ConfigError, check_int
from tsdividend.encoder import Encoder
from tsdividend.losses.reconstruction import floored_stats, masked_mse
from tsdividend.objectives.base import OBJECTIVES, Batch, LossOutput, Objective
from tsdividend.objectives.heads import patch_decoder
from tsdividend.tokenizer import check_series, instance_stats, unfold_windows

POSITIONS = ("all", "last")
HEADS = ("residual", "linear")


@dataclass(frozen=True)
class NTPConfig:
    """Options of :class:`NTPObjective` (sources in the module docstring).

    Attributes:
        horizon: k >= 1; position i predicts patch i + k.
        positions: "all" (every context position) or "last" (the last k context positions, whose
            targets lie beyond the context: the paper's code, leak-free).
        head: "residual" (paper) or "linear".
        target_floor: floor the targets' std at the whole window's std (bounded targets).
    """

    horizon: int = 1
    positions: str = "all"
    head: str = "residual"
    target_floor: bool = True

    def __post_init__(self) -> None:
        check_int("horizon", self.horizon, 1)
        if self.positions not in POSITIONS:
            raise ConfigError(f"positions {self.positions!r} unknown; valid: {list(POSITIONS)}")
        if self.head not in HEADS:
            raise ConfigError(f"head {self.head!r} unknown; valid: {list(HEADS)}")
        if not isinstance(self.target_floor, bool):
            raise ConfigError(f"target_floor must be a bool, got {self.target_floor!r}")


def context_length(n_context: int, patch_len: int, stride: int) -> int:
    """Steps covered by the first ``n_context`` patches: ``(n_context - 1) * stride + P``."""
    return (n_context - 1) * stride + patch_len


def context_normalized_patches(
    x: Tensor, mask: Tensor, n_context: int, patch_len: int, stride: int, floor: bool = True
) -> tuple[Tensor, Tensor]:
    """All patches of the series, instance-normalised with the statistics of its context only.

    Args:
        x: (B, C, T) values. mask: (B, C, T) bool, True = observed.
        n_context: number of leading patches whose steps define the statistics.
        patch_len: P. stride: S.
        floor: floor the std at the whole window's (see the module docstring).

    Returns:
        ``(values (B*C, N, P) float32, observed (B*C, N, P) bool)``; unobserved steps are 0.
    """
    t_ctx = context_length(n_context, patch_len, stride)
    if floor:
        part = mask.clone()
        part[..., t_ctx:] = False
        stats = floored_stats(x, part, mask)
    else:
        stats = instance_stats(x[..., :t_ctx], mask[..., :t_ctx])
    with torch.autocast(x.device.type, enabled=False):
        xn = torch.where(mask, stats.normalize(x), torch.zeros((), device=x.device))
        windows, observed = unfold_windows(xn, mask, patch_len, stride)
    b, c, n, p = windows.shape
    return windows.reshape(b * c, n, p), observed.reshape(b * c, n, p)


@OBJECTIVES.register("ntp")
class NTPObjective(Objective[NTPConfig]):
    """Causal next-patch (k-ahead) regression; downstream uses the online encoder.

    Args:
        encoder: the shared encoder.
        config: :class:`NTPConfig`.
    """

    config_cls = NTPConfig

    def __init__(self, encoder: Encoder, config: NTPConfig) -> None:
        super().__init__(encoder, config)
        ec = encoder.config
        hidden = ec.mlp_hidden if config.head == "residual" else 0
        self.head = patch_decoder(ec.d_model, ec.patch_len, hidden)

    def predict(self, x: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Predictions for every context position and their k-ahead targets.

        Args:
            x: (B, C, T) values. mask: (B, C, T) bool, True = observed (None = all).

        Returns:
            ``(pred, target, observed)``, each (B*C, N - k, P): row ``i`` of ``pred`` comes from
            context token ``i`` and ``target[:, i]`` is patch ``i + k`` normalised with the
            context's statistics.

        Raises:
            ValueError: if the series has no more than ``horizon`` patches.
        """
        mask = check_series(x, mask)
        ec, k = self.encoder.config, self.config.horizon
        n = self.encoder.num_tokens(x.shape[-1])
        n_ctx = n - k
        if n_ctx < 1:
            raise ValueError(
                f"ntp horizon={k} needs more than {k} patches; series length {x.shape[-1]} gives "
                f"{n} (patch_len={ec.patch_len}, stride={ec.stride})"
            )
        t_ctx = context_length(n_ctx, ec.patch_len, ec.stride)
        tb = self.encoder.tokenize(x[..., :t_ctx], mask[..., :t_ctx])
        out = self.encoder.forward_tokens(
            tb.tokens, causal=True, key_padding_mask=tb.padding, keep_cls=False
        )
        values, observed = context_normalized_patches(
            x, mask, n_ctx, ec.patch_len, ec.stride, self.config.target_floor
        )
        return self.head(out), values[:, k:], observed[:, k:]

    def forward(self, batch: Batch) -> LossOutput:
        """MSE of the k-ahead patch predictions over observed target values."""
        pred, target, observed = self.predict(batch.x, batch.mask)
        m = min(self.config.horizon, pred.shape[1])  # positions whose target is past the context
        future = masked_mse(pred[:, -m:], target[:, -m:], observed[:, -m:])
        if self.config.positions == "last":
            return LossOutput(future, {"mse_future": future.detach()})
        loss = masked_mse(pred, target, observed)
        return LossOutput(loss, {"mse_future": future.detach()})
