"""What every downstream protocol shares: the encoder under evaluation and validation splits.

Protocol rules (docs/protocols.md): every choice (hyper-parameters, early stopping, thresholds) is
made on a validation split carved from the training data (stratified where there are classes);
the test split is read once, at the end; no ``drop_last`` on evaluation data; seeds are explicit.

The narrow encoder interface the protocols take (:class:`EncoderUnderTest` is the package's one
implementation; anything with the same methods works):

* :class:`Identified`: ``init`` (pretrained, random or scratch), ``row_fields()`` (the columns that
  name the encoder in a :class:`~tsdividend.results.ResultRow`) and ``cache_key(seed)`` (the
  identity of the weights used at a seed, for the embedding and fine-tune caches).
* :class:`Embeds`: probes on pooled embeddings (classification, clustering) call
  ``embedder(seed)`` and use only its ``embed(X, mask) -> Z`` and ``max_length``.
* :class:`Builds`: fine-tunes, and the token-level probes of anomaly detection and forecasting
  (their heads read tokens, not pooled embeddings), call ``build(seed)`` for a fresh module.
* :class:`EncoderLike`: both; what a task's evaluate function takes (the registry's contract).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from tsdividend import __version__
from tsdividend.config import config_hash, to_dict
from tsdividend.encoder import Encoder, EncoderConfig
from tsdividend.encoder.adapter import TokenEncoder
from tsdividend.encoder.embedder import Embedder, encoder_files, load_weights, read_meta
from tsdividend.results.row import BASELINE_OF

ENCODER_INITS = ("pretrained", "random", "scratch")


class EmbedderLike(Protocol):
    """What a probe needs from a frozen encoder: (N, C, T) NumPy in, (N, D) NumPy out.

    ``max_length``: the longest series one ``embed`` call takes (longer ones are windowed and
    pooled by :func:`tsdividend.tasks.probe.embed_series`); None = any length.
    """

    @property
    def max_length(self) -> int | None: ...

    def embed(self, X: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray: ...


class Identified(Protocol):
    """What names an encoder in result rows and caches."""

    @property
    def init(self) -> str: ...

    def row_fields(self) -> dict[str, Any]: ...

    def cache_key(self, seed: int) -> tuple: ...


class Embeds(Identified, Protocol):
    """What a probe on pooled embeddings takes: a frozen embedder per seed."""

    def embedder(self, seed: int, device: str = "auto", batch_size: int = 256) -> EmbedderLike: ...


class Builds(Identified, Protocol):
    """What a fine-tune (or a token-level probe) takes: a fresh encoder module per seed."""

    def build(self, seed: int) -> TokenEncoder: ...


class EncoderLike(Embeds, Builds, Protocol):
    """What a task's evaluate function takes: both (the probe regime uses ``embedder`` or
    ``build`` frozen, the fine-tune regime ``build``)."""


@dataclass(frozen=True)
class EncoderUnderTest:
    """The encoder a protocol evaluates, and how result rows name it.

    ``pretrained``: the downstream encoder of a pretraining run folder. ``random``: the same
    architecture, randomly initialised from ``seed`` and frozen (the probe baseline). ``scratch``:
    the same architecture, randomly initialised and trained end to end with the task's labels (the
    fine-tune baseline). The random and scratch encoders use the pretrained run's config when one
    is given, so all three share one architecture.

    Attributes:
        init: "pretrained", "random" or "scratch" (the row's ``init``).
        config: the architecture.
        path: the run folder (pretrained only).
        meta: the run folder's ``encoder.json`` (pretrained only).
        encoder_id: the row's ``encoder_id``; default the folder path, or the init.
    """

    init: str
    config: EncoderConfig
    path: Path | None = None
    meta: dict[str, Any] | None = None
    encoder_id: str | None = None

    def __post_init__(self) -> None:
        if self.init not in ENCODER_INITS:
            raise ValueError(f"encoder init {self.init!r} unknown; valid: {list(ENCODER_INITS)}")
        if (self.init == "pretrained") != (self.path is not None):
            raise ValueError("a pretrained encoder needs a path; random/scratch take none")

    @classmethod
    def from_arg(
        cls, arg: str, config: EncoderConfig | None = None, *, encoder_id: str | None = None
    ) -> EncoderUnderTest:
        """Parse the CLI's ``--checkpoint DIR|random|scratch`` (``config``: the architecture of
        random/scratch; a run folder's own config is read from its ``encoder.json``, once)."""
        if arg in BASELINE_OF.values():
            return cls(arg, config or EncoderConfig(), encoder_id=encoder_id)
        path = Path(arg)
        try:
            encoder_files(path)
        except FileNotFoundError as e:
            raise FileNotFoundError(
                f"{e} --checkpoint takes a pretraining run folder, a "
                "save_pretrained folder, 'random' or 'scratch'"
            ) from None
        meta, cfg = read_meta(path)
        return cls("pretrained", cfg, path, meta, encoder_id)

    def build(self, seed: int) -> Encoder:
        """A fresh module: the pretrained weights (eval mode), or a random init drawn from
        ``seed`` (train mode)."""
        if self.init == "pretrained":
            assert self.path is not None  # checked in __post_init__
            return load_weights(self.path, self.config)
        return Encoder(self.config, generator=torch.Generator().manual_seed(seed))

    def embedder(self, seed: int, device: str = "auto", batch_size: int = 256) -> Embedder:
        """The frozen encoder as an :class:`Embedder` (eval mode, inference only)."""
        return Embedder(self.build(seed), device=device, batch_size=batch_size,
                        meta=self.meta)  # fmt: skip

    def cache_key(self, seed: int) -> tuple:
        """Identity of the weights :meth:`build` returns for ``seed`` (a pretrained encoder
        ignores the seed)."""
        return (self.init, str(self.path), config_hash(self.config),
                None if self.init == "pretrained" else seed)  # fmt: skip

    def row_fields(self) -> dict[str, Any]:
        """The encoder-describing fields of a :class:`~tsdividend.results.ResultRow`.

        ``config_hash`` is the encoder's identity hash: a pretrained encoder's run hash (the hash
        of its resolved training config, written into ``encoder.json`` by the trainer), else the
        hash of the architecture (a random or scratch encoder is its config and the seed).
        """
        meta = self.meta or {}
        train_cfg = meta.get("train_config", {})
        pretrained = self.init == "pretrained"
        steps = train_cfg.get("steps") if pretrained else None
        batch = train_cfg.get("batch_size")
        return {
            "encoder_id": self.encoder_id or (str(self.path) if self.path else self.init),
            "init": self.init,
            "objective": meta.get("objective"),
            "tokenizer": self.config.tokenizer,
            "depth": self.config.depth,
            "pretrain_data": train_cfg.get("data", {}).get("source"),
            "pretrain_size": (
                train_cfg.get("data", {}).get("synth_corpus_size") or None if pretrained else None
            ),  # 0 = the unbounded stream
            "pretrain_steps": steps,
            "pretrain_samples": steps * batch if steps is not None and batch is not None else None,
            "config_hash": meta.get("config_hash") or config_hash(self.config),
            "package_version": __version__,
        }


def row_identity(encoder: Identified, eval_config: object) -> dict[str, Any]:
    """The identity fields of every row a protocol writes: the encoder's ``row_fields()`` with
    ``config_hash`` = the hash of (the encoder's identity hash, the resolved evaluation config).
    One definition for every task, so two rows share a hash exactly when the same encoder was
    evaluated under the same protocol settings."""
    fields = encoder.row_fields()
    fields["config_hash"] = config_hash({"encoder": fields["config_hash"],
                                         "eval": describe(eval_config)})  # fmt: skip
    return fields


def check_init(encoder: Identified, regime: str, task: str) -> None:
    """Refuse a baseline in the regime it does not belong to: a fine-tuned "random" encoder would
    be "scratch", a frozen "scratch" one would be "random".

    Raises:
        ValueError: naming the init, the regime and the valid inits; or a fine-tune of an
            encoder without trainable parameters (an external NumPy embedder).
    """
    valid = ["pretrained", BASELINE_OF[regime]]
    if encoder.init not in valid:
        raise ValueError(f"encoder init {encoder.init!r} does not apply to {task} regime "
                         f"{regime!r}; valid inits: {valid} ('random' is the frozen probe "
                         "baseline, 'scratch' the fine-tune baseline)")  # fmt: skip
    if regime == "finetune" and not getattr(encoder, "trainable", True):
        raise ValueError(f"{encoder.row_fields()['encoder_id']} has no trainable parameters "
                         f"(not an nn.Module with gradients): it can be probed on {task}, "
                         "not fine-tuned")  # fmt: skip


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
