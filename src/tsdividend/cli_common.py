"""What every ``tsdividend`` command shares: the stderr console, one-line errors, JSON lines,
``key=value`` parsing and the row table."""

from __future__ import annotations

import contextlib
import functools
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from tsdividend.errors import StorageError

F = TypeVar("F", bound=Callable[..., Any])

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


def error_line(e: BaseException) -> str:
    """The one line an expected failure prints: its message, with the path of an ``OSError``
    that names one (``Permission denied: runs/x``)."""
    if isinstance(e, OSError) and not isinstance(e, StorageError) and e.filename is not None:
        what = e.strerror or type(e).__name__
        target = f"{e.filename} -> {e.filename2}" if e.filename2 is not None else e.filename
        return f"{what}: {target}"
    return " ".join(str(e).split())  # one line, whatever the message held


def clean_errors(fn: F) -> F:
    """Turn expected failures (``ValueError``: bad input; ``OSError``: a file or folder the
    machine refused; :mod:`tsdividend.errors`) into one red line on stderr and exit status 2;
    internal bugs keep their traceback (exit 1)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (ValueError, OSError) as e:
            err.print(f"[red]error:[/red] {escape(error_line(e))}", highlight=False,
                      soft_wrap=True)  # fmt: skip
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def print_json(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, default=str) + "\n")
    sys.stdout.flush()


def parse_options(pairs: list[str]) -> dict[str, Any]:
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


def emit_rows(rows: list[Any], json_out: bool) -> None:
    if json_out:
        for row in rows:
            print_json(row.to_json())
        return
    table = Table("dataset", "encoder", "regime", "seed", "metric", "value")
    for r in rows:
        table.add_row(r.dataset, r.encoder_id, r.regime, str(r.seed), r.metric, f"{r.value:.4f}")
    err.print(table)


@contextlib.contextmanager
def progress_lines(what: str, unit: str) -> Iterator[Callable[[int, int], None]]:
    """A ``(done, total)`` callback showing progress on stderr: a live bar on a terminal, one line
    per call with rate and ETA otherwise (logs, CI)."""
    start = time.perf_counter()
    if err.is_terminal:
        with Progress(TextColumn(what), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=err, transient=True) as bar:  # fmt: skip
            task = bar.add_task(what, total=None)
            yield lambda done, total: bar.update(task, completed=done, total=total)
        return

    def line(done: int, total: int) -> None:
        seconds = time.perf_counter() - start
        rate = done / seconds if seconds > 0 else float("inf")
        eta = (total - done) / rate if rate > 0 else float("inf")
        err.print(f"{what}: {done}/{total} {unit}, {rate:.0f} {unit}/s, ETA {eta:.0f} s",
                  highlight=False)  # fmt: skip

    yield line
