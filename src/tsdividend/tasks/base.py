"""What every downstream protocol shares: the encoder under evaluation and validation splits.

Protocol rules (docs/protocols.md): every choice (hyper-parameters, early stopping, thresholds) is
made on a validation split carved from the training data (stratified where there are classes);
the test split is read once, at the end; no ``drop_last`` on evaluation data; seeds are explicit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from tsdividend import __version__
from tsdividend.config import config_hash, from_dict, to_dict
from tsdividend.encoder import Encoder, EncoderConfig
from tsdividend.encoder.embedder import ENCODER_META, Embedder, load_encoder

KINDS = ("pretrained", "random", "scratch")


class EmbedderLike(Protocol):
    """The narrow interface probes need: (N, C, T) NumPy in, (N, D) NumPy out."""

    def embed(self, X: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray: ...


@dataclass(frozen=True)
class EncoderUnderTest:
    """The encoder a protocol evaluates, and how result rows name it.

    ``pretrained``: the downstream encoder of a pretraining run folder. ``random``: the same
    architecture, randomly initialised from ``seed`` and frozen (the probe baseline). ``scratch``:
    the same architecture, randomly initialised and trained end to end with the task's labels (the
    fine-tune baseline). The random and scratch encoders use the pretrained run's config when one
    is given, so all three share one architecture.
    """

    kind: str
    config: EncoderConfig
    path: Path | None = None
    meta: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"encoder kind {self.kind!r} unknown; valid: {list(KINDS)}")
        if (self.kind == "pretrained") != (self.path is not None):
            raise ValueError("a pretrained encoder needs a path; random/scratch take none")

    @classmethod
    def from_arg(cls, arg: str, config: EncoderConfig | None = None) -> EncoderUnderTest:
        """Parse the CLI's ``--checkpoint DIR|random|scratch``."""
        if arg in ("random", "scratch"):
            return cls(arg, config or EncoderConfig())
        path = Path(arg)
        meta_path = path / ENCODER_META
        if not meta_path.exists():
            raise FileNotFoundError(f"{meta_path} not found: --checkpoint takes a pretraining "
                                    "run folder, 'random' or 'scratch'")  # fmt: skip
        meta = json.loads(meta_path.read_text())
        cfg = from_dict(EncoderConfig, meta["encoder_config"], where=str(meta_path))
        return cls("pretrained", cfg, path, meta)

    def encoder(self, seed: int) -> Encoder:
        """A fresh module: pretrained weights, or a random init drawn from ``seed``."""
        if self.kind == "pretrained":
            return load_encoder(self.path, device="cpu").encoder
        return Encoder(self.config, generator=torch.Generator().manual_seed(seed))

    def embedder(self, seed: int, device: str = "auto", batch_size: int = 256) -> Embedder:
        """The frozen encoder as an :class:`Embedder` (eval mode, inference only)."""
        return Embedder(self.encoder(seed), device=device, batch_size=batch_size,
                        meta=self.meta)  # fmt: skip

    def row_fields(self) -> dict[str, Any]:
        """The encoder-describing fields of a :class:`~tsdividend.results.ResultRow`."""
        meta = self.meta or {}
        train_cfg = meta.get("train_config", {})
        init = {"pretrained": "pretrained", "random": "random", "scratch": "scratch"}[self.kind]
        return {
            "encoder_id": str(self.path) if self.path else self.kind,
            "init": init,
            "objective": meta.get("objective"),
            "tokenizer": self.config.tokenizer,
            "depth": self.config.depth,
            "pretrain_data": train_cfg.get("data", {}).get("source"),
            "config_hash": meta.get("config_hash") or config_hash(self.config),
            "package_version": __version__,
        }


def stratified_split(
    y: np.ndarray, val_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split indices ``0..len(y)-1`` into (train, val), stratified by class.

    Each class with >= 2 members puts ``max(1, round(val_fraction * count))`` members (but never
    all of them) into val; singleton classes stay in train. Deterministic given ``seed``.

    Returns:
        Sorted int64 index arrays (train, val), disjoint, covering every index.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    y = np.asarray(y)
    rng = np.random.default_rng([seed, 17])
    val: list[np.ndarray] = []
    for cls in np.unique(y):
        members = np.flatnonzero(y == cls)
        if members.size < 2:
            continue
        k = min(members.size - 1, max(1, round(val_fraction * members.size)))
        val.append(rng.choice(members, size=k, replace=False))
    val_idx = np.sort(np.concatenate(val)) if val else np.empty(0, np.int64)
    train_idx = np.setdiff1d(np.arange(y.size), val_idx)
    return train_idx.astype(np.int64), val_idx.astype(np.int64)


def describe(obj: Any) -> dict[str, Any]:
    """JSON-able dict of a (dataclass) evaluation config, for ``ResultRow.extra``."""
    return to_dict(obj)
