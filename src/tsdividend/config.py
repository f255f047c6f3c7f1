"""Frozen dataclass configs: dict/TOML loading with unknown-key rejection, overrides, hashing.

Every config in the package is a ``@dataclass(frozen=True)`` that validates itself in
``__post_init__``. This module turns plain dicts (from TOML or JSON) into those dataclasses,
recursively, and back; applies ``"a.b=value"`` style overrides; and computes a stable hash of the
resolved config, written next to every artifact.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import sys
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from tsdividend.errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib

C = TypeVar("C")


class ConfigError(InputError):
    """A config value or key is invalid; the message names it and the valid choices."""


def check_int(name: str, value: object, low: int, high: int | None = None) -> None:
    """Raise :class:`ConfigError` unless ``value`` is an int (not a bool) in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an int, got {value!r}")
    if value < low or (high is not None and value > high):
        span = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ConfigError(f"{name} must be an int {span}, got {value}")


def _dataclass_type(tp: Any) -> type | None:
    """Return the dataclass inside ``tp`` (also ``X | None``), else None."""
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return tp
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            if dataclasses.is_dataclass(arg) and isinstance(arg, type):
                return arg
    return None


def from_dict(cls: type[C], data: dict[str, Any], where: str = "") -> C:
    """Build dataclass ``cls`` from ``data``, recursing into nested dataclass fields.

    Lists become tuples (configs are frozen and hashable).

    Raises:
        ConfigError: on a key ``cls`` does not have (listing the valid keys) or a non-dict where a
            nested config is expected.
    """
    if not isinstance(data, dict):
        raise ConfigError(
            f"{where or cls.__name__}: expected a table/dict, got {type(data).__name__}"
        )
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"{where or cls.__name__}: unknown key(s) {unknown}; valid keys: {sorted(fields)}"
        )
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        sub = _dataclass_type(hints[key])
        path = f"{where}.{key}" if where else key
        if sub is not None and isinstance(value, dict):
            kwargs[key] = from_dict(sub, value, path)
        elif isinstance(value, list):
            kwargs[key] = tuple(value)
        else:
            _check_scalar(path, value, hints[key])
            kwargs[key] = value
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{where or cls.__name__}: {err}") from err


_SCALARS: dict[type, tuple[type, ...]] = {int: (int,), float: (int, float), str: (str,),
                                          bool: (bool,)}  # fmt: skip


def _check_scalar(path: str, value: Any, tp: Any) -> None:
    """Refuse a value of the wrong kind for a plain ``int`` / ``float`` / ``str`` / ``bool``
    field (``X | None`` too): ``steps = "ten"`` names the field and the value, instead of failing
    later in a comparison."""
    args = typing.get_args(tp) if typing.get_origin(tp) in (typing.Union, types.UnionType) else ()
    options = [a for a in args if a is not type(None)] if args else [tp]
    if value is None and type(None) in args:
        return
    if not all(t in _SCALARS for t in options):
        return  # tuples, dicts, literals, unions of configs: checked by the class itself
    allowed = tuple(k for t in options for k in _SCALARS[t])
    if isinstance(value, bool) and bool not in options:
        allowed = ()
    if not isinstance(value, allowed):
        names = " or ".join(t.__name__ for t in options)
        raise ConfigError(f"{path} must be {names}, got {value!r} ({type(value).__name__})")


def to_dict(cfg: Any) -> dict[str, Any]:
    """Plain, JSON-serialisable dict of a (nested) dataclass config; tuples become lists."""

    def conv(v: Any) -> Any:
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return {f.name: conv(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (tuple, list)):
            return [conv(x) for x in v]
        if isinstance(v, Path):
            return str(v)
        return v

    return conv(cfg)


def load_toml(cls: type[C], path: str | Path) -> C:
    """Read a TOML file into dataclass ``cls`` (unknown keys rejected, file named in errors)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"{path} is a folder, not a TOML config file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not a text (UTF-8 TOML) file") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML: {err}") from err
    return from_dict(cls, data, where=str(path))


def _is_dict_field(tp: Any) -> bool:
    return tp is dict or typing.get_origin(tp) is dict


def override(cfg: C, assignments: dict[str, Any]) -> C:
    """Return a copy of ``cfg`` with dotted-path assignments applied, e.g. ``{"encoder.depth": 4}``.

    A path walks nested dataclass configs by field name (an unknown name is an error); inside a
    field typed as a plain dict (``objective_options``, a study's ``train`` table) any key may be
    set, and missing intermediate tables are created.

    Raises:
        ConfigError: when a path names no field, or walks through a value that is no table.
    """
    data = copy.deepcopy(to_dict(cfg))  # to_dict shares dict fields with cfg: never mutate them
    for dotted, value in assignments.items():
        node = data
        tp: type | None = type(cfg)  # None = inside a free-form dict field
        parts = dotted.split(".")
        for i, part in enumerate(parts):
            hint = typing.get_type_hints(tp)[part] if tp is not None and part in node else None
            if tp is not None and part not in node:
                raise ConfigError(f"override {dotted!r}: no key {part!r}; valid: {sorted(node)}")
            if i == len(parts) - 1:
                node[part] = value
                break
            if tp is None or _is_dict_field(hint):
                if node.get(part) is None:
                    node[part] = {}
                tp = None
            else:
                tp = _dataclass_type(hint)
            if not isinstance(node[part], dict):
                raise ConfigError(f"override {dotted!r}: {part!r} is not a nested config")
            node = node[part]
    return from_dict(type(cfg), data)


# Field metadata of options added after configs were first hashed: at their default they are left
# out of :func:`config_hash`, so configs that do not use them keep their hash (and their stored
# results); set, they are hashed like any field.
HASH_OMIT_DEFAULT = {"hash_omit_default": True}


def _hashed(cfg: Any) -> Any:
    """``to_dict`` of ``cfg`` without the :data:`HASH_OMIT_DEFAULT` fields left at default."""
    if not (dataclasses.is_dataclass(cfg) and not isinstance(cfg, type)):
        return to_dict(cfg)
    out = {}
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if f.metadata.get("hash_omit_default") and value == f.default:
            continue
        out[f.name] = _hashed(value)
    return out


def config_hash(cfg: Any, length: int = 12) -> str:
    """Stable hex digest of the resolved config (canonical JSON, sorted keys); fields marked
    :data:`HASH_OMIT_DEFAULT` count only when set."""
    blob = json.dumps(_hashed(cfg), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:length]
