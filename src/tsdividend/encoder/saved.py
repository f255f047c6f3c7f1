"""What a saved encoder folder holds and says: ``config.json`` + ``model.safetensors`` + a
``README.md`` model card (the Hugging Face layout), written by :func:`write_pretrained` for
:meth:`Embedder.save_pretrained <tsdividend.encoder.embedder.Embedder.save_pretrained>` and
:mod:`tsdividend.pretrained`. Weights are safetensors, everything else JSON: loading never
unpickles."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safetensors.torch import save_file

from tsdividend import __version__
from tsdividend.atomic import atomic_target, write_json

if TYPE_CHECKING:
    from tsdividend.results.row import ResultRow

__all__ = ["CARD", "FORMAT", "PRETRAINED_META", "PRETRAINED_WEIGHTS", "model_card",
           "save_weights", "write_pretrained"]  # fmt: skip

CARD = "README.md"
FORMAT = "tsdividend"
# save_pretrained's names; a pretraining run folder has encoder.json / encoder.safetensors instead
PRETRAINED_META = "config.json"
PRETRAINED_WEIGHTS = "model.safetensors"


def save_weights(folder: Path, tensors: dict[str, Any], name: str = PRETRAINED_WEIGHTS) -> None:
    """Write safetensors atomically (mode from the umask)."""
    with atomic_target(folder / name) as tmp:
        save_file(tensors, str(tmp))


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
    clf = meta.get("classifier")
    if isinstance(clf, dict):  # a fitted classifier: its head, then how to predict with it
        head = (
            "logistic probe on the frozen encoder (C = " + f"{clf.get('C')})"
            if clf.get("regime") == "probe"
            else "fine-tuned encoder + linear head"
        )
        lines += ["", "## Classifier", "", f"{head}; classes {clf.get('classes')}."]
        use = [
            'clf = EncoderClassifier.from_pretrained("path/to/this/folder")',
            "labels = clf.predict(X)",
        ]
    else:
        use = [
            'clf = EncoderClassifier("path/to/this/folder").fit(X_train, y_train)',
            "print(clf.score(X_test, y_test))",
        ]
    lines += ["", "## Use", "", "```python", "from tsdividend.estimators import EncoderClassifier",
              "", *use, "```", "",
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
