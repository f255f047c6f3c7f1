"""Save and load encoders like the ecosystem: a folder with ``config.json``, ``model.safetensors``
and a ``README.md`` model card (the Hugging Face layout).

:func:`save_encoder` writes THE encoder (its resolved config and pretraining description in
``config.json``) or an external module (its factory in ``config.json``: loading imports that
factory, the user's own code, then loads the weights); :func:`load_pretrained` reads either back as
an encoder every protocol, estimator and CLI command takes. Loading never unpickles: weights are
safetensors, everything else is JSON. :func:`push_to_hub` / :func:`from_hub` use
``huggingface_hub`` when it is installed (not tested online).

The model card states what the encoder is (objective, tokenizer, architecture, pretraining data,
steps, samples seen, config hash) and, when the encoder came from a study folder (or rows are
given), its scores there beside its baselines (docs/estimators.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from tsdividend.config import to_dict
from tsdividend.encoder.adapter import WindowTokens
from tsdividend.encoder.embedder import EncoderFileError, encoder_files, read_config
from tsdividend.encoder.saved import write_pretrained
from tsdividend.results.row import ResultRow
from tsdividend.tasks.base import EncoderLike, EncoderUnderTest
from tsdividend.tasks.external import ExternalEncoder

__all__ = ["from_hub", "load_pretrained", "push_to_hub", "save_encoder", "study_rows"]


def _state(module: nn.Module) -> dict[str, Any]:
    return {k: v.detach().contiguous().cpu() for k, v in module.state_dict().items()}


def save_encoder(
    encoder: EncoderLike, folder: str | Path, *, seed: int = 0,
    rows: list[ResultRow] | None = None, module: nn.Module | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:  # fmt: skip
    """Write ``encoder`` (the weights :meth:`build` gives for ``seed``, or ``module``'s, e.g. a
    fine-tuned copy) as ``config.json`` + ``model.safetensors`` + ``README.md``.

    Args:
        encoder: THE encoder (:class:`EncoderUnderTest`) or an external one whose model is an
            ``nn.Module``.
        folder: created if needed; its files of these names are replaced.
        seed: init draw of a random encoder (a pretrained one ignores it).
        rows: result rows for the card (default: the study's, found from a study folder).
        module: the weights to save instead of ``encoder.build(seed)``.
        extra: more ``config.json`` fields (a classifier's ``kind`` and ``classifier``).

    Returns:
        The folder.

    Raises:
        TypeError: for an external NumPy embedder (nothing to save as tensors).
    """
    built = module if module is not None else encoder.build(seed)
    if isinstance(encoder, ExternalEncoder):
        inner = built.model if isinstance(built, WindowTokens) else built
        if not isinstance(inner, nn.Module):
            raise TypeError(f"{encoder.name} is a NumPy embedder: it has no tensors to save")
        meta: dict[str, Any] = {
            "objective": encoder.name,
            "external": {"name": encoder.name, "factory": encoder.factory},
        }
        state = _state(inner)
    elif isinstance(encoder, EncoderUnderTest):
        meta = dict(encoder.meta or {"init": encoder.init, "seed": seed})
        meta["encoder_config"] = to_dict(encoder.config)
        state = _state(built)
    else:
        raise TypeError(f"cannot save a {type(encoder).__name__}: save_encoder takes THE encoder "
                        "or an external encoder")  # fmt: skip
    meta.update(extra or {})
    return write_pretrained(folder, meta, state, rows if rows is not None else study_rows(encoder))


def load_pretrained(folder: str | Path, *, encoder_id: str | None = None) -> EncoderLike:
    """An encoder from a save_pretrained folder or a pretraining run folder (never unpickles).

    Raises:
        FileNotFoundError: when the folder holds no description or no weights.
        ValueError: a description that is not a JSON object or names no architecture.
    """
    folder = Path(folder)
    meta = read_config(folder)
    weights = encoder_files(folder)[1]
    if not weights.is_file():
        raise FileNotFoundError(f"{weights} not found: the folder has a description but no "
                                "weights")  # fmt: skip
    ext = meta.get("external")
    if ext is not None:
        return ExternalEncoder(ext["name"], ext["factory"], encoder_id=encoder_id,
                               weights=str(weights))  # fmt: skip
    if not isinstance(meta.get("encoder_config"), dict):
        raise EncoderFileError(f"{encoder_files(folder)[0]} holds no encoder_config table: not "
                               "a tsdividend encoder description")  # fmt: skip
    return EncoderUnderTest.from_arg(str(folder), encoder_id=encoder_id)


def study_rows(encoder: EncoderLike) -> list[ResultRow]:
    """The rows of ``encoder`` and of its baselines in the study whose folder holds it
    (``OUT/encoders/<hash>/``), or none."""
    if not isinstance(encoder, EncoderUnderTest) or encoder.path is None:
        return []
    store = encoder.path.parent.parent / "results.sqlite"
    meta = encoder.meta or {}
    if not store.is_file() or "config_hash" not in meta:
        return []
    from tsdividend.results.store import ResultStore

    with ResultStore(store) as s:
        rows = s.rows()
    mine = [r for r in rows if r.encoder_id.endswith(str(meta["config_hash"]))
            and r.init == "pretrained"]  # fmt: skip
    if not mine:
        return []
    arch = {(r.tokenizer, r.depth) for r in mine}
    base = [r for r in rows if r.init in ("random", "scratch") and (r.tokenizer, r.depth) in arch]
    return mine + base


def push_to_hub(folder: str | Path, repo_id: str, **kwargs: Any) -> str:
    """Upload a saved folder to the Hugging Face Hub (needs ``huggingface_hub``); returns the
    commit URL. Not tested online."""
    try:
        from huggingface_hub import HfApi
    except ImportError as e:
        raise ImportError("push_to_hub needs huggingface_hub: pip install huggingface_hub") from e
    api = HfApi()
    api.create_repo(repo_id, exist_ok=True, **kwargs)
    return str(api.upload_folder(folder_path=str(folder), repo_id=repo_id))


def from_hub(repo_id: str, *, revision: str | None = None) -> EncoderLike:
    """Download a saved folder from the Hub (needs ``huggingface_hub``) and load it. Not tested
    online."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError as e:
        raise ImportError("from_hub needs huggingface_hub: pip install huggingface_hub") from e
    return load_pretrained(snapshot_download(repo_id, revision=revision))
