"""The library behind every CLI command: ``tsdividend.run``, ``.evaluate``, ``.pretrain``,
``.baseline``.

Each function does what its command does (the CLI only parses arguments, calls one of these and
prints), so a script gets the same behaviour as the command line, environment variables included:
``TSDIVIDEND_DATA`` names the data root when no ``data_dir`` is given, for ``run`` (whose presets
then add their larger datasets) as for dataset loading.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch-heavy modules are imported inside the functions
    from tsdividend.results.row import ResultRow
    from tsdividend.train.trainer import TrainConfig, TrainResult

DATA_ENV = "TSDIVIDEND_DATA"


def _names(datasets: str | Sequence[str]) -> list[str]:
    """``"a,b"`` or ``["a", "b"]`` -> the non-empty names."""
    items = datasets.split(",") if isinstance(datasets, str) else list(datasets)
    names = [n.strip() for n in items if n.strip()]
    if not names:
        raise ValueError(f"no dataset name given (got {datasets!r})")
    return names


def study_data_dir(data_dir: str | Path | None) -> Path | None:
    """The data root a study uses: ``data_dir``, else ``$TSDIVIDEND_DATA``, else None (bundled
    data only); a named root that does not exist is an error."""
    if data_dir is None and os.environ.get(DATA_ENV):
        data_dir = os.environ[DATA_ENV]
    if data_dir is None:
        return None
    path = Path(data_dir)
    if not path.is_dir():
        raise FileNotFoundError(f"data dir {path} not found")
    return path


def pretrain(
    out: str | Path, config: TrainConfig | str | Path | None = None, *,
    overrides: Mapping[str, Any] | None = None, resume: bool = False, progress: bool = True,
) -> TrainResult:  # fmt: skip
    """Pretrain THE encoder with one objective into ``out`` (checkpoints, downstream encoder,
    ``metrics.jsonl``).

    Args:
        out: run folder.
        config: a :class:`TrainConfig`, a TOML file of one, or None for the defaults.
        overrides: dotted-path assignments over it (``{"encoder.depth": 4, "steps": 50}``;
            ``objective_options`` entries are merged into the config's).
        resume: continue the run in ``out``.
        progress: show a progress bar.

    ``checkpoint_every`` is clamped to ``steps`` (a run shorter than the interval still writes
    its final checkpoint).
    """
    from tsdividend.config import load_toml, override
    from tsdividend.train.trainer import TrainConfig, train

    if config is None:
        cfg = TrainConfig()
    elif isinstance(config, TrainConfig):
        cfg = config
    else:
        cfg = load_toml(TrainConfig, config)
    changes = dict(overrides or {})
    if "objective_options" in changes:
        changes["objective_options"] = {**cfg.objective_options, **changes["objective_options"]}
    cfg = override(cfg, changes) if changes else cfg
    if cfg.checkpoint_every > cfg.steps:
        cfg = override(cfg, {"checkpoint_every": cfg.steps})
    return train(cfg, out, resume=resume, progress=progress)


def evaluate(
    checkpoint: str | Path | None, task: str, datasets: str | Sequence[str], *,
    regime: str = "probe", seed: int = 0, architecture: Mapping[str, Any] | None = None,
    device: str = "auto", data_dir: str | Path | None = None, encoder: str | None = None,
) -> list[ResultRow]:  # fmt: skip
    """Evaluate an encoder (or the random / scratch baseline) on a downstream task.

    Args:
        checkpoint: a pretraining run folder, ``"random"`` (frozen random init) or
            ``"scratch"`` (trained from a random init with the task's labels); None with
            ``encoder``.
        task: a registered task (``tsdividend.tasks.registry.TASKS``).
        datasets: dataset name(s), a list or a comma-separated string.
        regime: one of the task's regimes ("probe", "finetune").
        seed: seed of the stochastic parts.
        architecture: ``EncoderConfig`` fields of a random / scratch encoder (e.g.
            ``{"depth": 2, "d_model": 64}``); not with a run folder, which carries its own.
        device: "auto", "cpu" or "cuda".
        data_dir: data root (else ``$TSDIVIDEND_DATA``, else the cache).
        encoder: an external encoder ``python:pkg.module:factory``
            (:mod:`tsdividend.tasks.external`); with ``checkpoint`` "random" / "scratch" its
            factory's ``pretrained=False`` build, the baseline of its architecture.

    Returns:
        The rows of every dataset, in order.
    """
    from tsdividend.config import override
    from tsdividend.data import load_dataset
    from tsdividend.encoder import EncoderConfig
    from tsdividend.pretrained import load_pretrained
    from tsdividend.results.row import BASELINE_OF
    from tsdividend.tasks.base import EncoderLike, EncoderUnderTest
    from tsdividend.tasks.external import ExternalEncoder
    from tsdividend.tasks.registry import TASKS

    spec = TASKS.get(task)
    arch = dict(architecture or {})
    enc: EncoderLike
    if encoder is not None:
        if arch or (checkpoint is not None and str(checkpoint) not in BASELINE_OF.values()):
            raise ValueError(f"--encoder {encoder} carries its own architecture and weights: "
                             "give it alone, or with --checkpoint random|scratch for its "
                             "baseline")  # fmt: skip
        enc = ExternalEncoder.from_ref(encoder, str(checkpoint or "pretrained"))
    elif checkpoint is None:
        raise ValueError("give --checkpoint DIR|random|scratch or --encoder "
                         "python:pkg.module:factory")  # fmt: skip
    else:
        if arch and str(checkpoint) not in BASELINE_OF.values():
            raise ValueError("an architecture describes random/scratch encoders only; a run "
                             f"folder carries its own (got {sorted(arch)} with "
                             f"{checkpoint})")  # fmt: skip
        if str(checkpoint) in BASELINE_OF.values():
            enc = EncoderUnderTest.from_arg(str(checkpoint), override(EncoderConfig(), arch))
        else:  # a run folder or a save_pretrained folder (THE encoder or an external one)
            enc = load_pretrained(checkpoint)
    cfg = spec.make_config(regime)
    evaluate_fn = spec.evaluator()
    rows: list[ResultRow] = []
    for name in _names(datasets):
        data = load_dataset(name, data_dir, task=spec.data_task)
        rows += evaluate_fn(enc, data, cfg, seed, device=device)
    return rows


EMBED_CHUNK = 4096  # series per progress step of `embed`


@dataclass(frozen=True)
class EmbedOutcome:
    """What :func:`embed` wrote: the file, the (N, D) shape and the seconds it took."""

    output: Path
    n_series: int
    dim: int
    seconds: float


def embed(
    encoder: str, input: str | Path, output: str | Path, *, seed: int = 0,
    device: str = "auto", batch_size: int = 256, id_col: str | None = None,
    time_col: str | None = None, progress: Callable[[int, int], None] | None = None,
) -> EmbedOutcome:  # fmt: skip
    """Embed every series of a file with an encoder and write the (N, D) embeddings.

    Args:
        encoder: a pretraining or save_pretrained folder, ``python:pkg.module:factory`` or
            ``random`` (THE default architecture, init ``seed``).
        input: ``.npy``, ``.csv``, ``.parquet``, UCR ``.tsv`` or ``.ts``
            (:func:`tsdividend.data.userfiles.read_collection`).
        output: ``.npy`` (float32 (N, D)) or ``.parquet`` (columns ``e0..e{D-1}``, plus
            ``label`` when the input has class labels); written atomically.
        id_col, time_col: long CSV / Parquet layout.
        progress: called with (series done, total) after each chunk of 4,096 series.

    Raises:
        DataError / ValueError: naming the file, row or column; FileNotFoundError.
    """
    import time

    import numpy as np
    import pandas as pd

    from tsdividend.atomic import atomic_target
    from tsdividend.data.userfiles import read_collection
    from tsdividend.estimators import resolve_encoder
    from tsdividend.tasks.probe import embed_series, fit_embedder

    out = Path(output)
    if out.suffix.lower() not in (".npy", ".parquet"):
        raise ValueError(f"--output {out}: write .npy or .parquet")
    start = time.perf_counter()
    data = read_collection(input, id_col=id_col, time_col=time_col)
    embedder = resolve_encoder(encoder).embedder(seed, device=device, batch_size=batch_size)
    fit_embedder(embedder, data.X, data.mask)  # a feature extractor is fitted on the input
    parts = []
    n = len(data.X)
    for i in range(0, n, EMBED_CHUNK):
        sl = slice(i, i + EMBED_CHUNK)
        parts.append(embed_series(embedder, data.X[sl], data.mask[sl], embedder.max_length))
        if progress is not None:
            progress(min(i + EMBED_CHUNK, n), n)
    Z = np.concatenate(parts)
    with atomic_target(out) as tmp:
        if out.suffix.lower() == ".npy":
            with open(tmp, "wb") as fh:
                np.save(fh, Z, allow_pickle=False)
        else:
            frame = pd.DataFrame(Z, columns=[f"e{j}" for j in range(Z.shape[1])])
            if data.y is not None and data.classes is not None and data.y.ndim == 1:
                frame["label"] = np.asarray(data.classes)[data.y]
            frame.to_parquet(tmp, index=False)
    return EmbedOutcome(out, n, int(Z.shape[1]), time.perf_counter() - start)


def baseline(
    name: str, task: str, datasets: str | Sequence[str], *, seed: int = 0,
    data_dir: str | Path | None = None,
) -> list[ResultRow]:  # fmt: skip
    """Run a classical reference (MiniRocket, matrix profile, DLinear, ...) on dataset(s)."""
    from tsdividend.data import load_dataset
    from tsdividend.tasks.baselines import run_baseline
    from tsdividend.tasks.registry import TASKS

    rows: list[ResultRow] = []
    for ds in _names(datasets):
        data = load_dataset(ds, data_dir, task=TASKS.get(task).data_task)
        rows += run_baseline(name, task, data, seed)
    return rows


@dataclass(frozen=True)
class StudyOutcome:
    """What :func:`run` produced.

    Attributes:
        out: the study folder.
        store: its ``results.sqlite``.
        rows: every row of the store.
        table: the dividend table as text (what the CLI prints).
        report: report files by name (``markdown``, ``html``, plots, CSVs).
        failed: ``(failed cells, all cells)`` when any cell failed (``failures.json`` lists
            them; rerunning retries them), else None.
        command: the equivalent ``tsdividend run`` command line (written into the report).
        headline: the headline dividend summaries as JSON-able records (``run --json``).
    """

    out: Path
    store: Path
    rows: list[ResultRow]
    table: str
    report: dict[str, Path]
    failed: tuple[int, int] | None
    command: str
    headline: list[dict[str, Any]] = field(default_factory=list)


def run_command(
    preset: str | None, config: str | Path | None, out: Path, executor: str,
    workers: int | None, data_dir: Path | None, overrides: Mapping[str, Any],
) -> str:  # fmt: skip
    """The ``tsdividend run`` command line that repeats a :func:`run` call."""
    cmd = ["tsdividend", "run"]
    cmd += ["--config", str(config)] if config is not None else ["--preset", preset or "quick"]
    cmd += ["--out", str(out), "--executor", executor]
    cmd += ["--workers", str(workers)] if workers is not None else []
    cmd += ["--data-dir", str(data_dir)] if data_dir is not None else []
    for key, value in overrides.items():
        text = value if isinstance(value, str) else json.dumps(value)
        cmd += ["--set", f"{key}={text}"]
    return " ".join(shlex.quote(c) for c in cmd)


def run(
    preset: str | None = None, *, config: str | Path | None = None, out: str | Path | None = None,
    executor: str = "local", workers: int | None = None, data_dir: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None, progress: bool = True,
) -> StudyOutcome:  # fmt: skip
    """Run (or resume) a dividend study, then write its report.

    Args:
        preset: a preset name (default "quick"); not with ``config``.
        config: a study TOML file.
        out: study folder (default ``runs/<study name>``).
        executor: "local", "pool" or "ray".
        workers: pool processes / Ray tasks in flight.
        data_dir: the full benchmark data (else ``$TSDIVIDEND_DATA``); adds the spec's
            ``datasets_with_data_dir``.
        overrides: dotted assignments over the spec (``{"train.steps": 50, "seeds": [0, 1]}``).
        progress: show progress.

    Returns:
        A :class:`StudyOutcome`; failed cells do not raise (check ``outcome.failed``).
    """
    from tsdividend.config import to_dict
    from tsdividend.report import build_report, dividend_table_text
    from tsdividend.report.tables import analyze, headline_records
    from tsdividend.results import ResultStore
    from tsdividend.study import load_spec, run_study
    from tsdividend.study.runner import failure_summary

    if preset is not None and config is not None:
        raise ValueError("give a preset (--preset) or a study config file (--config), not both")
    if config is not None and not Path(config).is_file():
        raise FileNotFoundError(f"study config {config} not found")
    spec = load_spec(config if config is not None else (preset or "quick"), dict(overrides or {}))
    root = study_data_dir(data_dir)
    folder = Path(out) if out is not None else Path("runs") / spec.name
    store = run_study(spec, folder, executor=executor, data_dir=root, workers=workers,
                      progress=progress)  # fmt: skip
    with ResultStore(store) as s:
        rows = s.rows()
    command = run_command(preset, config, folder, executor, workers, root, overrides or {})
    files = build_report(folder, meta={"command": command, "config": to_dict(spec)})
    an = analyze(rows, headline_only=True)
    return StudyOutcome(folder, store, rows, dividend_table_text(rows, analysis=an), files,
                        failure_summary(folder), command, headline_records(an))  # fmt: skip
