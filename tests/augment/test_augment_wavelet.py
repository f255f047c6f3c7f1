"""Batched DWT: agreement with PyWavelets, and each mode changes what it should and nothing else."""

from __future__ import annotations

import numpy as np
import pytest
import pywt
import torch

from tsdividend.augment import (
    BOUNDARY_MODES,
    band_scale,
    band_scale_coeffs,
    dwt_level,
    high_perturb,
    high_perturb_coeffs,
    low_pass,
    low_pass_coeffs,
    soft_threshold,
    soft_threshold_coeffs,
    wavedec,
    waverec,
    zero_out,
    zero_out_coeffs,
)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def gen(seed: int, device: str = "cpu") -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


def np_soft(coeffs: list[np.ndarray], sigma: float) -> list[np.ndarray]:
    """Independent reference: explicit loop over series and bands."""
    out = [coeffs[0].copy()]
    for c in coeffs[1:]:
        d = c.copy()
        for idx in np.ndindex(c.shape[:-1]):
            thr = sigma * np.abs(c[idx]).max()
            d[idx] = np.sign(c[idx]) * np.maximum(np.abs(c[idx]) - thr, 0.0)
        out.append(d)
    return out


# ---------------------------------------------------------------- PyWavelets agreement


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("length", [14, 15, 64, 101, 336, 337])
@pytest.mark.parametrize("mode", BOUNDARY_MODES)
def test_wavedec_waverec_match_pywt(mode: str, length: int, dtype: torch.dtype) -> None:
    rng = np.random.default_rng(length)
    x_np = rng.standard_normal((3, 2, length)).astype(np.float64)
    x = torch.from_numpy(x_np).to(dtype)
    level = dwt_level(length, "db4", 3)
    ref = pywt.wavedec(x.double().numpy(), "db4", mode=mode, level=level)
    got = wavedec(x, "db4", 3, mode)
    assert len(got) == len(ref) == level + 1
    for r, g in zip(ref, got, strict=True):
        assert g.dtype == dtype and tuple(g.shape) == r.shape
        np.testing.assert_allclose(g.double().numpy(), r, atol=1e-5, rtol=1e-5)
    # Reconstruction from the reference coefficients, and the round trip.
    ref_rec = pywt.waverec(ref, "db4", mode=mode)[..., :length]
    rec = waverec([torch.from_numpy(c).to(dtype) for c in ref], "db4", length=length)
    np.testing.assert_allclose(rec.double().numpy(), ref_rec, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(waverec(got, "db4", length).double().numpy(), x_np, atol=1e-5)


@pytest.mark.parametrize("wavelet", ["haar", "db2", "sym8", "coif2", "bior3.5"])
@pytest.mark.parametrize("length", [50, 97])
def test_other_wavelets_and_2d_input_match_pywt(wavelet: str, length: int) -> None:
    x = torch.randn(5, length, generator=gen(1), dtype=torch.float64)
    level = dwt_level(length, wavelet, 4)
    ref = pywt.wavedec(x.numpy(), wavelet, mode="symmetric", level=level)
    got = wavedec(x, wavelet, 4)
    for r, g in zip(ref, got, strict=True):
        np.testing.assert_allclose(g.numpy(), r, atol=1e-10)
    np.testing.assert_allclose(waverec(got, wavelet, length).numpy(), x.numpy(), atol=1e-10)


def test_level_is_clamped_for_short_series_and_too_short_fails() -> None:
    assert dwt_level(20, "db4", 3) == pywt.dwt_max_level(20, 8) == 1
    assert dwt_level(336, "db4", 3) == 3
    assert len(wavedec(torch.randn(2, 1, 20), "db4", 3)) == 2
    y = soft_threshold(torch.randn(2, 1, 20))
    assert y.shape == (2, 1, 20)
    with pytest.raises(ValueError, match="length 13 .* need length >= 14"):
        soft_threshold(torch.randn(2, 13))
    with pytest.raises(ValueError, match="level must be >= 1"):
        dwt_level(100, "db4", 0)


def test_bad_names_are_reported() -> None:
    x = torch.randn(2, 64)
    with pytest.raises(ValueError, match="unknown discrete wavelet 'db99'"):
        soft_threshold(x, wavelet="db99")
    with pytest.raises(ValueError, match="unknown boundary mode 'wrap'; valid: symmetric"):
        low_pass(x, mode="wrap")
    with pytest.raises(ValueError, match="sigma"):
        soft_threshold(x, sigma=1.5)
    with pytest.raises(ValueError, match=r"\(lo, hi\)"):
        high_perturb(x, 0.3, 0.1, generator=gen(0))
    with pytest.raises(TypeError, match="float32 or float64"):
        wavedec(torch.zeros(2, 64, dtype=torch.int64))


# ---------------------------------------------------------------- coefficient-domain modes


def coeffs_of(batch: int = 6, channels: int = 3, length: int = 512, seed: int = 0):
    x = torch.randn(batch, channels, length, generator=gen(seed), dtype=torch.float64)
    return wavedec(x, "db4", 3)


def test_soft_threshold_shrinks_each_detail_by_its_threshold() -> None:
    coeffs = coeffs_of()
    out = soft_threshold_coeffs(coeffs, 0.3)
    assert torch.equal(out[0], coeffs[0])
    ref = np_soft([c.numpy() for c in coeffs], 0.3)
    for c, o, r in zip(coeffs[1:], out[1:], ref[1:], strict=True):
        np.testing.assert_allclose(o.numpy(), r, atol=1e-12)
        thr = 0.3 * c.abs().amax(-1, keepdim=True)
        big = c.abs() > thr
        assert torch.allclose((c.abs() - o.abs())[big], thr.expand_as(c)[big])
        assert torch.all(o[~big] == 0) and torch.all(o[big].sign() == c[big].sign())


def test_high_perturb_noise_std_is_per_sample_within_range() -> None:
    coeffs = coeffs_of(batch=16, channels=8, length=1024)
    out = high_perturb_coeffs(coeffs, 0.1, 0.3, generator=gen(3))
    assert torch.equal(out[0], coeffs[0])
    noise = torch.cat([(o - c).flatten(1) for c, o in zip(coeffs[1:], out[1:], strict=True)], 1)
    std = noise.std(dim=1)
    assert torch.all(std > 0.1 * 0.95) and torch.all(std < 0.3 * 1.05)
    assert std.max() - std.min() > 0.05  # not one draw for the whole batch
    assert noise.mean().abs() < 0.01
    fixed = high_perturb_coeffs(coeffs, 0.2, 0.2, generator=gen(3))
    pairs = zip(coeffs[1:], fixed[1:], strict=True)
    std_fixed = torch.cat([(o - c).flatten(1) for c, o in pairs], 1).std(1)
    assert torch.allclose(std_fixed, torch.full_like(std_fixed, 0.2), rtol=0.05)


@pytest.mark.parametrize("finest_levels", [1, 2, 5])
def test_zero_out_touches_only_the_finest_bands(finest_levels: int) -> None:
    coeffs = coeffs_of(batch=8, channels=4, length=2048)
    out = zero_out_coeffs(coeffs, 0.4, finest_levels, generator=gen(5))
    touched = min(finest_levels, len(coeffs) - 1)
    for c, o in zip(coeffs[: len(coeffs) - touched], out[: len(coeffs) - touched], strict=True):
        assert torch.equal(c, o)  # approximation and coarser bands untouched
    for c, o in zip(coeffs[-touched:], out[-touched:], strict=True):
        zeroed = o == 0
        assert torch.equal(o[~zeroed], c[~zeroed])
        assert abs(zeroed.double().mean().item() - 0.4) < 0.03
        assert not torch.equal(zeroed[0], zeroed[1])  # a mask per sample


def test_low_pass_zeroes_details_only() -> None:
    coeffs = coeffs_of()
    out = low_pass_coeffs(coeffs)
    assert torch.equal(out[0], coeffs[0])
    assert all(torch.all(o == 0) for o in out[1:])


def test_band_scale_factors_per_sample_and_band() -> None:
    coeffs = coeffs_of(batch=10)
    out = band_scale_coeffs(coeffs, (0.8, 1.2), (0.4, 1.6), generator=gen(7))
    factors = []
    for k, (c, o) in enumerate(zip(coeffs, out, strict=True)):
        ratio = o / c
        f = ratio[:, 0, 0]
        assert torch.allclose(ratio, f.view(-1, 1, 1).expand_as(ratio))  # one gain per sample
        lo, hi = (0.8, 1.2) if k == 0 else (0.4, 1.6)
        assert torch.all((f >= lo) & (f <= hi))
        assert f.std() > 0.01
        factors.append(f)
    assert not torch.allclose(factors[1], factors[2])  # each detail band its own factor


# ---------------------------------------------------------------- signal-domain modes


def test_soft_threshold_and_low_pass_match_pywt_pipeline() -> None:
    x = torch.randn(4, 2, 101, generator=gen(11), dtype=torch.float64)
    ref_coeffs = pywt.wavedec(x.numpy(), "db4", mode="symmetric", level=3)
    ref = pywt.waverec(np_soft(ref_coeffs, 0.3), "db4", mode="symmetric")[..., :101]
    np.testing.assert_allclose(soft_threshold(x).numpy(), ref, atol=1e-10)
    lp = [ref_coeffs[0]] + [np.zeros_like(c) for c in ref_coeffs[1:]]
    ref_lp = pywt.waverec(lp, "db4", mode="symmetric")[..., :101]
    np.testing.assert_allclose(low_pass(x).numpy(), ref_lp, atol=1e-10)


@pytest.mark.parametrize("name", ["high_perturb", "zero_out", "band_scale"])
def test_random_modes_are_dwt_op_dwt_inverse(name: str) -> None:
    x = torch.randn(4, 2, 90, generator=gen(12), dtype=torch.float64)
    signal_fn = {"high_perturb": high_perturb, "zero_out": zero_out, "band_scale": band_scale}
    coeff_fn = {
        "high_perturb": high_perturb_coeffs,
        "zero_out": zero_out_coeffs,
        "band_scale": band_scale_coeffs,
    }
    y = signal_fn[name](x, generator=gen(4))
    coeffs = coeff_fn[name](wavedec(x, "db4", 3), generator=gen(4))
    ref = pywt.waverec([c.numpy() for c in coeffs], "db4", mode="symmetric")[..., :90]
    np.testing.assert_allclose(y.numpy(), ref, atol=1e-10)


def test_identity_settings_reconstruct_the_input() -> None:
    x = torch.randn(3, 2, 77, generator=gen(2), dtype=torch.float64)
    assert torch.allclose(soft_threshold(x, 0.0), x, atol=1e-10)
    assert torch.allclose(high_perturb(x, 0.0, 0.0, generator=gen(0)), x, atol=1e-10)
    assert torch.allclose(zero_out(x, 0.0, generator=gen(0)), x, atol=1e-10)
    assert torch.allclose(band_scale(x, (1, 1), (1, 1), generator=gen(0)), x, atol=1e-10)


@pytest.mark.parametrize("name", ["high_perturb", "zero_out", "band_scale"])
def test_randomness_per_sample_and_reproducible(name: str) -> None:
    fn = {"high_perturb": high_perturb, "zero_out": zero_out, "band_scale": band_scale}[name]
    x = torch.randn(1, 1, 128, generator=gen(0)).expand(4, 2, 128).contiguous()
    y = fn(x, generator=gen(9))
    assert not torch.allclose(y[0], y[1])  # identical inputs, different draws
    assert torch.equal(y, fn(x, generator=gen(9)))
    assert not torch.equal(y, fn(x, generator=gen(10)))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16])
@pytest.mark.parametrize("shape", [(3, 2, 60), (3, 61)])
def test_shape_dtype_device_preserved(shape: tuple[int, ...], dtype: torch.dtype, device: str):
    x = torch.randn(shape, generator=gen(0)).to(device=device, dtype=dtype)
    g = gen(1, device)
    outs = [
        soft_threshold(x),
        high_perturb(x, generator=g),
        zero_out(x, generator=g),
        low_pass(x),
        band_scale(x, generator=g),
    ]
    for y in outs:
        assert y.shape == x.shape and y.dtype == dtype and y.device == x.device
        assert torch.isfinite(y).all()


def test_autograd_flows_through_the_dwt() -> None:
    x = torch.randn(2, 1, 20, generator=gen(0), dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: band_scale(t, generator=gen(3)), (x,))
    assert torch.autograd.gradcheck(lambda t: high_perturb(t, generator=gen(3)), (x,))
    soft_threshold(x).pow(2).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_views_work_under_bf16_autocast():
    from tsdividend.augment import high_perturb, soft_threshold

    x = torch.randn(4, 2, 64)
    g = torch.Generator().manual_seed(0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = soft_threshold(x)
        z = high_perturb(x, generator=g)
    assert y.dtype == x.dtype and z.dtype == x.dtype
    assert torch.allclose(y, soft_threshold(x), atol=1e-6)
