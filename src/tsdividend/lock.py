"""One writer per folder: an advisory lock that ``run`` and ``pretrain`` hold on their output.

:class:`FolderLock` takes an exclusive ``flock`` on ``FOLDER/.tsdividend.lock`` and writes the
holder (PID, host, command, start time) into it. A second writer fails at once with a
:class:`FolderBusyError` naming the holder. The operating system drops the lock when its process
dies, so a lock left by a killed run is taken over by the next one (the stale holder line is
simply rewritten). Readers (``results``, ``report``) take no lock. On platforms without
``fcntl`` (Windows) the lock is a no-op.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import TextIO

from tsdividend.errors import InputError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_FILE", "FolderBusyError", "FolderLock"]

LOCK_FILE = ".tsdividend.lock"


class FolderBusyError(InputError):
    """Another process writes into the folder (the message names its PID and host)."""


class FolderLock:
    """Context manager: hold the folder's writer lock (module docstring).

    Args:
        folder: the output folder (created if missing).
        what: what this writer is, for the holder line (``"pretrain"``, ``"run"``).
    """

    def __init__(self, folder: str | Path, what: str) -> None:
        self.folder = Path(folder)
        self.what = what
        self._fh: TextIO | None = None

    def __enter__(self) -> FolderLock:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / LOCK_FILE
        fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (held for the whole run)
        if fcntl is not None:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.seek(0)
                holder = _describe(fh.read())
                fh.close()
                raise FolderBusyError(
                    f"{self.folder} is in use by {holder}; wait for it to "
                    "finish or choose another output folder"
                ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "what": self.what,
                             "command": " ".join(sys.argv)[:300],
                             "since": time.strftime("%Y-%m-%d %H:%M:%S")}) + "\n")  # fmt: skip
        fh.flush()
        self._fh = fh
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        fh = self._fh
        self._fh = None
        if fh is not None:
            fh.close()  # closing releases the flock; the holder line stays (stale, harmless)


def _describe(text: str) -> str:
    try:
        h = json.loads(text)
        return (f"PID {h['pid']} on {h['host']} ({h.get('what', '?')}, since "
                f"{h.get('since', '?')})")  # fmt: skip
    except (ValueError, KeyError, TypeError):
        return "another process (holder unknown)"
