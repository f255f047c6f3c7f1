"""EncoderConfig: documented defaults, validation errors naming the bad value, dict round trip."""

from __future__ import annotations

import pytest

from tsdividend.config import ConfigError, from_dict, to_dict
from tsdividend.encoder import EncoderConfig


def test_defaults_are_the_documented_reference_setting():
    cfg = EncoderConfig()
    assert (cfg.tokenizer, cfg.patch_len, cfg.stride) == ("patch", 16, 16)
    assert (cfg.d_model, cfg.depth, cfg.n_heads, cfg.mlp_hidden) == (128, 8, 8, 512)
    assert (cfg.dropout, cfg.pos_encoding, cfg.max_len, cfg.use_cls, cfg.nme_dim) == (
        0.1,
        "sincos",
        512,
        True,
        32,
    )


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"tokenizer": "wavelet"}, r"tokenizer 'wavelet' unknown; valid: \['patch', 'nutime'\]"),
        ({"patch_len": 0}, "patch_len must be an int >= 1, got 0"),
        ({"stride": 17}, r"stride must be an int in \[1, 16\], got 17"),
        ({"stride": 0}, r"stride must be an int in \[1, 16\], got 0"),
        ({"d_model": 100, "n_heads": 8}, "d_model=100 must be divisible by n_heads=8"),
        ({"depth": 0}, "depth must be an int >= 1, got 0"),
        ({"depth": 2.5}, "depth must be an int, got 2.5"),
        ({"n_heads": True}, "n_heads must be an int, got True"),
        ({"mlp_ratio": 0.0}, r"mlp_ratio must be > 0 \(hidden >= 1\), got 0.0"),
        ({"dropout": 1.0}, r"dropout must be in \[0, 1\), got 1.0"),
        ({"dropout": -0.1}, r"dropout must be in \[0, 1\), got -0.1"),
        ({"dropout": "0.1"}, "dropout must be a number, got '0.1'"),
        ({"pos_encoding": "rope"}, r"pos_encoding 'rope' unknown; valid: \['sincos', 'learned'\]"),
        ({"max_len": 1}, "max_len must be an int >= 2, got 1"),
        ({"use_cls": 1}, "use_cls must be a bool, got 1"),
        ({"nme_dim": 0}, "nme_dim must be an int >= 1, got 0"),
    ],
)
def test_invalid_values_name_the_value_and_valid_range(override, message):
    with pytest.raises(ConfigError, match=message):
        EncoderConfig(**override)


def test_dict_round_trip_and_unknown_keys():
    cfg = EncoderConfig(tokenizer="nutime", depth=2, mlp_ratio=2, pos_encoding="learned")
    assert isinstance(cfg.mlp_ratio, float)  # an int from TOML is accepted and normalised
    assert from_dict(EncoderConfig, to_dict(cfg)) == cfg
    with pytest.raises(ConfigError, match="unknown key"):
        from_dict(EncoderConfig, {"d_modle": 64})
