"""Issue 9: bounded reconstruction targets on a flat-then-jump window, and views in units of each
series' own scale."""

from __future__ import annotations

import math

import pytest
import torch

from tsdividend.augment import make_view
from tsdividend.losses.reconstruction import floored_stats
from tsdividend.objectives.base import Batch
from tsdividend.objectives.mae import MAEConfig, MAEObjective
from tsdividend.objectives.ntp import NTPConfig, NTPObjective
from tsdividend.objectives.scaling import scaled_view

from .conftest import tiny_encoder

T = 128  # 8 patches of 16


def _flat_then_jump(b: int = 16) -> Batch:
    """A constant series (level 3) whose last patch jumps by 50: the failure seen on MSL."""
    x = torch.full((b, 1, T), 3.0)
    x[..., -16:] += 50.0
    mask = torch.ones(b, 1, T, dtype=torch.bool)
    g = torch.Generator().manual_seed(0)
    return Batch(x, mask, g, torch.Generator().manual_seed(1))


@pytest.mark.parametrize("floor", [True, False])
def test_mae_targets_of_a_masked_jump_are_bounded(floor):
    torch.manual_seed(0)
    obj = MAEObjective(tiny_encoder(), MAEConfig(target_floor=floor)).eval()
    batch = _flat_then_jump()
    _, target, _, masked = obj.predict(batch.x, batch.mask, torch.Generator().manual_seed(2))
    jump_hidden = masked[:, -1]
    assert jump_hidden.any() and (~jump_hidden).any()  # both cases occur among the 16 rows
    peak = target[jump_hidden].abs().max()
    if floor:
        assert torch.isfinite(target).all() and peak <= 2 * math.sqrt(T - 1)
        loss = obj(batch).loss
        assert torch.isfinite(loss) and float(loss.detach()) < 4 * (T - 1)
    else:  # the old visible-only statistics: 50 / sqrt(1e-5) ~ 1.6e4
        assert peak > 1e4


@pytest.mark.parametrize("floor", [True, False])
def test_ntp_targets_after_a_flat_context_are_bounded(floor):
    torch.manual_seed(0)
    obj = NTPObjective(tiny_encoder(), NTPConfig(target_floor=floor)).eval()
    batch = _flat_then_jump(b=2)
    _, target, _ = obj.predict(batch.x, batch.mask)
    peak = target[:, -1].abs().max()  # the jump is the last target patch
    if floor:
        assert torch.isfinite(target).all() and peak <= 2 * math.sqrt(T - 1)
        assert float(obj(batch).loss) < 4 * (T - 1)
    else:
        assert peak > 1e4


def test_floored_stats_keep_the_part_statistics_when_the_part_is_representative():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 2, T, generator=g) * 5 + 2
    mask = torch.ones_like(x, dtype=torch.bool)
    part = mask.clone()
    part[..., ::2] = False
    part[0, 0, 64:] = False  # row 0 sees a calm half only
    x[0, 0, 64:] *= 10
    stats = floored_stats(x, part, mask)
    torch.testing.assert_close(stats.mean, (x * part).sum(-1, keepdim=True) / part.sum(-1, True))
    seen = torch.where(part, x, torch.nan)
    std_part = (seen.nan_to_num(0).square().sum(-1, keepdim=True) / part.sum(-1, True)
                - stats.mean.square()).clamp_min(0).add(1e-5).sqrt()  # fmt: skip
    std_all = (x.var(-1, unbiased=False, keepdim=True) + 1e-5).sqrt()
    torch.testing.assert_close(stats.std, torch.maximum(std_part, std_all), rtol=1e-4, atol=1e-4)
    assert stats.std[0, 0] == pytest.approx(float(std_all[0, 0]), rel=1e-4)  # the floor binds


def test_views_act_in_units_of_each_series_scale():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(6, 1, T, generator=g).cumsum(-1)
    mask = torch.ones_like(x, dtype=torch.bool)
    view = make_view("lejepa_perturb")
    small, _ = scaled_view(view, x, mask, torch.Generator().manual_seed(3))
    big, _ = scaled_view(view, 1000.0 * x + 7.0, mask, torch.Generator().manual_seed(3))
    torch.testing.assert_close(big, 1000.0 * small + 7.0, rtol=1e-4, atol=2e-2)
    detail = make_view("dwt_perturb")  # absolute detail noise, std 0.1..0.3
    X = 1000.0 * x
    raw, _ = detail(X, generator=torch.Generator().manual_seed(3), mask=mask)
    scaled, _ = scaled_view(detail, X, mask, torch.Generator().manual_seed(3))
    # unscaled, the noise is invisible on a large-scale series (a trivial view); scaled, it has
    # the strength it has on a unit-scale series
    assert (raw - X).abs().mean() < 1e-3 * (scaled - X).abs().mean()
