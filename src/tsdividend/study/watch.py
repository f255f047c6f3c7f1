"""Live progress of a study's pretraining cells, whatever executor trains them.

A pretraining cell may train in this process (local executor), in a pool worker or on a Ray node,
so the study watches what every run writes anyway: the last row of its ``metrics.jsonl`` (step,
loss, samples/s; one row every ``log_every`` steps). :class:`PretrainWatcher` polls the running
cells from a thread: on a terminal each gets a line of the study's live display (step, loss,
samples/s, time left); off a terminal it prints a status line every ``steps // 20`` steps.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import Progress, TaskID

from tsdividend.study.jobs import PretrainJob
from tsdividend.train.progress import line_every, status_line

POLL_S = 1.0


def last_row(path: Path) -> dict[str, Any] | None:
    """The last complete JSON line of ``path`` (None when there is none yet)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            fh.seek(max(0, fh.tell() - 4096))
            lines = fh.read().splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        try:
            row = json.loads(line)
        except ValueError:  # a line being written, or cut by the 4 KiB window
            continue
        if isinstance(row, dict) and "step" in row:
            return row
    return None


class PretrainWatcher:
    """Context manager: :meth:`start` / :meth:`stop` a pretraining job as the executor takes and
    returns it; a thread shows the running ones (module docstring)."""

    def __init__(self, bar: Progress, console: Console, lines: bool) -> None:
        self.bar, self.console, self.lines = bar, console, lines
        self._jobs: dict[str, tuple[PretrainJob, TaskID | None, int]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pretrain-watch", daemon=True)

    def __enter__(self) -> PretrainWatcher:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        self._stop.set()
        self._thread.join()

    def start(self, job: PretrainJob) -> None:
        task = None if self.lines else self.bar.add_task(
            f"  pretrain {job.config.objective}", total=job.config.steps, last=""
        )  # fmt: skip
        with self._lock:
            self._jobs[job.key] = (job, task, 0)

    def stop(self, job: PretrainJob) -> None:
        with self._lock:
            entry = self._jobs.pop(job.key, None)
        if entry is not None and entry[1] is not None:
            self.bar.remove_task(entry[1])

    def poll(self) -> None:
        """Read every running job's last metrics row and show it."""
        with self._lock:
            jobs = list(self._jobs.items())
        for key, (job, task, shown) in jobs:
            row = last_row(Path(job.folder) / "metrics.jsonl")
            if row is None:
                continue
            done, total = int(row["step"]), job.config.steps
            loss, rate = float(row.get("loss", float("nan"))), float(row.get("samples_per_s", 0))
            eta = (total - done) * job.config.batch_size / rate if rate > 0 else float("nan")
            text = status_line(job.config.objective, done, total, loss, rate, eta)
            if task is not None:
                # the bar shows step/total itself: keep loss, speed and time left
                self.bar.update(task, completed=done, last=text.split(", ", 1)[1])
            elif done // line_every(total) > shown // line_every(total) or (
                done == total and shown < total
            ):
                self.console.print(text, highlight=False, soft_wrap=True)
                with self._lock:
                    if key in self._jobs:
                        self._jobs[key] = (job, task, done)

    def _run(self) -> None:
        while not self._stop.wait(POLL_S):
            self.poll()
