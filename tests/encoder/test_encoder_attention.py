"""Attention masks: SDPA against explicit softmax attention, causal and key-padding invariances."""

from __future__ import annotations

import math

import pytest
import torch

from tsdividend.encoder import Encoder, EncoderConfig, SelfAttention, attention_mask

TINY = EncoderConfig(d_model=16, depth=2, n_heads=2, dropout=0.0, max_len=64)


def _encoder(**kw) -> Encoder:
    cfg = EncoderConfig(**{**TINY.__dict__, **kw})
    return Encoder(cfg, generator=torch.Generator().manual_seed(0)).eval()


def _explicit_attention(
    attn: SelfAttention, x: torch.Tensor, allowed: torch.Tensor
) -> torch.Tensor:
    """Softmax attention written out; ``allowed`` (B, L, L) True = may attend."""
    b, n, d = x.shape
    h = attn.n_heads
    q, k, v = attn.qkv(x).split(d, dim=-1)
    q, k, v = (t.reshape(b, n, h, d // h).transpose(1, 2) for t in (q, k, v))
    scores = q @ k.transpose(-1, -2) / math.sqrt(d // h)
    scores = scores.masked_fill(~allowed[:, None], float("-inf"))
    y = scores.softmax(-1) @ v
    return attn.proj(y.transpose(1, 2).reshape(b, n, d))


def _allowed_loop(padding: torch.Tensor, causal: bool) -> torch.Tensor:
    b, n = padding.shape
    out = torch.zeros(b, n, n, dtype=torch.bool)
    for i in range(b):
        for q in range(n):
            for k in range(n):
                visible = (not padding[i, k]) or k == q
                out[i, q, k] = visible and (k <= q or not causal)
    return out


@pytest.mark.parametrize("causal", [False, True])
def test_sdpa_with_combined_masks_matches_explicit_attention(causal):
    torch.manual_seed(0)
    attn = SelfAttention(16, 4, 0.0).eval()
    x = torch.randn(3, 7, 16)
    padding = torch.rand(3, 7) > 0.6
    padding[2] = True  # a fully padded row: every query still sees itself
    mask, is_causal = attention_mask(padding, causal, 7)
    allowed = _allowed_loop(padding, causal)
    assert mask is not None and not is_causal
    assert torch.equal(mask[:, 0], allowed)
    got = attn(x, mask, is_causal)
    torch.testing.assert_close(got, _explicit_attention(attn, x, allowed), atol=1e-5, rtol=1e-5)
    assert torch.isfinite(got).all()


def test_no_padding_uses_sdpa_causal_flag():
    assert attention_mask(None, True, 5) == (None, True)
    attn = SelfAttention(8, 2, 0.0).eval()
    x = torch.randn(2, 5, 8)
    allowed = torch.ones(5, 5, dtype=torch.bool).tril().expand(2, 5, 5)
    torch.testing.assert_close(attn(x, None, True), _explicit_attention(attn, x, allowed))


@pytest.mark.parametrize("use_cls", [False, True])
def test_causal_output_unchanged_when_future_tokens_change(use_cls):
    enc = _encoder()
    tokens = torch.randn(2, 9, 16)
    changed = tokens.clone()
    changed[:, 5:] = torch.randn(2, 4, 16) * 10
    a = enc.forward_tokens(tokens, causal=True, use_cls=use_cls)
    b = enc.forward_tokens(changed, causal=True, use_cls=use_cls)
    past = 5 + int(use_cls)
    torch.testing.assert_close(a[:, :past], b[:, :past], rtol=0, atol=1e-6)
    assert (a[:, past:] - b[:, past:]).abs().max() > 1e-2  # the future itself did change
    full = enc.forward_tokens(tokens, causal=False, use_cls=use_cls)
    assert (full[:, :past] - a[:, :past]).abs().max() > 1e-3  # causal really restricts


def test_causal_from_series_with_window_local_tokenizer():
    # NuTime tokens depend on their own window only, so causality holds from raw series.
    # (The patch tokenizer's instance norm uses the whole series: the objective must handle it.)
    enc = _encoder(tokenizer="nutime")
    x = torch.randn(2, 1, 96)
    y = x.clone()
    y[..., 64:] += 5.0
    a, b = enc.tokens(x, causal=True), enc.tokens(y, causal=True)
    torch.testing.assert_close(a[:, :4], b[:, :4], rtol=0, atol=1e-6)


@pytest.mark.parametrize(("causal", "use_cls"), [(False, True), (False, False), (True, True)])
def test_observed_outputs_unchanged_when_padded_tokens_change(causal, use_cls):
    enc = _encoder()
    tokens = torch.randn(3, 8, 16)
    padding = torch.zeros(3, 8, dtype=torch.bool)
    padding[0, 5:] = True
    padding[1, ::2] = True
    changed = torch.where(padding[..., None], torch.randn(3, 8, 16) * 100, tokens)
    kw = {"causal": causal, "key_padding_mask": padding, "use_cls": use_cls}
    a, b = enc.forward_tokens(tokens, **kw), enc.forward_tokens(changed, **kw)
    off = int(use_cls)
    keep = ~padding
    torch.testing.assert_close(a[:, off:][keep], b[:, off:][keep], rtol=0, atol=1e-5)
    if use_cls:
        torch.testing.assert_close(a[:, 0], b[:, 0], rtol=0, atol=1e-5)


def test_padded_series_values_do_not_matter_from_raw_input():
    enc = _encoder()
    x = torch.randn(2, 1, 80)
    mask = torch.ones_like(x, dtype=torch.bool)
    mask[0, 0, 48:] = False
    y = torch.where(mask, x, torch.randn(2, 1, 80) * 1e3)
    a, b = enc.tokens(x, mask), enc.tokens(y, mask)
    torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize("tokenizer", ["patch", "nutime"])
@pytest.mark.parametrize(("causal", "use_cls"), [(False, False), (True, False), (False, True)])
def test_fully_padded_series_gives_no_nan(tokenizer, causal, use_cls):
    enc = _encoder(tokenizer=tokenizer)
    x = torch.zeros(2, 2, 64)
    mask = torch.ones_like(x, dtype=torch.bool)
    mask[0] = False  # sample 0: every channel fully missing
    mask[1, 1] = False
    out = enc.tokens(x, mask, causal=causal, use_cls=use_cls)
    emb = enc.embed(x, mask, causal=causal, use_cls=use_cls)
    assert torch.isfinite(out).all() and torch.isfinite(emb).all()
    assert (emb[0] == 0).all()  # nothing observed: the pooling rule gives zeros
    out.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in enc.parameters() if p.grad is not None)
