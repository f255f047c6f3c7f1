"""External encoders: any model from the user's own code, through the same protocols.

``python:pkg.module:factory`` (CLI ``--encoder``, a study's ``[[encoders]]``) names a callable that
returns the model. The factory contract (docs/protocols.md, "External encoders"):

* It is called with ``seed=`` when it has a ``seed`` parameter (random inits, dropout streams).
* It returns an object with ``embed(X, mask=None) -> (N, D)``: an ``nn.Module`` taking float32
  (B, C, T) tensors (+ an optional bool mask, True = observed) works in every protocol, fine-tunes
  included; any other object taking NumPy (N, C, T) arrays works in the probe regimes. An optional
  ``max_length`` attribute caps the steps of one call (longer series are windowed and pooled).
* A module that also provides THE encoder's token interface (:data:`TOKEN_METHODS`) is used as
  is by the token-level protocols; any other is adapted one token per window
  (:class:`~tsdividend.encoder.adapter.WindowTokens`).
* With a ``pretrained`` parameter, ``pretrained=False`` must build the same architecture at a
  random init: the encoder then has random (probe) and scratch (fine-tune) baselines of its own,
  and the dividend is measured for it like for THE encoder. Without one it is compared with
  everything else by its scores only (no dividend).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from safetensors.torch import load_file
from torch import nn

from tsdividend import __version__
from tsdividend.atomic import file_sha256
from tsdividend.config import config_hash
from tsdividend.encoder.adapter import TOKEN_METHODS, TokenEncoder, WindowTokens
from tsdividend.encoder.embedder import Embedder

__all__ = ["EXTERNAL_PREFIX", "ExternalEncoder", "FrozenEmbedder", "load_factory"]

EXTERNAL_PREFIX = "python:"


def load_factory(ref: str) -> Callable[..., Any]:
    """The callable named by ``[python:]pkg.module:attr[.attr]``.

    Raises:
        ValueError: naming the reference when it is malformed, its module cannot be imported, the
            attribute is missing or not callable.
    """
    spec = ref.removeprefix(EXTERNAL_PREFIX)
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"encoder factory {ref!r} must read python:pkg.module:factory")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as e:
        raise ValueError(f"encoder factory {ref!r}: cannot import {module_name!r} ({e})") from e
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"encoder factory {ref!r}: {module_name} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ValueError(f"encoder factory {ref!r} is not callable")
    return obj


def _parameters(fn: Callable[..., Any]) -> set[str]:
    try:
        return set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):  # builtins without a signature take no keywords here
        return set()


class FrozenEmbedder:
    """A NumPy embedder (not a module) for the probes: its ``embed`` output checked and cast to
    float32, its optional ``fit(X, mask)`` (unsupervised, on the training split) and
    ``max_length`` passed through."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.max_length: int | None = getattr(model, "max_length", None)
        if callable(getattr(model, "fit", None)):
            self.fit = model.fit

    def embed(self, X: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        Z = np.asarray(self.model.embed(X, mask), np.float32)
        if Z.ndim != 2 or Z.shape[0] != len(X):
            raise ValueError(f"{type(self.model).__name__}.embed of {len(X)} series returned "
                             f"shape {Z.shape}, expected ({len(X)}, D)")  # fmt: skip
        return Z


@dataclass(frozen=True)
class ExternalEncoder:
    """An encoder from the user's code, evaluated like :class:`~tsdividend.tasks.base.
    EncoderUnderTest` (same rows, caches and report).

    Attributes:
        name: what rows call it (``objective`` of its pretrained rows, ``external:<name>`` in
            the ``tokenizer`` column of all its rows, so its baselines pair with it only).
        factory: ``pkg.module:factory`` (an optional ``python:`` prefix is dropped).
        init: "pretrained" (the model as the factory gives it), or "random" / "scratch" (the
            factory's ``pretrained=False`` build).
        encoder_id: the rows' ``encoder_id``; default ``name`` (baselines: ``<name>/<init>``).
        weights: a ``model.safetensors`` of the module's state (from ``save_pretrained``),
            loaded into every model the factory builds (strict: every key must match).
    """

    name: str
    factory: str
    init: str = "pretrained"
    encoder_id: str | None = None
    weights: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "factory", self.factory.removeprefix(EXTERNAL_PREFIX))
        if self.init not in ("pretrained", "random", "scratch"):
            raise ValueError(f"encoder init {self.init!r} unknown; valid: "
                             "['pretrained', 'random', 'scratch']")  # fmt: skip
        if not self.name or any(c.isspace() for c in self.name):
            raise ValueError(f"external encoder name {self.name!r} must be one non-empty word")
        if self.init != "pretrained" and not self.has_baselines:
            raise ValueError(f"encoder factory {self.factory!r} has no `pretrained` parameter, "
                             f"so it cannot build the {self.init} baseline of its "
                             "architecture")  # fmt: skip

    @classmethod
    def from_ref(cls, ref: str, init: str = "pretrained") -> ExternalEncoder:
        """``python:pkg.module:factory`` -> an encoder named after the factory."""
        spec = ref.removeprefix(EXTERNAL_PREFIX)
        return cls(spec.rpartition(":")[2].rpartition(".")[2] or spec, spec, init)

    @property
    def has_baselines(self) -> bool:
        """True when the factory can build a random init (a ``pretrained`` parameter)."""
        return "pretrained" in _parameters(load_factory(self.factory))

    def baseline(self, init: str) -> ExternalEncoder:
        """The same architecture at a random init ("random" frozen, "scratch" trained)."""
        return ExternalEncoder(self.name, self.factory, init)

    def make(self, seed: int) -> Any:
        """Call the factory (``seed=`` and ``pretrained=`` where it takes them).

        Raises:
            TypeError: when the result has no ``embed`` method.
        """
        fn = load_factory(self.factory)
        params = _parameters(fn)
        kwargs: dict[str, Any] = {}
        if "seed" in params:
            kwargs["seed"] = seed
        if "pretrained" in params:
            kwargs["pretrained"] = self.init == "pretrained"
        model = fn(**kwargs)
        if not callable(getattr(model, "embed", None)):
            raise TypeError(f"encoder factory {self.factory!r} returned a "
                            f"{type(model).__name__} without an embed(X, mask) method")  # fmt: skip
        if self.weights is not None:
            if not isinstance(model, nn.Module):
                raise TypeError(f"{self.weights}: weights need an nn.Module, the factory "
                                f"{self.factory!r} returned a {type(model).__name__}")  # fmt: skip
            missing, unexpected = model.load_state_dict(load_file(self.weights), strict=False)
            if missing or unexpected:
                raise ValueError(f"{self.weights} does not match the model of {self.factory!r}: "
                                 f"missing {missing[:5]}, unexpected {unexpected[:5]}")  # fmt: skip
        return model

    def build(self, seed: int) -> TokenEncoder:
        """A fresh model: as is when it has THE encoder's token interface, else adapted one
        token per window (train mode for random/scratch, as the factory left it otherwise)."""
        return self._tokens(self.make(seed))

    @staticmethod
    def _tokens(model: Any) -> TokenEncoder:
        if isinstance(model, nn.Module) and all(hasattr(model, m) for m in TOKEN_METHODS):
            return model  # type: ignore[return-value]
        return WindowTokens(model)

    @property
    def trainable(self) -> bool:
        """True when the model is an ``nn.Module`` with parameters taking gradients (the
        fine-tune regime needs one)."""
        model = self.make(0)
        return isinstance(model, nn.Module) and any(p.requires_grad for p in model.parameters())

    def embedder(
        self, seed: int, device: str = "auto", batch_size: int = 256
    ) -> Embedder | FrozenEmbedder:
        """The frozen model for the probes: a module as an :class:`Embedder` (NumPy in and out,
        eval mode, batches), any other object as a :class:`FrozenEmbedder`."""
        model = self.make(seed)
        if not isinstance(model, nn.Module):
            return FrozenEmbedder(model)
        module = self._tokens(model)
        return Embedder(module, device=device, batch_size=batch_size,
                        meta={"objective": self.name, "factory": self.factory})  # fmt: skip

    def cache_key(self, seed: int) -> tuple:
        """Identity of the weights :meth:`build` returns for ``seed`` (the factory may use it)."""
        return ("external", self.factory, self.init, seed, self.weights)

    def _weights_id(self) -> dict[str, str]:
        if self.weights is None:
            return {}
        return {"weights_sha256": file_sha256(self.weights)}

    def row_fields(self) -> dict[str, Any]:
        """The encoder-describing fields of a result row (see the class docstring)."""
        default_id = self.name if self.init == "pretrained" else f"{self.name}/{self.init}"
        return {
            "encoder_id": self.encoder_id or default_id,
            "init": self.init,
            "objective": self.name if self.init == "pretrained" else None,
            "tokenizer": f"external:{self.name}",
            "depth": None,
            "pretrain_data": None,
            "pretrain_size": None,
            "pretrain_steps": None,
            "pretrain_samples": None,
            "config_hash": config_hash({"external": self.factory, **self._weights_id()}),
            "package_version": __version__,
        }
