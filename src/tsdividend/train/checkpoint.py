"""Checkpoints: safetensors weights + JSON, written atomically; never pickle.

Layout of a run folder::

    OUT/
      checkpoints/step-00000100/model.safetensors      objective state (encoder, heads, EMA ...)
                               /optimizer.safetensors  optimiser tensors (moments, step counts)
                               /state.json             step, configs, optimiser hyper-parameters
      latest.json                                     {"step": 100, "path": "checkpoints/..."}
      encoder.safetensors + encoder.json              the downstream encoder, for load_encoder()

``encoder.json`` and every ``state.json`` carry the run meta: ``train_config``, ``config_hash``,
versions and ``corpus`` (what the run trained on: ``tsdividend.train.sources.describe_corpus``).

A checkpoint folder is written under a temporary name and renamed into place, then
``latest.json`` is replaced atomically, so a kill at any moment leaves the previous checkpoint
intact and ``latest.json`` always names a complete one. Resuming needs no RNG state: the trainer
seeds every step from (seed, step, rank) and all schedules are pure functions of the step.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, load_model, save_file, save_model
from torch import Tensor, nn

from tsdividend.atomic import (
    apply_umask,
    atomic_target,
    file_sha256,
    storage_error,
    write_json,
)
from tsdividend.encoder.embedder import ENCODER_META, ENCODER_WEIGHTS
from tsdividend.errors import InputError

LATEST = "latest.json"
TENSOR_FILES = ("model.safetensors", "optimizer.safetensors")


class CheckpointError(InputError):
    """A checkpoint folder is missing, incomplete or inconsistent (the message names the file)."""


def _contiguous(tensors: dict[str, Tensor]) -> dict[str, Tensor]:
    return {k: v.detach().contiguous().cpu() for k, v in tensors.items()}


def flatten_optimizer(state: dict[str, Any]) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Split ``optimizer.state_dict()`` into tensors (for safetensors) and a JSON-able rest."""
    tensors: dict[str, Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, entry in state["state"].items():
        for name, value in entry.items():
            if isinstance(value, Tensor):
                tensors[f"{idx}.{name}"] = value
            else:
                scalars.setdefault(str(idx), {})[name] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def unflatten_optimizer(tensors: dict[str, Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`flatten_optimizer`."""
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = value
    for idx, entry in meta["scalars"].items():
        state.setdefault(int(idx), {}).update(entry)
    return {"state": state, "param_groups": meta["param_groups"]}


def save_checkpoint(
    out: Path,
    step: int,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    meta: dict[str, Any],
    keep: int = 2,
) -> Path:
    """Write checkpoint ``step`` of ``model`` + ``optimizer`` under ``out`` atomically.

    Args:
        out: run folder.
        step: optimiser steps done.
        model: the objective module (its ``state_dict`` holds the encoder and everything else).
        optimizer: its state is saved exactly (moments, step counts, hyper-parameters).
        meta: JSON-able run description (configs, hash, versions) stored in ``state.json``.
        keep: number of most recent checkpoint folders to keep.

    Returns:
        The checkpoint folder.
    """
    ckpt_root = Path(out) / "checkpoints"
    ckpt_root.mkdir(parents=True, exist_ok=True)
    final = ckpt_root / f"step-{step:08d}"
    try:
        tmp = Path(tempfile.mkdtemp(dir=ckpt_root, prefix=f".step-{step:08d}."))
    except OSError as e:
        raise storage_error(e, final) from None
    try:
        # save_model drops aliases of shared tensors (e.g. a hybrid's sub-objectives holding the
        # same encoder) and load_model restores them.
        save_model(model, str(tmp / "model.safetensors"))
        opt_tensors, opt_meta = flatten_optimizer(optimizer.state_dict())
        save_file(_contiguous(opt_tensors), str(tmp / "optimizer.safetensors"))
        sums = {name: file_sha256(tmp / name) for name in TENSOR_FILES}
        write_json(tmp / "state.json", {**meta, "step": step, "optimizer": opt_meta,
                                        "checksums": sums})  # fmt: skip
        apply_umask(tmp)  # mkdtemp made it 0700, safetensors its files 0600
        if final.exists():  # re-saving a step (after a resume): replace it
            shutil.rmtree(final)
        tmp.rename(final)
    except OSError as e:  # full disk, permissions: name the checkpoint, not the temp folder
        raise storage_error(e, final) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    write_json(Path(out) / LATEST, {"step": step, "path": str(final.relative_to(out))})
    for old in sorted(ckpt_root.glob("step-*"))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(out: Path) -> Path | None:
    """The folder named by ``out/latest.json``, or None when the run has no checkpoint yet.

    Raises:
        CheckpointError: an unreadable pointer, one naming a folder outside ``out/checkpoints``
            (resume never follows a pointer out of its run), or one without ``state.json``.
    """
    pointer = Path(out) / LATEST
    if not pointer.exists():
        return None
    try:
        rel = json.loads(pointer.read_text())["path"]
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{pointer}: unreadable checkpoint pointer ({err})") from err
    root = (Path(out) / "checkpoints").resolve()
    folder = (Path(out) / str(rel)).resolve()
    if folder.parent != root:
        raise CheckpointError(f"{pointer} names {rel!r}, outside {root}: not followed")
    if not (folder / "state.json").exists():
        raise CheckpointError(f"{pointer} names {folder}, which has no state.json")
    return folder


def check_checkpoint(folder: Path) -> str | None:
    """Why checkpoint ``folder`` cannot be resumed from (a missing file, unreadable
    ``state.json``, a weights file whose sha256 differs from the one recorded), or None when it
    is intact. Checkpoints written before checksums were recorded are checked for presence only.
    """
    state = folder / "state.json"
    for name in (*TENSOR_FILES, "state.json"):
        if not (folder / name).is_file():
            return f"{name} is missing"
    try:
        meta = json.loads(state.read_text())
    except (ValueError, UnicodeDecodeError) as e:
        return f"state.json is unreadable ({e})"
    for name, expected in (meta.get("checksums") or {}).items():
        if file_sha256(folder / name) != expected:
            return f"{name} does not match its recorded sha256 (truncated or overwritten)"
    return None


def intact_checkpoint(out: Path) -> tuple[Path | None, list[str]]:
    """The newest checkpoint of run ``out`` that :func:`check_checkpoint` passes, and one line
    per newer one skipped (which and why). ``latest.json`` is tried first; a damaged pointer is
    itself reported and the step folders are searched instead.

    Returns:
        (folder or None when the run has none or none is intact, skipped lines).
    """
    out = Path(out)
    skipped: list[str] = []
    candidates: list[Path] = []
    try:
        latest = latest_checkpoint(out)
        if latest is not None:
            candidates.append(latest)
    except CheckpointError as e:
        skipped.append(str(e))
    steps = sorted((out / "checkpoints").glob("step-*"), reverse=True)
    candidates += [f for f in steps if f.resolve() not in {c.resolve() for c in candidates}]
    for folder in candidates:
        why = check_checkpoint(folder)
        if why is None:
            return folder, skipped
        skipped.append(f"skipped checkpoint {folder}: {why}")
    return None, skipped


def remove_stale(out: Path) -> list[Path]:
    """Delete what a killed writer left in run folder ``out``: temp checkpoint folders
    (``checkpoints/.step-*``) and temp files (``.*.part``). Call it only on a folder this process
    owns (a run being started or resumed). Returns what was removed."""
    out = Path(out)
    stale = [*(out / "checkpoints").glob(".step-*"), *out.glob(".*.part")]
    for path in stale:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return stale


def load_checkpoint(
    folder: Path, model: nn.Module, optimizer: torch.optim.Optimizer | None = None
) -> dict[str, Any]:
    """Restore ``model`` (strictly: every key must match) and ``optimizer`` from ``folder``.

    Returns:
        The ``state.json`` content (step, configs ...).
    """
    folder = Path(folder)
    for name in ("model.safetensors", "optimizer.safetensors", "state.json"):
        if not (folder / name).exists():
            raise CheckpointError(f"checkpoint {folder} is missing {name}")
    meta = json.loads((folder / "state.json").read_text())
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    weights = folder / "model.safetensors"
    try:
        missing, unexpected = load_model(model, str(weights), strict=False, device=str(device))
    except RuntimeError as err:  # shape mismatch
        raise CheckpointError(f"{weights} does not match the model: {err}") from err
    if missing or unexpected:
        raise CheckpointError(
            f"{weights} does not match the model: missing {sorted(missing)[:5]}, "
            f"unexpected {sorted(unexpected)[:5]}"
        )
    if optimizer is not None:
        tensors = load_file(str(folder / "optimizer.safetensors"), device=str(device))
        optimizer.load_state_dict(unflatten_optimizer(tensors, meta["optimizer"]))
    return meta


def export_encoder(out: Path, encoder: nn.Module, meta: dict[str, Any]) -> None:
    """Write the downstream encoder's weights and its description (``meta`` must contain the
    resolved ``encoder_config``) so :func:`tsdividend.encoder.load_encoder` rebuilds it alone."""
    if "encoder_config" not in meta:
        raise ValueError("export_encoder meta needs 'encoder_config'")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    weights = _contiguous(encoder.state_dict())
    with atomic_target(out / ENCODER_WEIGHTS) as tmp:
        save_file(weights, str(tmp))
    write_json(out / ENCODER_META, meta)
