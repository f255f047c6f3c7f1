"""Augmented views in units of each series' own scale.

The value-space augmentations of the seed paper (jitter std <= 0.05, DWT detail noise std
0.1..0.3; Razmadze et al. 2026, LE-JEPA reference code) are absolute amounts that assume
z-normalised inputs. Real pretraining windows are not: on the development corpus their std spans
0.01 to 7,000 (median 11 for the UCR anomaly archive, 0.3 for MSL), so the same noise would
erase a small-scale series and leave a large-scale one untouched (a trivial view). Here every
series is instance-normalised (observed steps, the patch tokenizer's statistics), augmented, and
mapped back to its own mean and std, so each augmentation has the strength it was calibrated
for whatever the data's units, and the tokenizer still sees the series' raw scale (which the
NuTime tokenizer embeds). Scale-free steps (random resized crop, soft threshold relative to the
largest coefficient) are unaffected up to float rounding.
"""

from __future__ import annotations

import torch
from torch import Tensor

from tsdividend.augment.views import ViewPipeline
from tsdividend.tokenizer import instance_stats


def scaled_view(
    view: ViewPipeline, x: Tensor, mask: Tensor, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """Apply ``view`` to each series standardised by its own statistics, then undo them.

    Args:
        view: the augmentation pipeline.
        x: (B, C, T) values. mask: (B, C, T) bool, True = observed.
        generator: the view's source of randomness.

    Returns:
        ``(x_view (B, C, T'), mask_view (B, C, T'))`` in the series' original units, 0.0 where
        unobserved (``T'`` = the view's output length).
    """
    with torch.autocast(x.device.type, enabled=False):
        stats = instance_stats(x, mask)
        z = torch.where(mask, stats.normalize(x), torch.zeros((), device=x.device))
        zv, mv = view(z, generator=generator, mask=mask)
        if mv is None:  # a view that does not track the mask: everything it returns is observed
            mv = torch.ones(zv.shape, dtype=torch.bool, device=zv.device)
        return torch.where(mv, stats.denormalize(zv), torch.zeros((), device=x.device)), mv
