"""Training progress on stderr (rank 0 only): a live bar on a terminal, else a line every N steps
(logs, CI, ``nohup``), both with step, loss, samples/s and time left."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

LINES_PER_RUN = 20  # off a terminal: about this many lines per run (every total // 20 steps)


def status_line(name: str, done: int, total: int, loss: float, rate: float, eta: float) -> str:
    """``pretrain mae: step 120/300, loss 1.2345, 540 samples/s, ETA 12 s``."""
    eta_text = f"{eta:.0f} s" if eta == eta and eta != float("inf") else "?"
    return (f"pretrain {name}: step {done}/{total}, loss {loss:.4f}, {rate:.0f} samples/s, "
            f"ETA {eta_text}")  # fmt: skip


def line_every(total: int) -> int:
    """Steps between two progress lines off a terminal."""
    return max(1, total // LINES_PER_RUN)


class TrainProgress:
    """Context manager; ``update(done, loss, rate)`` after every step. Disabled = no output."""

    def __init__(
        self, name: str, start: int, total: int, enabled: bool = True, batch_size: int = 1
    ) -> None:  # fmt: skip
        self.enabled = enabled
        self.name, self.total, self.batch_size = name, total, batch_size
        self.console = Console(stderr=True)
        self.lines = enabled and not self.console.is_terminal
        self.every = line_every(total)
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}"),
            TextColumn("{task.fields[rate]:.0f} samples/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            disable=not enabled or self.lines,
        )
        self._task = self._progress.add_task(
            f"pretrain {name}", total=total, completed=start, loss=float("nan"), rate=0.0
        )

    def __enter__(self) -> TrainProgress:
        self._progress.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.__exit__(exc_type, exc, tb)

    def update(self, done: int, loss: float, rate: float) -> None:
        self._progress.update(self._task, completed=done, loss=loss, rate=rate)
        if self.lines and (done % self.every == 0 or done == self.total):
            eta = (self.total - done) * self.batch_size / rate if rate > 0 else float("nan")
            self.console.print(status_line(self.name, done, self.total, loss, rate, eta),
                               highlight=False, soft_wrap=True)  # fmt: skip
