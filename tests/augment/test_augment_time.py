"""Generic augmentations: per-sample randomness, exact crops, band masks, mask handling."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from tsdividend.augment import (
    amplitude_scale,
    apply_per_sample,
    fft_band_mask,
    jitter,
    random_resized_crop,
)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def gen(seed: int, device: str = "cpu") -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


def test_jitter_std_per_sample_in_range() -> None:
    x = torch.randn(16, 4, 2048, generator=gen(0), dtype=torch.float64)
    y = jitter(x, (0.02, 0.05), generator=gen(1))
    std = (y - x).flatten(1).std(1)
    assert torch.all(std > 0.02 * 0.97) and torch.all(std < 0.05 * 1.03)
    assert std.max() - std.min() > 0.005
    per_channel = (y - x).std(-1)  # channels of one sample share the std
    assert torch.allclose(per_channel, std[:, None].expand_as(per_channel), rtol=0.1)
    assert torch.equal(y, jitter(x, (0.02, 0.05), generator=gen(1)))


def test_amplitude_scale_one_factor_per_sample() -> None:
    x = torch.rand(12, 3, 50, generator=gen(0), dtype=torch.float64) + 0.5
    y = amplitude_scale(x, 0.8, 1.2, generator=gen(2))
    ratio = y / x
    f = ratio[:, 0, 0]
    assert torch.allclose(ratio, f.view(-1, 1, 1).expand_as(ratio))
    assert torch.all((f >= 0.8) & (f <= 1.2)) and f.std() > 0.01
    y2 = amplitude_scale(x[:, 0], 0.8, 1.2, generator=gen(2))  # (B, T) works too
    assert torch.allclose(y2, y[:, 0])


@pytest.mark.parametrize("length", [64, 65, 100])
def test_fft_band_mask_zeroes_one_contiguous_band(length: int) -> None:
    batch = 256
    x = torch.randn(batch, 2, length, generator=gen(length), dtype=torch.float64)
    y = fft_band_mask(x, 0.3, generator=gen(1))
    n_bins = length // 2 + 1
    widest = math.floor(0.3 * n_bins)
    sx, sy = torch.fft.rfft(x), torch.fft.rfft(y)
    starts, widths = set(), []
    for b in range(batch):
        zero = (sy[b].abs() < 1e-9).all(dim=0)  # bins zero in every channel
        idx = torch.nonzero(zero).flatten()
        assert idx[-1] - idx[0] + 1 == idx.numel()  # contiguous
        assert torch.allclose(sy[b][:, ~zero], sx[b][:, ~zero], atol=1e-9)
        starts.add(int(idx[0]))
        widths.append(idx.numel())
    # Widths are uniform on 1..floor(0.3 F): with 256 draws both ends occur.
    assert min(widths) == 1 and max(widths) == widest
    assert len(starts) > 1  # per-sample bands


def test_fft_band_mask_short_series_is_untouched() -> None:
    x = torch.randn(4, 2)
    assert torch.equal(fft_band_mask(x, 0.3, generator=gen(0)), x)


def crop_reference(seg: torch.Tensor, out_length: int) -> torch.Tensor:
    return F.interpolate(seg[None], size=out_length, mode="linear", align_corners=False)[0]


@pytest.mark.parametrize("out_length", [33, 40, 64])
def test_random_resized_crop_equals_interpolate_of_a_segment(out_length: int) -> None:
    x = torch.randn(8, 2, 40, generator=gen(3), dtype=torch.float64)
    y, m = random_resized_crop(x, (0.5, 0.5), out_length, generator=gen(4))
    assert y.shape == (8, 2, out_length) and m is None
    starts = []
    for b in range(8):
        hits = [
            s
            for s in range(40 - 20 + 1)
            if torch.allclose(y[b], crop_reference(x[b, :, s : s + 20], out_length), atol=1e-5)
        ]
        assert len(hits) == 1
        starts.append(hits[0])
    assert len(set(starts)) > 1


def test_random_resized_crop_lengths_follow_the_scale() -> None:
    length, out = 200, 400
    x = torch.arange(length, dtype=torch.float64).expand(64, 1, length).contiguous()
    y, _ = random_resized_crop(x, (0.8, 1.0), out, generator=gen(5))
    slope = y[:, 0, 10] - y[:, 0, 9]  # interior step = segment length / out length
    seg = torch.round(slope * out)
    assert torch.all((seg >= round(0.8 * length)) & (seg <= length))
    assert seg.unique().numel() > 5
    assert torch.all(y >= 0) and torch.all(y <= length - 1)  # never outside the series


def test_random_resized_crop_full_scale_is_identity() -> None:
    x = torch.randn(3, 2, 30, generator=gen(0))
    mask = torch.rand(3, 2, 30, generator=gen(1)) > 0.2
    y, m = random_resized_crop(x, (1.0, 1.0), mask=mask, generator=gen(2))
    assert torch.equal(y, x) and torch.equal(m, mask)


def test_random_resized_crop_drops_trailing_padding() -> None:
    batch, length = 16, 100
    valid = torch.randint(20, length + 1, (batch,), generator=gen(0))
    t = torch.arange(length, dtype=torch.float64)
    mask = (t[None, :] < valid[:, None]).unsqueeze(1).expand(batch, 2, length).contiguous()
    x = torch.where(mask, t.expand(batch, 2, length), torch.full((), 1e6, dtype=torch.float64))
    y, m = random_resized_crop(x, (0.8, 1.0), 64, mask, generator=gen(1))
    assert m is not None and m.all()
    assert torch.all(y <= (valid - 1).view(-1, 1, 1).double())


def test_random_resized_crop_mask_marks_points_touching_gaps() -> None:
    x = torch.randn(6, 3, 50, generator=gen(0), dtype=torch.float64)
    mask = torch.rand(6, 3, 50, generator=gen(1)) > 0.1
    mask[:, :, -1] = True  # keep the full length valid so the segment matches the reference
    y, m = random_resized_crop(x, (0.6, 0.6), 77, mask, generator=gen(2))
    for b in range(6):
        for s in range(50 - 30 + 1):
            if torch.allclose(y[b], crop_reference(x[b, :, s : s + 30], 77), atol=1e-5):
                missing = (~mask[b, :, s : s + 30]).double()
                touched = crop_reference(missing, 77) > 0
                assert torch.equal(m[b], ~touched)
                break
        else:
            pytest.fail(f"sample {b}: no segment reproduces the crop")


def test_random_resized_crop_2d_grad_and_errors() -> None:
    x = torch.randn(4, 30, requires_grad=True)
    y, _ = random_resized_crop(x, out_length=16, generator=gen(0))
    assert y.shape == (4, 16)
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="scale must satisfy"):
        random_resized_crop(x, (0.0, 1.0), generator=gen(0))
    with pytest.raises(ValueError, match="mask must be a bool tensor"):
        random_resized_crop(x, mask=torch.ones(4, 30), generator=gen(0))


def test_apply_per_sample_flips_one_coin_per_sample() -> None:
    x = torch.zeros(400, 1, 8)

    def plus_one(t: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        return t + 1

    y = apply_per_sample(plus_one, x, 0.5, generator=gen(0))
    hit = y[:, 0, 0] == 1
    assert torch.all((y == 0).all(-1).all(-1) | (y == 1).all(-1).all(-1))
    assert 0.4 < hit.double().mean() < 0.6
    often = apply_per_sample(plus_one, x, 0.9, generator=gen(1))[:, 0, 0] == 1
    assert 0.85 < often.double().mean() < 0.95
    assert torch.equal(y, apply_per_sample(plus_one, x, 0.5, generator=gen(0)))
    assert apply_per_sample(plus_one, x, 0.0, generator=gen(0)) is x
    assert torch.all(apply_per_sample(plus_one, x, 1.0, generator=gen(0)) == 1)
    with pytest.raises(ValueError, match="shape-preserving"):
        apply_per_sample(lambda t, g: t[..., :4], x, 0.5, generator=gen(0))
    with pytest.raises(ValueError, match="probability"):
        apply_per_sample(plus_one, x, 1.5, generator=gen(0))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16])
def test_shape_dtype_device_preserved(dtype: torch.dtype, device: str) -> None:
    x = torch.randn(3, 2, 40, generator=gen(0)).to(device=device, dtype=dtype)
    g = gen(1, device)
    outs = [
        jitter(x, generator=g),
        amplitude_scale(x, generator=g),
        fft_band_mask(x, generator=g),
        random_resized_crop(x, generator=g)[0],
    ]
    for y in outs:
        assert y.shape == x.shape and y.dtype == dtype and y.device == x.device


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cpu_generator_drives_cuda_data_identically() -> None:
    x = torch.randn(4, 2, 64, generator=gen(0))
    for fn in (jitter, amplitude_scale, fft_band_mask):
        cpu = fn(x, generator=gen(7))
        cuda = fn(x.cuda(), generator=gen(7))
        assert torch.allclose(cuda.cpu(), cpu, atol=1e-5)
