"""``tsdividend data list|info|fetch`` and ``tsdividend synth``: the data commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tsdividend.cli_common import DataDirOpt, JsonOpt, clean_errors, err, print_json

data_app = typer.Typer(help="List, inspect and fetch benchmark datasets.", no_args_is_help=True)


@data_app.command("list")
@clean_errors
def data_list(data_dir: DataDirOpt = None, json_out: JsonOpt = False) -> None:
    """List known dataset names and whether each is available here."""
    from tsdividend.data import list_datasets

    rows = list_datasets(data_dir)
    if json_out:
        for row in rows:
            print_json(row)
        return
    table = Table("task", "available", "source")
    table.add_column("name", overflow="fold")
    for row in rows:
        table.add_row(row["task"], "yes" if row["available"] else "no", row["source"], row["name"])
    err.print(table)


@data_app.command("info")
@clean_errors
def data_info(
    name: Annotated[str, typer.Argument(help="Dataset name, e.g. ucr/GunPoint.")],
    data_dir: DataDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show a dataset's task, split sizes, channels, length and classes."""
    from tsdividend.data import dataset_info

    info = dataset_info(name, data_dir)
    if json_out:
        print_json(info)
        return
    table = Table("field", "value")
    for key, value in info.items():
        table.add_row(key, "-" if value is None else str(value))
    err.print(table)


@data_app.command("fetch")
@clean_errors
def data_fetch(
    name: Annotated[str, typer.Argument(help="Dataset name, e.g. forecast/ETTh1.")],
    data_dir: DataDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Download a public dataset into the cache (sha256-verified, atomic writes)."""
    from tsdividend.data import fetch

    path = fetch(name, data_dir, progress=not json_out)
    if json_out:
        print_json({"name": name, "path": str(path)})
    else:
        err.print(f"{name} -> {path}")


@clean_errors
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
        print_json({"kind": kind, "n": n, "length": length, "manifest": str(manifest)})
    else:
        err.print(f"wrote {n} {kind} series of length {length} -> {manifest}")
