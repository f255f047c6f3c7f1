"""Encoder: shapes, channel independence, positions, variable length, state round trip, seeds."""

from __future__ import annotations

import math

import pytest
import torch

from tsdividend.config import from_dict, to_dict
from tsdividend.encoder import Encoder, EncoderConfig, sincos_table

TINY = {"d_model": 16, "depth": 2, "n_heads": 2, "dropout": 0.0, "max_len": 64}


def _encoder(seed: int = 0, **kw) -> Encoder:
    cfg = EncoderConfig(**{**TINY, **kw})
    return Encoder(cfg, generator=torch.Generator().manual_seed(seed)).eval()


@pytest.mark.parametrize("tokenizer", ["patch", "nutime"])
def test_shapes(tokenizer):
    enc = _encoder(tokenizer=tokenizer)
    x = torch.randn(3, 2, 70)  # 70 steps -> 5 patches, the last one partly padded
    assert enc.num_tokens(70) == 5
    tb = enc.tokenize(x)
    assert tb.tokens.shape == (6, 5, 16) and tb.padding.shape == (6, 5) and tb.n_channels == 2
    assert (tb.stats is not None) == (tokenizer == "patch")
    assert enc.forward_tokens(tb.tokens, use_cls=True).shape == (6, 6, 16)
    assert enc.forward_tokens(tb.tokens, use_cls=False).shape == (6, 5, 16)
    assert enc.tokens(x).shape == (6, 5, 16) and enc(x).shape == (6, 5, 16)
    assert enc.embed(x).shape == (3, 32) == (3, enc.embedding_dim(2))
    assert enc.patchify(x).values.shape == (6, 5, 16)


@pytest.mark.parametrize("tokenizer", ["patch", "nutime"])
def test_channel_independence(tokenizer):
    enc = _encoder(tokenizer=tokenizer)
    x = torch.randn(2, 3, 48)
    y = x.clone()
    y[:, 1] = torch.randn(2, 48) * 7 + 3
    a, b = enc.tokens(x).reshape(2, 3, 3, 16), enc.tokens(y).reshape(2, 3, 3, 16)
    torch.testing.assert_close(a[:, [0, 2]], b[:, [0, 2]], rtol=0, atol=0)
    assert (a[:, 1] - b[:, 1]).abs().max() > 1e-2
    e = enc.embed(x)
    torch.testing.assert_close(e[:, :16], enc.embed(x[:, :1]))  # channel 0's slice, alone


def test_sincos_table_matches_formula_and_has_no_parameters():
    table = sincos_table(10, 6)
    for p in range(10):
        for i in range(3):
            angle = p / 10000 ** (2 * i / 6)
            assert abs(table[p, 2 * i] - math.sin(angle)) < 1e-6
            assert abs(table[p, 2 * i + 1] - math.cos(angle)) < 1e-6
    assert sincos_table(4, 5).shape == (4, 5)
    enc = _encoder()
    assert not any("pos" in name for name, _ in enc.named_parameters())
    torch.testing.assert_close(enc.position_table(), sincos_table(64, 16))


def test_learned_positions_are_trained_and_matter():
    enc = _encoder(pos_encoding="learned")
    assert enc.pos_embed.shape == (64, 16) and enc.pos_embed.requires_grad
    tokens = torch.randn(2, 5, 16)
    enc.forward_tokens(tokens).sum().backward()
    assert enc.pos_embed.grad[1:6].abs().sum() > 0 and enc.pos_embed.grad[6:].abs().sum() == 0
    # sinusoidal and learned encoders (same blocks) give different outputs
    sincos = _encoder(pos_encoding="sincos")
    sincos.load_state_dict({k: v for k, v in enc.state_dict().items() if k != "pos_embed"})
    assert (sincos.forward_tokens(tokens) - enc.forward_tokens(tokens)).abs().max() > 1e-3


@pytest.mark.parametrize("pos_encoding", ["sincos", "learned"])
def test_positions_argument(pos_encoding):
    enc = _encoder(pos_encoding=pos_encoding)
    tokens = torch.randn(2, 8, 16)
    full = enc.forward_tokens(tokens)
    default = torch.arange(8).expand(2, 8)
    torch.testing.assert_close(enc.forward_tokens(tokens, positions=default), full)
    # Visible tokens with their original positions == masking the others in the full sequence.
    idx = torch.tensor([[0, 2, 3, 7], [1, 4, 5, 6]])
    visible = torch.gather(tokens, 1, idx[..., None].expand(-1, -1, 16))
    sub = enc.forward_tokens(visible, positions=idx)
    hidden = torch.ones(2, 8, dtype=torch.bool).scatter(1, idx, False)
    masked = enc.forward_tokens(tokens, key_padding_mask=hidden)
    gathered = torch.gather(masked[:, 1:], 1, idx[..., None].expand(-1, -1, 16))
    torch.testing.assert_close(sub[:, 1:], gathered, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(sub[:, 0], masked[:, 0], atol=1e-5, rtol=1e-5)
    # and the positions do matter
    shifted = enc.forward_tokens(visible, positions=idx + 1)
    assert (shifted - sub).abs().max() > 1e-3


@pytest.mark.parametrize("tokenizer", ["patch", "nutime"])
def test_embed_on_variable_length_masked_batch(tokenizer):
    enc = _encoder(tokenizer=tokenizer)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 2, 96, generator=g) * 5
    mask = torch.ones_like(x, dtype=torch.bool)
    lengths = [96, 50, 17]
    for i, n in enumerate(lengths):
        mask[i, :, n:] = False
    x = torch.where(mask, x, torch.zeros(()))
    emb = enc.embed(x, mask)
    for i, n in enumerate(lengths):
        alone = enc.embed(x[i : i + 1, :, :n])
        torch.testing.assert_close(emb[i : i + 1], alone, atol=1e-5, rtol=1e-5)
    assert torch.isfinite(emb).all()


def test_state_dict_round_trip_rebuilds_identical_model_from_config_alone():
    enc = _encoder(tokenizer="nutime", pos_encoding="learned", seed=3)
    rebuilt = Encoder(from_dict(EncoderConfig, to_dict(enc.config)))
    rebuilt.load_state_dict(enc.state_dict())  # strict: same keys and shapes
    rebuilt.eval()
    x = torch.randn(2, 1, 64)
    torch.testing.assert_close(rebuilt.embed(x), enc.embed(x), rtol=0, atol=0)
    assert set(enc.state_dict()) == set(rebuilt.state_dict())
    assert "cls_token" in enc.state_dict()  # CLS exists whatever use_cls says


def test_deterministic_under_seed_whatever_the_global_rng():
    torch.manual_seed(123)
    a = _encoder(seed=7)
    torch.manual_seed(456)
    b = _encoder(seed=7)
    c = _encoder(seed=8)
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(pa, pb), name
    assert not torch.equal(a.blocks[0].attn.qkv.weight, c.blocks[0].attn.qkv.weight)
    torch.manual_seed(0)
    d = Encoder(EncoderConfig(**TINY))
    torch.manual_seed(0)
    e = Encoder(EncoderConfig(**TINY))
    assert all(torch.equal(p, q) for p, q in zip(d.parameters(), e.parameters(), strict=True))


@pytest.mark.parametrize("tokenizer", ["patch", "nutime"])
def test_bf16_autocast_on_cpu(tokenizer):
    enc = _encoder(tokenizer=tokenizer)
    x = torch.randn(4, 2, 64)
    ref = enc.embed(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = enc.embed(x, causal=True)
        mixed = enc.embed(x)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(mixed.float(), ref, atol=0.1, rtol=0.1)


def test_every_parameter_gets_a_gradient_and_dropout_only_in_training():
    enc = _encoder(tokenizer="nutime", pos_encoding="learned", dropout=0.1).train()
    x = torch.randn(2, 1, 64)
    enc.embed(x).square().sum().backward()
    missing = [n for n, p in enc.named_parameters() if p.grad is None or not p.grad.any()]
    assert missing == []
    assert not torch.equal(enc.embed(x), enc.embed(x))  # stochastic in training
    enc.eval()
    assert torch.equal(enc.embed(x), enc.embed(x))


def test_too_long_series_and_bad_arguments_raise_clear_errors():
    enc = _encoder()  # max_len 64: 63 patch tokens of 16 steps
    assert enc.max_tokens == 63
    enc.tokenize(torch.randn(1, 1, 63 * 16))
    with pytest.raises(ValueError, match="gives 64 tokens; this encoder takes at most 63"):
        enc.tokenize(torch.randn(1, 1, 63 * 16 + 1))
    with pytest.raises(ValueError, match=r"tokens must be \(B', N, 16\)"):
        enc.forward_tokens(torch.randn(2, 3, 8))
    with pytest.raises(ValueError, match=r"positions must be \(2, 3\)"):
        enc.forward_tokens(torch.randn(2, 3, 16), positions=torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="key_padding_mask must be bool"):
        enc.forward_tokens(torch.randn(2, 3, 16), key_padding_mask=torch.zeros(2, 3))
