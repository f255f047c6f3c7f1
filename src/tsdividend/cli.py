"""The ``tsdividend`` command line: thin typer commands that call one library function each.

Human output goes to stderr (rich); ``--json`` output is one JSON object per line on stdout.
Errors from bad input (``ValueError`` subclasses such as ``DataError`` and ``ConfigError``) are
printed as one clear line and exit with status 2, never as a traceback.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer

from tsdividend import __version__
from tsdividend.cli_common import (
    DataDirOpt,
    JsonOpt,
    clean_errors,
    emit_rows,
    err,
    parse_options,
    print_json,
    progress_lines,
)
from tsdividend.cli_data import data_app, synth

app = typer.Typer(
    help="Self-supervised pretraining of time-series encoders and the pre-training dividend.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(data_app, name="data")
app.command("synth")(synth)


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


@app.command("objectives")
def objectives() -> None:
    """List the self-supervised objectives, one line each."""
    from tsdividend.objectives import OBJECTIVES

    for name in OBJECTIVES.names():
        doc = (OBJECTIVES.get(name).__doc__ or "").strip().splitlines()
        line = re.sub(r":\w+:`~?([^`]+)`", r"\1", doc[0] if doc else "").replace("``", "")
        typer.echo(f"{name:<10} {line}")


@app.command("pretrain")
@clean_errors
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
    synth_path: Annotated[
        Path | None,
        typer.Option(help="Read synthetic series from a `tsdividend synth` folder."),
    ] = None,
    checkpoint_every: Annotated[int | None, typer.Option(min=1, help="Steps; default 500.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out.")] = False,
    data_dir: DataDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Pretrain THE encoder with one objective; writes checkpoints and the downstream encoder."""
    from tsdividend.api import pretrain as run_pretrain
    from tsdividend.train.distributed import shutdown

    flags = {
        "objective": objective,
        "encoder.tokenizer": tokenizer,
        "encoder.depth": depth,
        "encoder.d_model": d_model,
        "data.source": data,
        "data.context": context,
        "data.data_dir": str(data_dir) if data_dir else None,
        "data.workers": workers,
        "data.synth_path": str(synth_path) if synth_path else None,
        "optim.lr": lr,
        "steps": steps,
        "batch_size": batch_size,
        "seed": seed,
        "device": device,
        "precision": precision,
        "grad_accum": grad_accum,
        "checkpoint_every": checkpoint_every,
    }
    changes: dict[str, Any] = {k: v for k, v in flags.items() if v is not None}
    if option:
        changes["objective_options"] = parse_options(option)
    result = run_pretrain(out, config, overrides=changes, resume=resume, progress=not json_out)
    shutdown()  # under torchrun: leave the process group together (no teardown race at exit)
    if json_out:
        print_json(result.to_json())
    else:
        err.print(
            f"{result.objective}: {result.steps} steps, final loss {result.final_loss:.4f}, "
            f"{result.samples_per_s:.0f} samples/s ({result.precision}, waiting for data "
            f"{result.data_share:.0%} of the time) -> {result.checkpoint}"
        )


@app.command("evaluate")
@clean_errors
def evaluate(
    task: Annotated[str, typer.Option(help="classification | anomaly | forecasting | clustering")],
    dataset: Annotated[str, typer.Option(help="Dataset name(s), comma-separated.")],
    checkpoint: Annotated[
        str | None,
        typer.Option(help="Pretraining run folder, 'random' (frozen) or 'scratch'."),
    ] = None,
    encoder: Annotated[
        str | None,
        typer.Option(
            help="External encoder python:pkg.module:factory (with --checkpoint "
            "random|scratch: its random-init baseline)."
        ),
    ] = None,
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
    from tsdividend.api import evaluate as run_evaluate

    arch = {"tokenizer": tokenizer, "depth": depth, "d_model": d_model}
    arch = {k: v for k, v in arch.items() if v is not None}
    rows = run_evaluate(checkpoint, task, dataset, regime=regime, seed=seed, architecture=arch,
                        device=device, data_dir=data_dir, encoder=encoder)  # fmt: skip
    emit_rows(rows, json_out)


@app.command("embed")
@clean_errors
def embed(
    encoder: Annotated[
        str, typer.Option(help="Run or save_pretrained folder, python:pkg.module:factory, random.")
    ],
    input: Annotated[Path, typer.Option("--input", help=".npy .csv .parquet .tsv (UCR) .ts")],
    output: Annotated[Path, typer.Option("--output", help=".npy or .parquet")],
    seed: Annotated[int, typer.Option(help="Init draw of a random encoder.")] = 0,
    id_col: Annotated[str | None, typer.Option(help="Long CSV/Parquet: series id column.")] = None,
    time_col: Annotated[str | None, typer.Option(help="Long CSV/Parquet: time column.")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Series per forward pass.")] = 256,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "auto",
    json_out: JsonOpt = False,
) -> None:
    """Embed every series of a file with an encoder; (N, D) embeddings to .npy or .parquet."""
    from tsdividend.api import embed as run_embed

    with progress_lines("embedding", "series") as report:
        outcome = run_embed(encoder, input, output, seed=seed, device=device,
                            batch_size=batch_size, id_col=id_col, time_col=time_col,
                            progress=report)  # fmt: skip
    summary = {"output": str(outcome.output), "n_series": outcome.n_series, "dim": outcome.dim,
               "seconds": round(outcome.seconds, 3)}  # fmt: skip
    if json_out:
        print_json(summary)
    else:
        err.print(f"wrote {outcome.n_series} x {outcome.dim} embeddings to {outcome.output} "
                  f"in {outcome.seconds:.1f} s", highlight=False)  # fmt: skip


@app.command("baseline")
@clean_errors
def baseline(
    name: Annotated[str, typer.Argument(help="minirocket | matrix_profile | dlinear | ...")],
    task: Annotated[str, typer.Option(help="classification | anomaly | forecasting | clustering")],
    dataset: Annotated[str, typer.Option(help="Dataset name(s), comma-separated.")],
    seed: Annotated[int, typer.Option(help="Seed.")] = 0,
    data_dir: DataDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Run a classical reference (MiniRocket, matrix profile, DLinear, ...) in the same harness."""
    from tsdividend.api import baseline as run_baseline

    emit_rows(run_baseline(name, task, dataset, seed=seed, data_dir=data_dir), json_out)


@app.command("run")
@clean_errors
def run(
    preset: Annotated[
        str | None,
        typer.Option(help="quick | paper | depth | origin | scale | budget | gpu; default quick."),
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
        typer.Option("--set", help="Override a spec field, e.g. train.steps=50 (repeatable)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Run (or resume) a dividend study, print the dividend table and write the report.

    Exit status 1 when any cell failed (after writing the store, failures.json and the report),
    2 on bad input.
    """
    from tsdividend.api import run as run_study

    outcome = run_study(preset, config=config, out=out, executor=executor, workers=workers,
                        data_dir=data_dir, overrides=parse_options(set_ or []))  # fmt: skip
    if json_out:  # one line per headline summary, then the run's summary
        for record in outcome.headline:
            print_json({"kind": "dividend", **record})
        print_json({"kind": "study", "out": str(outcome.out), "store": str(outcome.store),
                    "rows": len(outcome.rows), "command": outcome.command,
                    "report": {k: str(v) for k, v in outcome.report.items()},
                    "failed_cells": outcome.failed[0] if outcome.failed else 0})  # fmt: skip
    else:
        print(outcome.table)
    err.print(f"{len(outcome.rows)} rows in {outcome.store}; report -> "
              f"{outcome.report['markdown']} and {outcome.report['html']}")  # fmt: skip
    if outcome.failed is not None:  # the store, failures.json and the report are written
        err.print(f"[red]{outcome.failed[0]} of {outcome.failed[1]} cells failed[/red] (see "
                  f"{outcome.out / 'failures.json'}); rerun the same command to retry them",
                  highlight=False, soft_wrap=True)  # fmt: skip
        raise typer.Exit(1)


@app.command("report")
@clean_errors
def report(
    out: Annotated[Path, typer.Argument(help="Study folder (holds results.sqlite).")],
    to: Annotated[
        Path | None,
        typer.Option("--out", help="Write the report here (e.g. the study folder is read-only)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Rebuild report.md, report.html and the plots of a study from its results store."""
    from tsdividend.report import build_report

    files = build_report(to, study_dir=out) if to is not None else build_report(out)
    if json_out:
        print_json({"kind": "report", **{k: str(v) for k, v in files.items()}})
    err.print(f"report -> {files['markdown']} and {files['html']}")


@app.command("results")
@clean_errors
def results(
    out: Annotated[Path, typer.Argument(help="Study folder (holds results.sqlite).")],
    json_out: JsonOpt = False,
) -> None:
    """Print the rows of a study's results store."""
    from tsdividend.results import ResultStore

    path = out / "results.sqlite"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: is {out} a study folder?")
    with ResultStore(path, readonly=True) as store:
        emit_rows(store.rows(), json_out)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
