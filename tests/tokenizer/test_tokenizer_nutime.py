"""NuTime tokenizer: NME against an explicit loop, masked window stats, 1e-8..1e12 behaviour."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tsdividend.tokenizer import NME, NuTimeTokenizer, build_tokenizer, window_stats

SCALES = [10.0**i for i in range(-4, 5)]


def _nme_reference(x: float, w: np.ndarray, b: np.ndarray, rel_eps: bool = True) -> np.ndarray:
    """NuTime's formula written out in float64 loops.

    Block i: LayerNorm_noaffine(x * w_i + k_i * b_i) with eps 1e-5 * k_i**2 (ours) or 1e-5 (the
    reference code's absolute eps); weights 1 / (|ln(|x| / k_i + 1e-6)| + 1e-6), normalised.
    """
    alphas = [1.0 / (abs(math.log(abs(x) / k + 1e-6)) + 1e-6) for k in SCALES]
    total = sum(alphas)
    out = np.zeros(w.shape[1])
    for i, k in enumerate(SCALES):
        z = [x * w[i, j] + k * b[i, j] for j in range(w.shape[1])]
        mu = sum(z) / len(z)
        var = sum((v - mu) ** 2 for v in z) / len(z)
        eps = 1e-5 * k * k if rel_eps else 1e-5
        out += alphas[i] / total * (np.array(z) - mu) / math.sqrt(var + eps)
    return out


@pytest.fixture(scope="module")
def nme() -> NME:
    module = NME(dim=32, n_scales=9)
    module.reset_parameters(torch.Generator().manual_seed(3))
    return module


XS = [0.0, 1e-8, -3e-5, 1e-4, 2e-3, 0.37, -2.5, 1e3, 1e4, -7e6, 1e12]


def test_nme_matches_explicit_loop(nme):
    w, b = nme.w.detach().double().numpy(), nme.b.detach().double().numpy()
    got = nme(torch.tensor(XS)).detach().double().numpy()
    for x, row in zip(XS, got, strict=True):
        np.testing.assert_allclose(row, _nme_reference(x, w, b), atol=2e-4, err_msg=f"x={x}")


def test_nme_equals_reference_code_form_for_unit_and_larger_values(nme):
    # The per-block relative LayerNorm eps is our one deviation; it only matters for |x| < 1.
    w, b = nme.w.detach().double().numpy(), nme.b.detach().double().numpy()
    xs = [1.0, -3.0, 250.0, 1e4, 1e8]
    got = nme(torch.tensor(xs)).detach().double().numpy()
    for x, row in zip(xs, got, strict=True):
        np.testing.assert_allclose(row, _nme_reference(x, w, b, rel_eps=False), atol=2e-4)


def test_nme_weights_one_hot_at_scales_uniform_at_zero(nme):
    weights = nme.weights(torch.tensor(SCALES + [-s for s in SCALES]))
    expected = torch.eye(9).repeat(2, 1)
    torch.testing.assert_close(weights, expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(nme.weights(torch.zeros(3)), torch.full((3, 9), 1 / 9))
    torch.testing.assert_close(nme.weights(torch.rand(50) * 1e6).sum(-1), torch.ones(50))


def test_every_block_is_normalised_at_its_own_scale(nme):
    # At |x| = k_i the output is block i alone: a unit-variance, zero-mean vector (norm sqrt(32)),
    # also for k = 1e-4, where an absolute LayerNorm eps would squash it towards 0.
    out = nme(torch.tensor(SCALES))
    torch.testing.assert_close(out.norm(dim=-1), torch.full((9,), 32**0.5), atol=1e-2, rtol=0)
    torch.testing.assert_close(out.mean(dim=-1), torch.zeros(9), atol=1e-4, rtol=0)


def test_nme_finite_for_extreme_magnitudes_and_autocast(nme):
    x = torch.tensor([3e38, -3e38, 1e30, 1e-38, 0.0])
    assert torch.isfinite(nme(x)).all()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = nme(torch.tensor(XS))
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, nme(torch.tensor(XS)), rtol=0, atol=0)


def test_window_stats_match_numpy_masked_reference():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 2, 40, generator=g) * 4 + 10
    mask = torch.rand(2, 2, 40, generator=g) > 0.3
    mask[0, 0, :16] = False  # fully missing window
    mask[0, 1, 16:32] = False
    mask[0, 1, 20] = True  # a single observed step
    ws = window_stats(x, mask, 16, 16)
    for b in range(2):
        for c in range(2):
            for k in range(3):
                seg = slice(16 * k, min(16 * k + 16, 40))
                vals = x[b, c, seg][mask[b, c, seg]].double().numpy()
                mean = vals.mean() if vals.size else 0.0
                std = vals.std(ddof=1) if vals.size > 1 else 0.0
                row = b * 2 + c
                assert ws.count[row, k] == vals.size
                assert abs(ws.mean[row, k].item() - mean) < 1e-5
                assert abs(ws.std[row, k].item() - std) < 1e-5
    tb = NuTimeTokenizer(16, 16, 16, 8)(x, mask)
    assert tb.padding[0, 0] and not tb.padding[1, 1] and tb.padding.sum() == 1
    assert torch.isfinite(tb.tokens).all()


def test_tokens_equal_explicit_composition():
    tok = NuTimeTokenizer(16, 16, 24, 8)
    tok.reset_parameters(torch.Generator().manual_seed(0))
    x = torch.randn(2, 1, 32).cumsum(-1) * 50
    w = x.reshape(2, 2, 16).double()
    mean, std = w.mean(-1), w.std(-1)
    shape = ((w - mean[..., None]) / (std[..., None] + 1e-8)).float()
    with torch.no_grad():
        parts = [
            tok.shape_norm(tok.shape_proj(shape)),
            tok.nme(mean.float()),
            tok.nme(std.float()),
        ]
        expected = tok.norm(tok.fuse(torch.cat(parts, -1)))
        got = tok(x).tokens
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)


def test_stats_are_detached_and_shape_path_has_gradient():
    tok = NuTimeTokenizer(16, 16, 8, 4)
    x = (torch.randn(1, 1, 32) * 3).requires_grad_()
    probe = torch.randn(1, 2, 8, generator=torch.Generator().manual_seed(0))
    (tok(x).tokens * probe).sum().backward()  # a plain sum of LayerNorm outputs has no gradient
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert tok.nme.w.grad is not None and tok.nme.w.grad.abs().sum() > 0


@pytest.fixture(scope="module")
def scale_setup() -> tuple[NuTimeTokenizer, torch.Tensor]:
    tok = NuTimeTokenizer(16, 16, 64, 32)
    tok.reset_parameters(torch.Generator().manual_seed(1))
    g = torch.Generator().manual_seed(0)
    series = torch.randn(8, 1, 64, generator=g, dtype=torch.float64).cumsum(-1)  # 8 random walks
    return tok, series


@pytest.mark.parametrize("scale", [1e-8, 1e-4, 1.0, 1e4, 1e8, 1e12])
def test_embeddings_finite_and_informative_across_scales(scale_setup, scale):
    """Thresholds: different series stay apart (min pairwise distance >= 30% of the median, no
    collapse onto one point), the 32 x 64 token matrix has rank >= 8, and the same series at 10x
    magnitude moves each token by >= 1e-2 on average (tokens have norm 8; float32 resolution is
    ~1e-6): NME keeps seeing the magnitude even 8 decades past its largest scale."""
    tok, series = scale_setup
    with torch.no_grad():
        tokens = tok((scale * series).float()).tokens  # (8, 4, 64)
        tokens10 = tok((10 * scale * series).float()).tokens
    assert torch.isfinite(tokens).all() and torch.isfinite(tokens10).all()
    flat = tokens.reshape(8, -1)
    dist = torch.cdist(flat, flat)[~torch.eye(8, dtype=torch.bool)]
    assert dist.min() >= 0.3 * dist.median(), (dist.min(), dist.median())
    assert torch.linalg.matrix_rank(tokens.reshape(-1, 64), atol=1e-3) >= 8
    assert (tokens10 - tokens).norm(dim=-1).mean() >= 1e-2


def test_no_precision_loss_around_1e12_and_under_bf16():
    g = torch.Generator().manual_seed(2)
    x = (1e12 + 1e6 * torch.randn(4, 1, 64, generator=g, dtype=torch.float64)).float()
    ws = window_stats(x, None, 16, 16)
    ref = x.double().reshape(4, 4, 16)
    torch.testing.assert_close(ws.std.double(), ref.std(-1), rtol=1e-5, atol=0)
    torch.testing.assert_close(ws.mean.double(), ref.mean(-1), rtol=1e-7, atol=0)
    tok = build_tokenizer("nutime", d_model=16, nme_dim=8)
    with torch.no_grad():
        plain = tok(x).tokens
        with torch.autocast("cpu", dtype=torch.bfloat16):
            mixed = tok(x).tokens
    assert mixed.dtype == torch.float32 and torch.isfinite(plain).all()
    torch.testing.assert_close(mixed, plain, rtol=0, atol=0)


def test_masked_values_never_leak_and_channels_are_independent():
    g = torch.Generator().manual_seed(5)
    x = torch.randn(2, 3, 48, generator=g) * 100
    mask = torch.rand(2, 3, 48, generator=g) > 0.2
    tok = NuTimeTokenizer(16, 16, 16, 8)
    ref = tok(x, mask).tokens
    nan = torch.where(mask, x, torch.full((), float("nan")))
    torch.testing.assert_close(tok(nan, mask).tokens, ref, rtol=0, atol=0)
    alone = tok(x[1:2, 2:3], mask[1:2, 2:3]).tokens[0]
    torch.testing.assert_close(ref[1 * 3 + 2], alone)
