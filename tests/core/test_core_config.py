from dataclasses import dataclass, field

import pytest

from tsdividend.config import ConfigError, config_hash, from_dict, load_toml, override, to_dict


@dataclass(frozen=True)
class Inner:
    depth: int = 8
    sizes: tuple[int, ...] = (1, 2)

    def __post_init__(self) -> None:
        if self.depth < 1:
            raise ValueError(f"depth must be >= 1, got {self.depth}")


@dataclass(frozen=True)
class Outer:
    name: str = "x"
    inner: Inner = field(default_factory=Inner)
    maybe: Inner | None = None


def test_round_trip_nested_and_lists_become_tuples():
    cfg = from_dict(Outer, {"name": "y", "inner": {"depth": 2, "sizes": [3, 4]}})
    assert cfg.inner == Inner(depth=2, sizes=(3, 4))
    assert from_dict(Outer, to_dict(cfg)) == cfg
    assert from_dict(Outer, {"maybe": {"depth": 3}}).maybe == Inner(depth=3)


def test_unknown_key_names_key_and_valid_ones():
    with pytest.raises(ConfigError, match=r"inner: unknown key\(s\) \['dept'\]; valid keys"):
        from_dict(Outer, {"inner": {"dept": 3}})


def test_validation_error_is_config_error():
    with pytest.raises(ConfigError, match="depth must be >= 1, got 0"):
        from_dict(Outer, {"inner": {"depth": 0}})


def test_override_and_hash():
    cfg = Outer()
    new = override(cfg, {"inner.depth": 4})
    assert new.inner.depth == 4 and cfg.inner.depth == 8
    assert config_hash(new) != config_hash(cfg)
    assert config_hash(Outer()) == config_hash(cfg)
    with pytest.raises(ConfigError, match="no key 'width'"):
        override(cfg, {"inner.width": 1})


def test_load_toml(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('name = "t"\n[inner]\ndepth = 5\n')
    assert load_toml(Outer, p) == Outer(name="t", inner=Inner(depth=5))
    p.write_text("name = \n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_toml(Outer, p)
    with pytest.raises(ConfigError, match="not found"):
        load_toml(Outer, tmp_path / "missing.toml")
