"""The ``tsdividend`` command line: thin typer commands that call one library function each.

Human output goes to stderr (rich); ``--json`` output is one JSON object per line on stdout.
Errors from bad input (``ValueError`` subclasses such as ``DataError`` and ``ConfigError``) are
printed as one clear line and exit with status 2, never as a traceback.
"""

from __future__ import annotations

import functools
import json
import re
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tsdividend import __version__

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    help="Self-supervised pretraining of time-series encoders and the pre-training dividend.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="List, inspect and fetch benchmark datasets.", no_args_is_help=True)
app.add_typer(data_app, name="data")

err = Console(stderr=True)

DataDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data root (else $TSDIVIDEND_DATA, else the user cache dir).",
        file_okay=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object per line on stdout.")]


def _clean_errors(fn: F) -> F:
    """Turn bad-input errors into one red line on stderr and exit status 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (ValueError, KeyError, FileNotFoundError) as e:
            msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
            err.print(f"[red]error:[/red] {escape(msg)}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def _print_json(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, default=str) + "\n")
    sys.stdout.flush()


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"tsdividend {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version_callback, is_eager=True, help="Show version."),
    ] = False,
) -> None:
    """Self-supervised pretraining of time-series encoders and the pre-training dividend."""


@data_app.command("list")
@_clean_errors
def data_list(data_dir: DataDirOpt = None, json_out: JsonOpt = False) -> None:
    """List known dataset names and whether each is available here."""
    from tsdividend.data import list_datasets

    rows = list_datasets(data_dir)
    if json_out:
        for row in rows:
            _print_json(row)
        return
    table = Table("task", "available", "source")
    table.add_column("name", overflow="fold")
    for row in rows:
        table.add_row(row["task"], "yes" if row["available"] else "no", row["source"], row["name"])
    err.print(table)


@data_app.command("info")
@_clean_errors
def data_info(
    name: Annotated[str, typer.Argument(help="Dataset name, e.g. ucr/GunPoint.")],
    data_dir: DataDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show a dataset's task, split sizes, channels, length and classes."""
    from tsdividend.data import dataset_info

    info = dataset_info(name, data_dir)
    if json_out:
        _print_json(info)
        return
    table = Table("field", "value")
    for key, value in info.items():
        table.add_row(key, "-" if value is None else str(value))
    err.print(table)


@data_app.command("fetch")
@_clean_errors
def data_fetch(
    name: Annotated[str, typer.Argument(help="Dataset name, e.g. forecast/ETTh1.")],
    data_dir: DataDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Download a public dataset into the cache (sha256-verified, atomic writes)."""
    from tsdividend.data import fetch

    path = fetch(name, data_dir, progress=not json_out)
    if json_out:
        _print_json({"name": name, "path": str(path)})
    else:
        err.print(f"{name} -> {path}")


@app.command("synth")
@_clean_errors
def synth(
    out: Annotated[Path, typer.Option("--out", help="Output folder for shards + manifest.")],
    kind: Annotated[
        str, typer.Option("--kind", help="kernelsynth | lmc | mixup | anomaly")
    ] = "kernelsynth",
    n: Annotated[int, typer.Option("--n", min=1, help="Number of series.")] = 1000,
    length: Annotated[int, typer.Option("--length", min=16, help="Series length.")] = 1024,
    seed: Annotated[
        int, typer.Option("--seed", help="Base seed; series i depends on (seed, i).")
    ] = 0,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes.")] = 1,
    data_dir: DataDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Generate a synthetic corpus as Parquet shards (resumable after a kill)."""
    from tsdividend.synth import write_shards

    options: dict[str, Any] = {}
    if kind == "mixup":
        options["data_dir"] = data_dir
    manifest = write_shards(
        kind, n, length, out, seed=seed, workers=workers, progress=not json_out, **options
    )
    if json_out:
        _print_json({"kind": kind, "n": n, "length": length, "manifest": str(manifest)})
    else:
        err.print(f"wrote {n} {kind} series of length {length} -> {manifest}")


@app.command("objectives")
def objectives() -> None:
    """List the self-supervised objectives, one line each."""
    from tsdividend.objectives import OBJECTIVES

    for name in OBJECTIVES.names():
        doc = (OBJECTIVES.get(name).__doc__ or "").strip().splitlines()
        line = re.sub(r":\w+:`~?([^`]+)`", r"\1", doc[0] if doc else "").replace("``", "")
        typer.echo(f"{name:<10} {line}")


def _parse_options(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs; values parsed as JSON when possible (numbers, bools, lists)."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"expected key=value, got {pair!r}")
        try:
            options[key] = json.loads(raw)
        except json.JSONDecodeError:
            options[key] = raw
    return options


@app.command("pretrain")
@_clean_errors
def pretrain(
    out: Annotated[Path, typer.Option("--out", help="Run folder (checkpoints, encoder, metrics).")],
    objective: Annotated[
        str | None, typer.Option(help="See `tsdividend objectives`; default mae.")
    ] = None,
    tokenizer: Annotated[str | None, typer.Option(help="patch | nutime; default patch.")] = None,
    depth: Annotated[int | None, typer.Option(min=1, help="Transformer blocks; default 8.")] = None,
    d_model: Annotated[int | None, typer.Option(min=8, help="Token width; default 128.")] = None,
    data: Annotated[
        str | None, typer.Option(help="synthetic | real | mix; default synthetic.")
    ] = None,
    steps: Annotated[int | None, typer.Option(min=1, help="Optimiser steps; default 1000.")] = None,
    batch_size: Annotated[
        int | None, typer.Option(min=1, help="Global batch; default 128.")
    ] = None,
    context: Annotated[int | None, typer.Option(min=16, help="Window length; default 336.")] = None,
    lr: Annotated[float | None, typer.Option(help="Peak learning rate; default 1e-3.")] = None,
    seed: Annotated[int | None, typer.Option(help="Run seed; default 0.")] = None,
    option: Annotated[
        list[str] | None, typer.Option("--option", help="Objective option key=value (repeatable).")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML TrainConfig; flags override it.")
    ] = None,
    device: Annotated[str | None, typer.Option(help="auto | cpu | cuda; default auto.")] = None,
    precision: Annotated[str | None, typer.Option(help="auto | fp32 | bf16; default auto.")] = None,
    grad_accum: Annotated[
        int | None, typer.Option(min=1, help="Micro-batches per step; default 1.")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=0, help="Data worker processes; default 0.")
    ] = None,
    checkpoint_every: Annotated[int | None, typer.Option(min=1, help="Steps; default 500.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out.")] = False,
    data_dir: DataDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Pretrain THE encoder with one objective; writes checkpoints and the downstream encoder."""
    from tsdividend.config import load_toml, override
    from tsdividend.train.distributed import shutdown
    from tsdividend.train.trainer import TrainConfig, train

    cfg = load_toml(TrainConfig, config) if config else TrainConfig()
    flags = {
        "objective": objective,
        "encoder.tokenizer": tokenizer,
        "encoder.depth": depth,
        "encoder.d_model": d_model,
        "data.source": data,
        "data.context": context,
        "data.data_dir": str(data_dir) if data_dir else None,
        "data.workers": workers,
        "optim.lr": lr,
        "steps": steps,
        "batch_size": batch_size,
        "seed": seed,
        "device": device,
        "precision": precision,
        "grad_accum": grad_accum,
        "checkpoint_every": checkpoint_every,
    }
    changes = {k: v for k, v in flags.items() if v is not None}
    if option:
        changes["objective_options"] = {**cfg.objective_options, **_parse_options(option)}
    cfg = override(cfg, changes)
    if cfg.checkpoint_every > cfg.steps:
        cfg = override(cfg, {"checkpoint_every": cfg.steps})
    result = train(cfg, out, resume=resume, progress=not json_out)
    shutdown()  # under torchrun: leave the process group together (no teardown race at exit)
    if json_out:
        _print_json(result.to_json())
    else:
        err.print(
            f"{result.objective}: {result.steps} steps, final loss {result.final_loss:.4f}, "
            f"{result.samples_per_s:.0f} samples/s -> {result.checkpoint}"
        )


TASKS = {
    "classification": ("classification", "evaluate_classification", "ClassificationConfig"),
    "anomaly": ("anomaly", "evaluate_anomaly", "AnomalyConfig"),
    "forecasting": ("forecasting", "evaluate_forecasting", "ForecastingConfig"),
    "clustering": ("clustering", "evaluate_clustering", "ClusteringConfig"),
}


def _emit_rows(rows: list[Any], json_out: bool) -> None:
    if json_out:
        for row in rows:
            _print_json(row.to_json())
        return
    table = Table("dataset", "encoder", "regime", "seed", "metric", "value")
    for r in rows:
        table.add_row(r.dataset, r.encoder_id, r.regime, str(r.seed), r.metric, f"{r.value:.4f}")
    err.print(table)


@app.command("evaluate")
@_clean_errors
def evaluate(
    checkpoint: Annotated[
        str, typer.Option(help="Pretraining run folder, 'random' (frozen) or 'scratch'.")
    ],
    task: Annotated[str, typer.Option(help="classification | anomaly | forecasting | clustering")],
    dataset: Annotated[str, typer.Option(help="Dataset name(s), comma-separated.")],
    regime: Annotated[str, typer.Option(help="probe | finetune")] = "probe",
    seed: Annotated[int, typer.Option(help="Seed of the stochastic parts.")] = 0,
    tokenizer: Annotated[
        str | None, typer.Option(help="random/scratch architecture; default patch.")
    ] = None,
    depth: Annotated[int | None, typer.Option(help="random/scratch depth; default 8.")] = None,
    d_model: Annotated[int | None, typer.Option(help="random/scratch width; default 128.")] = None,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "auto",
    data_dir: DataDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Evaluate an encoder (or the random / scratch baseline) on a downstream task."""
    import importlib

    from tsdividend.config import override
    from tsdividend.data import load_dataset
    from tsdividend.encoder import EncoderConfig
    from tsdividend.tasks.base import EncoderUnderTest

    if task not in TASKS:
        raise ValueError(f"task {task!r} unknown; valid: {list(TASKS)}")
    arch = {"tokenizer": tokenizer, "depth": depth, "d_model": d_model}
    arch = {k: v for k, v in arch.items() if v is not None}
    if arch and checkpoint not in ("random", "scratch"):
        raise ValueError("--tokenizer/--depth/--d-model describe random/scratch encoders only")
    enc = EncoderUnderTest.from_arg(checkpoint, override(EncoderConfig(), arch))
    module, fn_name, cfg_name = TASKS[task]
    mod = importlib.import_module(f"tsdividend.tasks.{module}")
    cfg_cls = getattr(mod, cfg_name)
    fields = getattr(cfg_cls, "__dataclass_fields__", {})
    cfg = cfg_cls(regime=regime) if "regime" in fields else cfg_cls()
    if "regime" not in fields and regime != "probe":
        raise ValueError(f"task {task} has only the probe regime")
    for name in [n.strip() for n in dataset.split(",") if n.strip()]:
        rows = getattr(mod, fn_name)(enc, load_dataset(name, data_dir), cfg, seed, device=device)
        _emit_rows(rows, json_out)


@app.command("baseline")
@_clean_errors
def baseline(
    name: Annotated[str, typer.Argument(help="minirocket | matrix_profile | dlinear | ...")],
    task: Annotated[str, typer.Option(help="classification | anomaly | forecasting | clustering")],
    dataset: Annotated[str, typer.Option(help="Dataset name(s), comma-separated.")],
    seed: Annotated[int, typer.Option(help="Seed.")] = 0,
    data_dir: DataDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Run a classical reference (MiniRocket, matrix profile, DLinear, ...) in the same harness."""
    from tsdividend.data import load_dataset
    from tsdividend.tasks.baselines import run_baseline

    for ds_name in [n.strip() for n in dataset.split(",") if n.strip()]:
        rows = run_baseline(name, task, load_dataset(ds_name, data_dir), seed)
        _emit_rows(rows, json_out)


@app.command("run")
@_clean_errors
def run(
    preset: Annotated[
        str | None, typer.Option(help="quick | paper | depth | origin | scale; default quick.")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="Study TOML file (instead of --preset).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Study folder; default runs/<name>.")
    ] = None,
    executor: Annotated[str, typer.Option(help="local | pool | ray")] = "local",
    workers: Annotated[
        int | None, typer.Option(min=1, help="Pool processes / Ray tasks in flight.")
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Full benchmark data (else $TSDIVIDEND_DATA); adds the preset's larger datasets.",
            file_okay=False,
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a spec field, e.g. schedule.steps=50 (repeatable)."),
    ] = None,
) -> None:
    """Run (or resume) a dividend study, print the dividend table and write the report.

    Exit status 1 when any cell failed (after writing the store, failures.json and the report),
    2 on bad input.
    """
    import os

    from tsdividend.config import to_dict
    from tsdividend.report import build_report, dividend_table_text
    from tsdividend.results import ResultStore
    from tsdividend.study import load_spec, run_study
    from tsdividend.study.runner import failure_summary

    if preset is not None and config is not None:
        raise ValueError("give --preset or --config, not both")
    if config is not None and not config.is_file():
        raise FileNotFoundError(f"study config {config} not found")
    spec = load_spec(config if config is not None else (preset or "quick"),
                     _parse_options(set_ or []))  # fmt: skip
    if data_dir is None and os.environ.get("TSDIVIDEND_DATA"):
        data_dir = Path(os.environ["TSDIVIDEND_DATA"])
    if data_dir is not None and not data_dir.is_dir():
        raise FileNotFoundError(f"data dir {data_dir} not found")
    out = out if out is not None else Path("runs") / spec.name
    store = run_study(spec, out, executor=executor, data_dir=data_dir, workers=workers)
    with ResultStore(store) as s:
        rows = s.rows()
    print(dividend_table_text(rows))
    command = ["tsdividend", "run"]
    command += ["--config", str(config)] if config is not None else ["--preset", preset or "quick"]
    command += ["--out", str(out), "--executor", executor]
    command += ["--workers", str(workers)] if workers is not None else []
    command += ["--data-dir", str(data_dir)] if data_dir is not None else []
    command += [a for kv in set_ or [] for a in ("--set", shlex.quote(kv))]
    files = build_report(out, meta={"command": " ".join(command), "config": to_dict(spec)})
    err.print(f"{len(rows)} rows in {store}; report -> {files['markdown']} and {files['html']}")
    failed = failure_summary(out)
    if failed is not None:  # the store, failures.json and the report are written: now say so
        err.print(f"[red]{failed[0]} of {failed[1]} cells failed[/red] (see "
                  f"{out / 'failures.json'}); rerun the same command to retry them",
                  highlight=False, soft_wrap=True)  # fmt: skip
        raise typer.Exit(1)


@app.command("report")
@_clean_errors
def report(
    out: Annotated[Path, typer.Argument(help="Study folder (holds results.sqlite).")],
) -> None:
    """Rebuild report.md, report.html and the plots of a study from its results store."""
    from tsdividend.report import build_report

    files = build_report(out)
    err.print(f"report -> {files['markdown']} and {files['html']}")


@app.command("results")
@_clean_errors
def results(
    out: Annotated[Path, typer.Argument(help="Study folder (holds results.sqlite).")],
    json_out: JsonOpt = False,
) -> None:
    """Print the rows of a study's results store."""
    from tsdividend.results import ResultStore

    path = out / "results.sqlite"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: is {out} a study folder?")
    with ResultStore(path) as store:
        _emit_rows(store.rows(), json_out)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
