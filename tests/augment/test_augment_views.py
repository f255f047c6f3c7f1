"""Named views and the pipeline: composition, per-sample coins, masks, config validation."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from tsdividend.augment import (
    VIEWS,
    HighPerturb,
    Jitter,
    LowPass,
    RandomResizedCrop,
    SoftThreshold,
    ViewPipeline,
    ZeroOut,
    high_perturb,
    make_view,
    soft_threshold,
)
from tsdividend.config import ConfigError, from_dict


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


PAPER_VIEWS = ["dwt_soft", "dwt_perturb", "lejepa_generic", "lejepa_soft", "lejepa_perturb", "rrc"]


def test_named_views_exist_and_unknown_lists_valid() -> None:
    assert set(PAPER_VIEWS) <= set(VIEWS.names())
    with pytest.raises(KeyError, match="unknown view 'dwt'; valid: .*dwt_soft"):
        make_view("dwt")


@pytest.mark.parametrize("name", PAPER_VIEWS)
def test_views_keep_shape_dtype_and_reproduce(name: str) -> None:
    x = torch.randn(32, 2, 96, generator=gen(0))
    view = make_view(name)
    y, m = view(x, generator=gen(1))
    assert y.shape == x.shape and y.dtype == x.dtype and m is None
    assert not torch.equal(y, x)
    assert torch.equal(y, view(x, generator=gen(1))[0])
    if name != "dwt_soft":  # the only deterministic view
        assert not torch.equal(y, view(x, generator=gen(2))[0])


def test_dwt_views_match_the_paper_settings() -> None:
    x = torch.randn(8, 1, 336, generator=gen(0))
    assert torch.equal(make_view("dwt_soft")(x, generator=gen(1))[0], soft_threshold(x, 0.3))
    ref = high_perturb(x, 0.1, 0.3, generator=gen(5), wavelet="db4", level=3)
    assert torch.equal(make_view("dwt_perturb")(x, generator=gen(5))[0], ref)


@pytest.mark.parametrize("name", ["lejepa_generic", "lejepa_soft", "lejepa_perturb"])
def test_lejepa_views_flip_coins_per_sample(name: str) -> None:
    x = torch.randn(1, 1, 64, generator=gen(0)).expand(128, 1, 64).contiguous()
    y, _ = make_view(name)(x, generator=gen(3))
    unchanged = (y == x).flatten(1).all(1)
    # Each of 3 (or 4) steps has p = 0.5 per sample: some samples skip all of them, most don't.
    assert 0 < int(unchanged.sum()) < 40
    changed = y[~unchanged]
    assert not torch.allclose(changed[0], changed[1])


def test_pipeline_keeps_unobserved_positions_and_carries_masks() -> None:
    x = torch.randn(16, 2, 80, generator=gen(0))
    mask = torch.rand(16, 2, 80, generator=gen(1)) > 0.3
    y, m = make_view("lejepa_soft")(x, generator=gen(2), mask=mask)
    assert m is mask and torch.equal(y[~mask], x[~mask])
    pipe = ViewPipeline((RandomResizedCrop(out_length=48), LowPass(), Jitter(p=0.5)))
    y, m = pipe(x, generator=gen(3), mask=mask)
    assert y.shape == (16, 2, 48) and m is not None and m.shape == (16, 2, 48)
    assert m.float().mean() < mask.float().mean()  # interpolating next to gaps loses points


def test_step_configs_validate_and_load_from_dicts() -> None:
    with pytest.raises(ValueError, match="p must be a probability"):
        Jitter(p=1.5)
    with pytest.raises(ValueError, match="unknown discrete wavelet 'nope'"):
        SoftThreshold(wavelet="nope")
    with pytest.raises(ValueError, match="finest_levels must be >= 1"):
        ZeroOut(finest_levels=0)
    with pytest.raises(ValueError, match="scale must satisfy"):
        RandomResizedCrop(scale=(0.9, 0.8))
    with pytest.raises(dataclasses.FrozenInstanceError):
        HighPerturb().lo = 0.5  # type: ignore[misc]
    step = from_dict(HighPerturb, {"lo": 0.2, "hi": 0.4, "wavelet": "sym8", "p": 0.5})
    assert step == HighPerturb(lo=0.2, hi=0.4, wavelet="sym8", p=0.5)
    assert from_dict(Jitter, {"sigma": [0.0, 0.1]}).sigma == (0.0, 0.1)
    with pytest.raises(ConfigError, match="unknown key"):
        from_dict(Jitter, {"std": 0.1})
