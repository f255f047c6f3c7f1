"""Atomic file writes: a file appears complete under its final name, or not at all.

Everything that must survive a kill (downloads, synthetic shards, manifests, checkpoints, result
stores' side files) is written to a temporary name in the destination folder and moved into place
with ``os.replace``, which is atomic on POSIX and Windows within one file system.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tsdividend.errors import StorageError

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
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    except OSError as e:
        raise storage_error(e, dest) from None
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
    except OSError as e:
        raise storage_error(e, dest) from None
    finally:
        tmp.unlink(missing_ok=True)  # no-op after a successful replace


def storage_error(e: OSError, path: str | Path) -> StorageError:
    """An ``OSError`` met while writing ``path`` as a one-line :class:`StorageError` naming it
    (a full disk says nothing of the file otherwise)."""
    if isinstance(e, StorageError):
        return StorageError(f"cannot write {path}: {e.reason}", e.reason)
    hint = {
        errno.ENOSPC: "free some space or write elsewhere",
        errno.EACCES: "check the folder's permissions or write elsewhere",
        errno.EROFS: "the file system is read-only: write elsewhere",
    }.get(e.errno or 0, "")
    reason = (e.strerror or str(e)) + (f" ({hint})" if hint else "")
    return StorageError(f"cannot write {path}: {reason}", reason)


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks (downloads, shards, checkpoints, weights)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json(dest: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``dest`` atomically."""
    with atomic_target(dest) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")
