"""The pooling rule: masked token mean per channel, channels concatenated; embed uses it."""

from __future__ import annotations

import pytest
import torch

from tsdividend.encoder import (
    Encoder,
    EncoderConfig,
    concat_channels,
    masked_token_mean,
    pool_embedding,
    row_embedding,
)


def test_masked_token_mean_matches_loop_and_is_zero_when_all_padded():
    tokens = torch.randn(4, 6, 3)
    padding = torch.rand(4, 6) > 0.5
    padding[0] = False
    padding[3] = True
    got = masked_token_mean(tokens, padding)
    for i in range(4):
        rows = [tokens[i, j] for j in range(6) if not padding[i, j]]
        expected = torch.stack(rows).mean(0) if rows else torch.zeros(3)
        torch.testing.assert_close(got[i], expected)
    torch.testing.assert_close(masked_token_mean(tokens), tokens.mean(1))


def test_concat_channels_order():
    per_series = torch.arange(2 * 3 * 4, dtype=torch.float32).reshape(6, 4)  # rows b * 3 + c
    out = concat_channels(per_series, 3)
    for b in range(2):
        for c in range(3):
            torch.testing.assert_close(out[b, c * 4 : (c + 1) * 4], per_series[b * 3 + c])
    with pytest.raises(ValueError, match="not a multiple of n_channels=4"):
        concat_channels(per_series, 4)


@pytest.mark.parametrize("use_cls", [True, False])
def test_embed_is_the_pooling_rule_applied_to_tokens(use_cls):
    cfg = EncoderConfig(d_model=8, depth=1, n_heads=2, dropout=0.0, max_len=32, use_cls=use_cls)
    enc = Encoder(cfg, generator=torch.Generator().manual_seed(0)).eval()
    x = torch.randn(2, 3, 50)
    mask = torch.ones_like(x, dtype=torch.bool)
    mask[1, 2, 20:] = False
    tokens = enc.tokens(x, mask)
    padding = enc.tokenize(x, mask).padding
    expected = pool_embedding(tokens, padding, 3)
    torch.testing.assert_close(enc.embed(x, mask), expected)
    assert padding[1 * 3 + 2, 2:].all()  # the short channel's padded tokens were excluded


@pytest.mark.parametrize("use_cls", [True, False])
def test_keep_cls_false_drops_exactly_the_cls_row(use_cls):
    enc = Encoder(EncoderConfig(d_model=16, depth=1, n_heads=2, dropout=0.0, use_cls=use_cls))
    x = torch.randn(2, 3, 70)
    tb = enc.tokenize(x)
    full = enc.forward_tokens(tb.tokens, key_padding_mask=tb.padding)
    rows = enc.forward_tokens(tb.tokens, key_padding_mask=tb.padding, keep_cls=False)
    assert rows.shape == tb.tokens.shape
    torch.testing.assert_close(rows, full[:, 1:] if use_cls else full, rtol=0, atol=0)
    torch.testing.assert_close(enc.tokens(x), rows, rtol=0, atol=0)


def test_row_embedding_is_the_rule_per_row_or_the_cls_output():
    enc = Encoder(EncoderConfig(d_model=16, depth=1, n_heads=2, dropout=0.0))
    x, mask = torch.randn(2, 3, 70), torch.rand(2, 3, 70) > 0.2
    tb = enc.tokenize(x, mask)
    mean = row_embedding(enc, x, mask)  # (B*C, D), rows b * C + c
    torch.testing.assert_close(concat_channels(mean, 3), enc.embed(x, mask), rtol=0, atol=0)
    out = enc.forward_tokens(tb.tokens, key_padding_mask=tb.padding, use_cls=True)
    torch.testing.assert_close(row_embedding(enc, x, mask, "cls"), out[:, 0], rtol=0, atol=0)
    with pytest.raises(ValueError, match="representation 'last' unknown"):
        row_embedding(enc, x, mask, "last")
