"""Patch tokenizer: windowing, masked instance normalisation, patchify, de-normalisation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tsdividend.tokenizer import (
    TOKENIZERS,
    PatchTokenizer,
    build_tokenizer,
    instance_stats,
    masked_moments,
    num_windows,
    patchify,
)


def _batch(b: int = 3, c: int = 2, t: int = 45, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, c, t, generator=g) * 3 + 5
    mask = torch.rand(b, c, t, generator=g) > 0.25
    return torch.where(mask, x, torch.zeros(())), mask


@pytest.mark.parametrize(
    ("length", "patch_len", "stride"),
    [
        (1, 16, 16),
        (15, 16, 16),
        (16, 16, 16),
        (17, 16, 16),
        (336, 16, 16),
        (337, 16, 8),
        (40, 5, 3),
    ],
)
def test_num_windows_is_the_fewest_windows_covering_the_series(length, patch_len, stride):
    n = 1
    while (n - 1) * stride + patch_len < length:  # explicit search, independent of the formula
        n += 1
    assert num_windows(length, patch_len, stride) == n
    assert PatchTokenizer(patch_len, stride, 8).num_tokens(length) == n


def _reference_patches(x, mask, patch_len, stride, eps):
    """Explicit float64 loops: masked instance norm, right-padding, patches."""
    x, mask = x.double().numpy(), mask.numpy()
    b, c, t = x.shape
    n = num_windows(t, patch_len, stride)
    values = np.zeros((b * c, n, patch_len))
    observed = np.zeros((b * c, n, patch_len), dtype=bool)
    means, stds = np.zeros((b, c)), np.zeros((b, c))
    for i in range(b):
        for j in range(c):
            obs = x[i, j][mask[i, j]]
            mu = obs.mean() if obs.size else 0.0
            var = ((obs - mu) ** 2).mean() if obs.size else 0.0
            means[i, j], stds[i, j] = mu, np.sqrt(var + eps)
            for k in range(n):
                for p in range(patch_len):
                    s = k * stride + p
                    if s < t and mask[i, j, s]:
                        values[i * c + j, k, p] = (x[i, j, s] - mu) / stds[i, j]
                        observed[i * c + j, k, p] = True
    return values, observed, means, stds


@pytest.mark.parametrize(("patch_len", "stride"), [(16, 16), (8, 5)])
def test_patchify_matches_explicit_reference(patch_len, stride):
    x, mask = _batch()
    mask[1, 0] = False  # a fully missing series
    mask[2, 1, :20] = False  # leading missing patch
    p = patchify(x, mask, patch_len, stride, eps=1e-5)
    values, observed, means, stds = _reference_patches(x, mask, patch_len, stride, 1e-5)
    np.testing.assert_allclose(p.values.numpy(), values, atol=1e-5)
    np.testing.assert_array_equal(p.observed.numpy(), observed)
    np.testing.assert_array_equal(p.padding.numpy(), ~observed.any(-1))
    np.testing.assert_allclose(p.stats.mean[..., 0].numpy(), means, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(p.stats.std[..., 0].numpy(), stds, rtol=1e-6)
    assert p.padding[1 * 2 + 0].all() and p.padding[2 * 2 + 1, 0]
    assert p.n_channels == 2


def test_right_padding_when_length_is_not_a_multiple():
    x = torch.randn(1, 1, 40)
    p = patchify(x, None, 16, 16)
    assert p.values.shape == (1, 3, 16)
    assert p.observed[0, 2].sum() == 8 and not p.observed[0, 2, 8:].any()
    assert (p.values[0, 2, 8:] == 0).all() and not p.padding.any()


def test_tokens_ignore_unobserved_values_even_nan():
    x, mask = _batch()
    tok = PatchTokenizer(16, 16, 12)
    ref = tok(x, mask)
    garbage = torch.where(mask, x, torch.full((), float("nan")))
    out = tok(garbage, mask)
    torch.testing.assert_close(out.tokens, ref.tokens, rtol=0, atol=0)
    torch.testing.assert_close(out.padding, ref.padding)
    garbage = torch.where(mask, x, torch.full((), 1e6))
    torch.testing.assert_close(tok(garbage, mask).tokens, ref.tokens, rtol=0, atol=0)


def test_channels_are_folded_in_order_and_tokenized_independently():
    x, mask = _batch(b=2, c=3)
    tok = PatchTokenizer(16, 16, 12)
    full = tok(x, mask).tokens
    for b in range(2):
        for c in range(3):
            alone = tok(x[b : b + 1, c : c + 1], mask[b : b + 1, c : c + 1]).tokens[0]
            torch.testing.assert_close(full[b * 3 + c], alone)


def test_constant_and_fully_missing_series_are_finite():
    x = torch.full((2, 1, 32), 7.0)
    mask = torch.ones_like(x, dtype=torch.bool)
    mask[1] = False
    tb = PatchTokenizer(16, 16, 8)(x, mask)
    assert torch.isfinite(tb.tokens).all()
    p = patchify(x, mask)
    assert (p.values == 0).all()  # constant series normalises to zeros
    assert tb.padding[1].all() and not tb.padding[0].any()


def test_denormalize_inverts_normalize_on_a_horizon():
    x, mask = _batch()
    stats = instance_stats(x, mask)
    horizon = torch.randn(3, 2, 24)
    torch.testing.assert_close(stats.normalize(stats.denormalize(horizon)), horizon)
    raw = stats.denormalize(horizon)
    expected = horizon * stats.std + stats.mean
    torch.testing.assert_close(raw, expected)
    obs = x[0, 1][mask[0, 1]].double()
    assert abs(stats.mean[0, 1, 0].item() - obs.mean().item()) < 1e-5


def test_masked_moments_keep_precision_around_1e12():
    g = torch.Generator().manual_seed(0)
    x = (1e12 + 1e6 * torch.randn(4, 64, generator=g, dtype=torch.float64)).float()
    mask = torch.ones_like(x, dtype=torch.bool)
    mean, std, _ = masked_moments(x, mask, unbiased=True)
    ref = x.double()
    torch.testing.assert_close(mean[:, 0].double(), ref.mean(-1), rtol=1e-7, atol=0)
    torch.testing.assert_close(std[:, 0].double(), ref.std(-1), rtol=1e-5, atol=0)
    # The naive one-pass float32 formula loses the spread entirely: the test can tell.
    naive = (x.pow(2).mean(-1) - x.mean(-1).pow(2)).clamp_min(0).sqrt()
    assert ((naive.double() - ref.std(-1)).abs() / ref.std(-1)).max() > 0.1


def test_bf16_autocast_keeps_float32_stats():
    x, mask = _batch()
    tok = PatchTokenizer(16, 16, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        tb = tok(x, mask)
    assert tb.stats.mean.dtype == torch.float32 and torch.isfinite(tb.tokens).all()
    torch.testing.assert_close(tb.tokens.float(), tok(x, mask).tokens, atol=0.1, rtol=0.05)


def test_registry_and_validation_errors():
    assert set(TOKENIZERS.names()) >= {"patch", "nutime"}
    assert isinstance(build_tokenizer("patch", d_model=8), PatchTokenizer)
    with pytest.raises(KeyError, match="valid: patch, nutime"):
        build_tokenizer("pach")
    with pytest.raises(ValueError, match="stride must be in"):
        PatchTokenizer(patch_len=8, stride=9)
    tok = PatchTokenizer(16, 16, 8)
    with pytest.raises(ValueError, match=r"x must be \(B, C, T\)"):
        tok(torch.randn(4, 32))
    with pytest.raises(ValueError, match="mask must be bool"):
        tok(torch.randn(1, 1, 32), torch.ones(1, 1, 32))
