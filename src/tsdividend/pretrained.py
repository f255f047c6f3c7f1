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

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from safetensors.torch import save_file
from torch import nn

from tsdividend import __version__
from tsdividend.atomic import atomic_target, write_json
from tsdividend.config import to_dict
from tsdividend.encoder.adapter import WindowTokens
from tsdividend.encoder.embedder import PRETRAINED_META, PRETRAINED_WEIGHTS, encoder_files
from tsdividend.results.row import ResultRow
from tsdividend.tasks.base import EncoderLike, EncoderUnderTest
from tsdividend.tasks.external import ExternalEncoder

__all__ = ["CARD", "from_hub", "load_pretrained", "model_card", "push_to_hub", "save_encoder",
           "study_rows", "write_pretrained"]  # fmt: skip

CARD = "README.md"
FORMAT = "tsdividend"


def _state(module: nn.Module) -> dict[str, Any]:
    return {k: v.detach().contiguous().cpu() for k, v in module.state_dict().items()}


def save_weights(folder: Path, tensors: dict[str, Any], name: str = PRETRAINED_WEIGHTS) -> None:
    """Write safetensors atomically (mode from the umask)."""
    with atomic_target(folder / name) as tmp:
        save_file(tensors, str(tmp))


def save_encoder(
    encoder: EncoderLike, folder: str | Path, *, seed: int = 0,
    rows: list[ResultRow] | None = None, module: nn.Module | None = None,
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
    return write_pretrained(folder, meta, state, rows if rows is not None else study_rows(encoder))


def write_pretrained(
    folder: str | Path, meta: dict[str, Any], state: dict[str, Any],
    rows: list[ResultRow] | None = None,
) -> Path:  # fmt: skip
    """Write ``meta`` (``config.json``), the tensors ``state`` (``model.safetensors``) and the
    model card into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    meta = {**meta, "format": FORMAT, "package_version": __version__}
    meta.setdefault("kind", "encoder")
    save_weights(folder, state)
    write_json(folder / PRETRAINED_META, meta)
    with atomic_target(folder / CARD) as tmp:
        tmp.write_text(model_card(meta, rows))
    return folder


def read_config(folder: str | Path) -> dict[str, Any]:
    """The folder's description (``config.json`` or a run's ``encoder.json``)."""
    path = encoder_files(folder)[0]
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON ({e})") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{path} must hold a JSON object, got {type(meta).__name__}")
    return meta


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
    if "encoder_config" not in meta:
        raise ValueError(f"{encoder_files(folder)[0]} has no encoder_config: not a tsdividend "
                         "encoder description")  # fmt: skip
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


def _describe(meta: dict[str, Any]) -> list[tuple[str, str]]:
    ext = meta.get("external")
    if ext:
        return [("model", f"external encoder `{ext['name']}`"),
                ("factory", f"`{ext['factory']}` (your code: loading imports it)")]  # fmt: skip
    enc = meta.get("encoder_config", {})
    train = meta.get("train_config", {})
    data = train.get("data", {})
    steps, batch = train.get("steps"), train.get("batch_size")
    items = [
        ("objective", str(meta.get("objective") or meta.get("init", "none"))),
        ("tokenizer", f"{enc.get('tokenizer')} (patch {enc.get('patch_len')}, "
                      f"stride {enc.get('stride')})"),
        ("architecture", f"depth {enc.get('depth')}, d_model {enc.get('d_model')}, "
                         f"{enc.get('n_heads')} heads"),
        ("pretraining data", f"{data.get('source', 'none')}"
                             + (f", corpus of {data['synth_corpus_size']} series"
                                if data.get("synth_corpus_size") else "")),
        ("steps x batch", f"{steps} x {batch}" if steps else "not pretrained"),
        ("samples seen", f"{steps * batch:,}" if steps and batch else "0"),
        ("config hash", str(meta.get("config_hash", "n/a"))),
    ]  # fmt: skip
    return items


def model_card(meta: dict[str, Any], rows: list[ResultRow] | None = None) -> str:
    """The README of a saved encoder: what it is and, with ``rows``, its study scores (mean
    over datasets of the per-dataset mean over seeds, beside its baseline's)."""
    title = meta.get("objective") or "tsdividend"
    lines = ["---", "library_name: tsdividend", "tags: [time-series, self-supervised]", "---", "",
             f"# {title} encoder (tsdividend {meta.get('package_version', __version__)})", "",
             "| field | value |", "|---|---|"]  # fmt: skip
    lines += [f"| {k} | {v} |" for k, v in _describe(meta)]
    lines += ["", "## Scores", ""]
    lines += _scores(rows or []) or ["No study scores were recorded for these weights."]
    lines += ["", "## Use", "", "```python", "from tsdividend.estimators import EncoderClassifier",
              "", 'clf = EncoderClassifier("path/to/this/folder").fit(X_train, y_train)',
              "print(clf.score(X_test, y_test))", "```", "",
              "`tsdividend evaluate --checkpoint path/to/this/folder --task classification "
              "--dataset ucr/GunPoint` runs the protocols on it. Weights are safetensors; "
              "loading never unpickles.", ""]  # fmt: skip
    return "\n".join(lines)


def _scores(rows: list[ResultRow]) -> list[str]:
    from tsdividend.stats.dividend import dividend_rows

    groups: dict[tuple[str, str, str], dict[str, list[float]]] = defaultdict(
        lambda: defaultdict(list)
    )
    pairs = dividend_rows(rows)
    for p in pairs:
        g = groups[(p.task, p.regime, p.metric)]
        g[p.dataset + "|s"].append(p.score)
        g[p.dataset + "|b"].append(p.baseline)
    if not groups:
        return []
    study = next((r.study for r in rows if r.study), "")
    out = [f"From study `{study}`: mean over datasets (each the mean over seeds); baseline = "
           "the same architecture randomly initialised (probe) or trained from scratch "
           "(fine-tune).", "", "| task | regime | metric | datasets | score | baseline |",
           "|---|---|---|---|---|---|"]  # fmt: skip
    for (task, regime, metric), g in sorted(groups.items()):
        ds = sorted({k.rsplit("|", 1)[0] for k in g})
        score = sum(sum(g[d + "|s"]) / len(g[d + "|s"]) for d in ds) / len(ds)
        base = sum(sum(g[d + "|b"]) / len(g[d + "|b"]) for d in ds) / len(ds)
        out.append(f"| {task} | {regime} | {metric} | {len(ds)} | {score:.4g} | {base:.4g} |")
    return out


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
