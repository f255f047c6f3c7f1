"""NumPy-in, NumPy-out use of an encoder, and loading a pretrained one from its folder.

``load_encoder(DIR)`` rebuilds THE encoder from ``DIR/encoder.json`` (its resolved config) and
loads ``DIR/encoder.safetensors``: no pickle, no code from the checkpoint. The returned
:class:`Embedder` runs in eval mode under ``torch.inference_mode`` in batches, on CPU or GPU, and is
the embedder protocol every downstream task uses (the random-init baseline is the same class
around an untrained encoder). The two steps are public on their own: :func:`read_meta` reads the
description once, :func:`load_weights` builds the module from it (what a fine-tune trains).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file

from tsdividend.config import from_dict, to_dict
from tsdividend.data.convert import to_collection
from tsdividend.data.dataset import FLOAT32_MAX, DataError
from tsdividend.device import pick_device
from tsdividend.encoder.adapter import TokenEncoder
from tsdividend.encoder.saved import PRETRAINED_META, PRETRAINED_WEIGHTS, write_pretrained
from tsdividend.encoder.transformer import Encoder, EncoderConfig
from tsdividend.errors import InputError

ENCODER_WEIGHTS = "encoder.safetensors"
ENCODER_META = "encoder.json"


def encoder_files(path: str | Path) -> tuple[Path, Path]:
    """(meta, weights) paths of an encoder folder: a pretraining run's ``encoder.json`` /
    ``encoder.safetensors``, else save_pretrained's ``config.json`` / ``model.safetensors``.

    Raises:
        FileNotFoundError: naming the folder when it holds neither description.
    """
    path = Path(path)
    for meta, weights in ((ENCODER_META, ENCODER_WEIGHTS), (PRETRAINED_META, PRETRAINED_WEIGHTS)):
        if (path / meta).is_file():
            return path / meta, path / weights
    raise FileNotFoundError(f"{path / ENCODER_META} not found (nor {PRETRAINED_META}): is {path} "
                            "a tsdividend pretraining or save_pretrained folder?")  # fmt: skip


class EncoderFileError(InputError):
    """An encoder's files are damaged or do not fit each other (the message names the file)."""


class Embedder:
    """Wraps an :class:`Encoder` for (N, C, T) NumPy input.

    Args:
        encoder: the encoder (moved to ``device``, set to eval mode).
        device: "auto" (CUDA when available), "cpu" or "cuda".
        batch_size: series per forward pass.
        meta: description (objective, step, config ...) kept for result rows.
    """

    def __init__(
        self,
        encoder: TokenEncoder,
        device: str = "auto",
        batch_size: int = 256,
        meta: dict[str, Any] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.device = pick_device(device)
        self.encoder = encoder.to(self.device).eval()
        self.batch_size = batch_size
        self.meta = dict(meta or {})

    @property
    def config(self) -> EncoderConfig | None:
        """THE encoder's config (None for an external model)."""
        return self.encoder.config if isinstance(self.encoder, Encoder) else None

    @property
    def max_length(self) -> int | None:
        """Longest series (steps) one pass takes (THE encoder: ``(max_tokens - 1) * stride +
        patch_len``; None: any); longer series are windowed by the caller
        (:func:`tsdividend.tasks.probe.embed_series`)."""
        return self.encoder.max_length

    def save_pretrained(self, folder: str | Path) -> Path:
        """Write ``config.json`` + ``model.safetensors`` + a model card (``README.md``) that
        :meth:`from_pretrained`, ``evaluate --checkpoint`` and the estimators load."""
        if not isinstance(self.encoder, Encoder):
            raise TypeError("save_pretrained of an external model: use tsdividend.pretrained."
                            "save_encoder with its ExternalEncoder")  # fmt: skip
        meta = {**self.meta, "encoder_config": to_dict(self.encoder.config)}
        state = {k: v.detach().contiguous().cpu() for k, v in self.encoder.state_dict().items()}
        return write_pretrained(folder, meta, state)

    @classmethod
    def from_pretrained(cls, folder: str | Path, device: str = "auto",
                        batch_size: int = 256) -> Embedder:  # fmt: skip
        """Load a save_pretrained (or pretraining run) folder: :func:`load_encoder`."""
        return load_encoder(folder, device=device, batch_size=batch_size)

    def embed(self, X: Any, mask: np.ndarray | None = None) -> np.ndarray:
        """Pooled embeddings by THE rule of :mod:`tsdividend.encoder.pooling`.

        Args:
            X: (N, C, T) values; NaN marks a missing value (it is masked, never fed). Any other
                collection :func:`tsdividend.data.to_collection` takes is converted first:
                (N, T) arrays, lists of (T_i,) / (C, T_i) arrays of unequal lengths (padding
                masked), wide DataFrames.
            mask: optional (N, C, T) bool, True = observed (combined with ``~isnan(X)``); only
                with a 3-D array.

        Returns:
            float32 (N, C * d_model).
        """
        if not (isinstance(X, np.ndarray) and X.ndim == 3 and X.dtype.kind in "fiu"):
            if mask is not None:
                raise ValueError("mask goes with a (N, C, T) array only; other collections "
                                 "mark missing values with NaN or their own lengths")  # fmt: skip
            data = to_collection(X)
            X, mask = np.where(data.mask, data.X, np.nan), data.mask
        X = np.asarray(X)
        if mask is not None and np.shape(mask) != X.shape:
            raise DataError(f"mask shape {np.shape(mask)} differs from X shape {X.shape}")
        if 0 in X.shape[1:]:
            raise DataError(f"X has shape {X.shape}: no channel or no time step to embed")
        finite = np.isfinite(X)
        if np.isinf(X).any():
            n, c, t = np.argwhere(np.isinf(X))[0]
            raise DataError(f"X holds an infinite value at series {n}, channel {c}, step {t}")
        huge = np.abs(np.where(finite, X, 0.0)) > FLOAT32_MAX
        if huge.any():  # float64 values the float32 model would turn into inf, then NaN
            n, c, t = np.argwhere(huge)[0]
            raise DataError(f"X[{n}, {c}, {t}] = {X[n, c, t]:g} is beyond float32's range "
                            f"(|x| <= {FLOAT32_MAX:.3g}); rescale the data")  # fmt: skip
        observed = finite if mask is None else finite & np.asarray(mask, bool)
        values = np.where(observed, X, 0.0).astype(np.float32)
        out = np.empty((X.shape[0], self.encoder.embedding_dim(X.shape[1])), np.float32)
        with torch.inference_mode():
            for i in range(0, X.shape[0], self.batch_size):
                x = torch.from_numpy(values[i : i + self.batch_size]).to(self.device)
                m = torch.from_numpy(observed[i : i + self.batch_size]).to(self.device)
                out[i : i + self.batch_size] = self.encoder.embed(x, m).float().cpu().numpy()
        return out


def read_meta(path: str | Path) -> tuple[dict[str, Any], EncoderConfig]:
    """The meta JSON of run folder ``path`` and the encoder config it records.

    Raises:
        FileNotFoundError: when ``path`` lacks ``encoder.json``.
        ConfigError: when its ``encoder_config`` is not a valid :class:`EncoderConfig`.
    """
    meta_path = encoder_files(path)[0]
    meta = read_config(path)
    if not isinstance(meta.get("encoder_config"), dict):
        raise EncoderFileError(f"{meta_path} holds no encoder_config table: not a tsdividend "
                               "encoder description")  # fmt: skip
    return meta, from_dict(EncoderConfig, meta["encoder_config"], where=str(meta_path))


def read_config(folder: str | Path) -> dict[str, Any]:
    """The folder's description (``config.json``, or a run's ``encoder.json``) as a dict.

    Raises:
        EncoderFileError: damaged JSON, or JSON that is not an object (naming the file).
    """
    path = encoder_files(folder)[0]
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise EncoderFileError(f"{path} is not valid JSON ({e}): the file is damaged; "
                               "re-export the encoder") from None  # fmt: skip
    if not isinstance(meta, dict):
        raise EncoderFileError(f"{path} is not a JSON object (got {type(meta).__name__}): not "
                               "a tsdividend encoder description")  # fmt: skip
    return meta


def load_weights(path: str | Path, config: EncoderConfig) -> Encoder:
    """A fresh :class:`Encoder` of ``config`` holding the weights saved in run folder ``path``
    (eval mode, CPU).

    The module is built with ``Encoder(config)`` first (its init draws from torch's global RNG,
    then the weights replace it), as the loader always did: callers that seeded the global RNG
    see the same stream afterwards.

    Raises:
        FileNotFoundError: when ``path`` lacks ``encoder.safetensors``.
        ValueError: when the weights do not match the config.
    """
    path = Path(path)  # the weights alone are read: the description may be gone by now
    weights_path = next((p for p in (path / ENCODER_WEIGHTS, path / PRETRAINED_WEIGHTS)
                         if p.is_file()), path / ENCODER_WEIGHTS)  # fmt: skip
    if not weights_path.exists():
        raise FileNotFoundError(f"{weights_path} not found: is {path} a tsdividend pretraining "
                                "folder?")  # fmt: skip
    encoder = Encoder(config)
    try:
        state = load_file(str(weights_path))
    except Exception as e:  # safetensors raises its own SafetensorError on a damaged header
        raise EncoderFileError(
            f"{weights_path} is not a readable safetensors file ({e}): the "
            "file is damaged or truncated; re-export the encoder"
        ) from None
    check_finite(state, weights_path)
    try:
        missing, unexpected = encoder.load_state_dict(state, strict=False)
    except RuntimeError as e:  # a tensor of another shape than the description says
        first = str(e).split("\n\t")[1] if "\n\t" in str(e) else str(e)
        described = ENCODER_META if weights_path.name == ENCODER_WEIGHTS else PRETRAINED_META
        raise EncoderFileError(
            f"{weights_path} does not match the architecture in {described} "
            f"(d_model, depth, heads, tokenizer): {first.strip()}"
        ) from None
    if missing or unexpected:
        raise EncoderFileError(
            f"{weights_path} does not match its description: missing {missing[:5]}, "
            f"unexpected {unexpected[:5]}"
        )
    return encoder.eval()


def check_finite(state: dict[str, torch.Tensor], path: Path) -> None:
    """Refuse weights holding NaN or infinity (they would embed to NaN without a word).

    Raises:
        EncoderFileError: naming the file and the first such tensor.
    """
    for name, tensor in state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise EncoderFileError(
                f"{path}: tensor {name!r} holds NaN or infinite values; "
                "these weights cannot be used (re-train or re-export)"
            )


def load_encoder(path: str | Path, device: str = "auto", batch_size: int = 256) -> Embedder:
    """Rebuild the downstream encoder saved in run folder ``path`` as an :class:`Embedder`.

    Raises:
        FileNotFoundError: when ``path`` lacks ``encoder.json`` / ``encoder.safetensors``.
        ValueError: when the weights do not match the config.
    """
    for p in encoder_files(path):
        if not p.exists():
            raise FileNotFoundError(f"{p} not found: is {path} a tsdividend pretraining folder?")
    meta, config = read_meta(path)
    return Embedder(load_weights(path, config), device=device, batch_size=batch_size, meta=meta)
