"""Atomic file writes: a file appears complete under its final name, or not at all.

Everything that must survive a kill (downloads, synthetic shards, manifests, checkpoints, result
stores' side files) is written to a temporary name in the destination folder and moved into place
with ``os.replace``, which is atomic on POSIX and Windows within one file system.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_UMASK = os.umask(0)  # read the process umask once (mkstemp creates files 0600)
os.umask(_UMASK)


def apply_umask(path: str | Path) -> None:
    """Give ``path`` the mode ``open()`` / ``mkdir()`` would under the process umask (temp files
    and folders are created 0600 / 0700, and safetensors writes 0600), so teammates on a shared
    filesystem can read what we write wherever the umask allows; a folder's files included."""
    path = Path(path)
    if path.is_dir():
        os.chmod(path, 0o777 & ~_UMASK)
        for child in path.iterdir():
            apply_umask(child)
    else:
        os.chmod(path, 0o666 & ~_UMASK)


@contextmanager
def atomic_target(dest: str | Path) -> Iterator[Path]:
    """Yield a temp path next to ``dest``; on success fsync it and ``os.replace`` it into place,
    on error delete it (``dest`` is then untouched)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        # the final file gets the usual permissions, as open() would; set after the write, as a
        # writer may replace the temp file (safetensors does) and with it an earlier mode
        apply_umask(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)  # no-op after a successful replace


def write_json(dest: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``dest`` atomically."""
    with atomic_target(dest) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")
