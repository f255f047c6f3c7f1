"""Run a study: pretrain every encoder cell once, evaluate every cell once, store every row.

Order of work: pretraining jobs and baseline cells start first; when an encoder finishes, its
evaluation cells are queued ahead of the remaining pretraining, so rows reach the store early.
Resumption needs no bookkeeping of its own: an encoder folder with its done-mark is never trained
again (a partial one resumes from its last checkpoint), and a cell the store marks complete is
never evaluated again. A kill therefore loses at most the cells in flight.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from collections import deque
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from tsdividend import __version__
from tsdividend.atomic import write_json
from tsdividend.config import to_dict
from tsdividend.data import resolve_data_dir
from tsdividend.errors import InputError
from tsdividend.lock import FolderLock
from tsdividend.report.provenance import provenance_info
from tsdividend.results.store import ResultStore
from tsdividend.study.executors import EXECUTORS, make_executor
from tsdividend.study.jobs import EvalJob, PretrainJob, describe_jobs, expand_grid, run_job
from tsdividend.study.spec import StudySpec, unavailable_datasets
from tsdividend.study.watch import PretrainWatcher

RESULTS = "results.sqlite"


class StudyError(InputError):
    """The study cannot run here, or some of its cells failed (the message lists them)."""


def _versions() -> dict[str, str]:
    import numpy
    import sklearn
    import torch

    return {"tsdividend": __version__, "python": platform.python_version(),
            "torch": torch.__version__, "numpy": numpy.__version__,
            "scikit-learn": sklearn.__version__}  # fmt: skip


def _write_manifest(spec: StudySpec, out: Path, executor: str, data_dir: str | None,
                    pretrain: list[PretrainJob], evals: list[EvalJob]) -> None:  # fmt: skip
    """``study.json``; a folder that holds another spec is refused (its rows would mix)."""
    path = out / "study.json"
    resolved = to_dict(spec)
    if path.exists():
        old = json.loads(path.read_text()).get("spec", {})
        diff = sorted(k for k in set(old) | set(resolved) if old.get(k) != resolved.get(k))
        if diff:
            raise StudyError(f"{out} holds a study whose spec differs in {diff}; rerun with the "
                             "same spec to resume, or choose another output folder")  # fmt: skip
    # provenance (git commit, CPU/GPU, threads) of the machine that runs the study, recorded now
    # (the report may be rebuilt elsewhere later)
    write_json(path, {"spec": resolved, "command": sys.argv, "executor": executor,
                      "data_dir": data_dir, "versions": _versions(), **provenance_info(),
                      **describe_jobs(pretrain, evals)})  # fmt: skip


def run_study(
    spec: StudySpec,
    out: str | Path,
    *,
    executor: str = "local",
    data_dir: str | Path | None = None,
    progress: bool = True,
    workers: int | None = None,
    strict: bool = False,
) -> Path:
    """Run (or resume) every cell of ``spec`` into ``out``; return ``out/results.sqlite``.

    Args:
        spec: the study.
        out: output folder (``results.sqlite``, ``study.json``, ``encoders/<hash>/``).
        executor: "local" (in-process, sequential), "pool" (local process pool) or "ray" (Ray
            tasks on $RAY_ADDRESS or a local instance; the output folder must be on a filesystem
            every Ray node sees).
        data_dir: data root; adds the spec's ``datasets_with_data_dir`` and feeds real
            pretraining data.
        progress: show a progress bar over cells.
        workers: pool processes (default: the CPU count).
        strict: raise :class:`StudyError` at the end when a cell failed (else the failures are
            reported and written to ``out/failures.json``; a rerun retries them).

    Returns:
        Path of the results store.

    Raises:
        FolderBusyError: another ``run`` writes into ``out`` (the folder's writer lock).
    """
    if executor not in EXECUTORS:
        raise ValueError(f"executor {executor!r} unknown; valid: {list(EXECUTORS)}")
    with FolderLock(out, "run"):
        return _run_study(spec, Path(out), executor, data_dir, progress, workers, strict)


def _run_study(
    spec: StudySpec, out: Path, executor: str, data_dir: str | Path | None, progress: bool,
    workers: int | None, strict: bool,
) -> Path:  # fmt: skip
    """The body of :func:`run_study` (the folder lock held)."""
    for stale in out.glob(".*.part"):  # temp files of a killed run's writes (we own the folder)
        stale.unlink(missing_ok=True)
    data = str(data_dir) if data_dir is not None else None
    pretrain, evals = expand_grid(spec, out, data)
    missing = unavailable_datasets((e.cell["dataset"] for e in evals), data)
    if missing:
        raise StudyError(f"dataset(s) {missing} are not available in the data root "
                         f"{resolve_data_dir(data)} nor shipped: `tsdividend data fetch NAME`, "
                         "or point --data-dir / TSDIVIDEND_DATA at the data")  # fmt: skip
    _write_manifest(spec, out, executor, data, pretrain, evals)
    console = Console(stderr=True)
    store = ResultStore(out / RESULTS)
    todo = [e for e in evals if not store.has_cell(e.cell)]
    waiting: dict[str, list[EvalJob]] = {}
    for e in todo:
        if e.needs is not None:
            waiting.setdefault(e.needs, []).append(e)
    needed = [p for p in pretrain if p.key in waiting]  # encoders whose cells are all done: skip
    queue: deque[PretrainJob | EvalJob] = deque(needed + [e for e in todo if e.needs is None])
    failures: list[dict[str, Any]] = []
    log_lines = progress and not console.is_terminal
    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[last]}"),
                   console=console, disable=log_lines or not progress)  # fmt: skip
    t0 = time.perf_counter()
    pool = make_executor(executor, run_job, workers)
    watcher = PretrainWatcher(bar, console, log_lines) if progress else nullcontext(None)
    try:
        with bar, watcher as watch:
            n_cells = len(todo) + len(needed)
            task_id = bar.add_task(f"study {spec.name}", total=n_cells, last="")
            done = 0
            if log_lines:
                console.print(f"study {spec.name}: {n_cells} jobs to run ({len(needed)} "
                              f"pretraining) -> {out}",
                              highlight=False, soft_wrap=True)  # fmt: skip
            while queue or pool.busy():
                while queue and pool.free() > 0:
                    job = queue.popleft()
                    if watch is not None and isinstance(job, PretrainJob):
                        watch.start(job)  # its step, loss and speed show while it trains
                    pool.submit(job)
                for job, result, err in pool.collect():
                    if watch is not None and isinstance(job, PretrainJob):
                        watch.stop(job)
                    done += 1
                    bar.update(task_id, advance=1, last=_describe(job))
                    if err is not None:
                        failures.append(_failure(job, err, waiting))
                        if isinstance(job, PretrainJob):
                            skipped = len(waiting.get(job.key, []))
                            done += skipped
                            bar.advance(task_id, skipped)
                        console.print(f"[red]failed[/red] {failures[-1]['what']}: {err}")
                    elif isinstance(job, PretrainJob):
                        queue.extendleft(reversed(waiting.get(job.key, [])))
                    else:
                        store.add_cell(job.cell, result)
                    if log_lines:  # no live bar off a terminal (CI, nohup): one line per job
                        elapsed = time.perf_counter() - t0
                        console.print(f"[{done}/{n_cells}] {elapsed:6.0f} s  {_describe(job)}"
                                      f"{'  FAILED' if err is not None else ''}",
                                      highlight=False, soft_wrap=True)  # fmt: skip
    finally:
        pool.close()
        store.close()
    _report_failures(out, failures, console, strict, len(evals))
    if progress:
        console.print(f"study {spec.name}: {n_cells} cells in {time.perf_counter() - t0:.1f} s "
                      f"-> {out / RESULTS}")  # fmt: skip
    return out / RESULTS


def _describe(job: PretrainJob | EvalJob) -> str:
    if isinstance(job, PretrainJob):
        return f"pretrained {job.encoder_id} ({job.config.steps} steps)"
    c = job.cell
    return f"{c['encoder_id']} {c['task']} {c['dataset']} {c['regime']} seed {c['seed']}"


def _failure(job: PretrainJob | EvalJob, err: BaseException, waiting: dict) -> dict[str, Any]:
    if isinstance(job, PretrainJob):
        skipped = len(waiting.get(job.key, []))
        return {"what": f"pretraining {job.encoder_id}", "error": repr(err),
                "skipped_cells": skipped}  # fmt: skip
    return {"what": f"cell {job.cell}", "error": repr(err)}


def _failed_cells(failures: list[dict[str, Any]]) -> int:
    """Evaluation cells lost to ``failures``: a failed cell, or every cell a failed pretraining
    left without its encoder."""
    return sum(int(f.get("skipped_cells", 1)) for f in failures)


def failure_summary(out: str | Path) -> tuple[int, int] | None:
    """``(failed cells, cells of the study)`` of the last run into ``out``, None when none failed.

    Read from ``out/failures.json`` (written only when a job failed) and ``out/study.json``; the
    CLI's ``run`` exits with status 1 when this is not None.
    """
    out = Path(out)
    path = out / "failures.json"
    if not path.exists():
        return None
    failures = json.loads(path.read_text())
    if not failures:
        return None
    manifest = out / "study.json"
    total = json.loads(manifest.read_text()).get("n_eval_cells") if manifest.exists() else None
    failed = _failed_cells(failures)
    return failed, int(total) if total is not None else failed


def _report_failures(out: Path, failures: list[dict[str, Any]], console: Console,
                     strict: bool, n_cells: int) -> None:  # fmt: skip
    path = out / "failures.json"
    if not failures:
        path.unlink(missing_ok=True)
        return
    write_json(path, failures)
    msg = (f"{_failed_cells(failures)} of {n_cells} cells failed ({len(failures)} job(s), see "
           f"{path}); rerun the same command to retry them")  # fmt: skip
    if strict:
        raise StudyError(msg + ": " + "; ".join(f"{f['what']}: {f['error']}" for f in failures))
    console.print(f"[yellow]{msg}[/yellow]")
