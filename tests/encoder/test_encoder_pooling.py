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
