"""The package's error contract: every expected failure is an :class:`InputError` (a
``ValueError``) or a :class:`StorageError` (an ``OSError``) whose message names the file, field or
value and says what to do. The CLI prints such an error as one line and exits 2; anything else
is a bug and keeps its traceback (exit 1).

- :class:`InputError`: bad data, config, options or files; an occupied run folder; training
  that cannot go on (non-finite loss). Subclasses: ``ConfigError``, ``DataError``,
  ``CheckpointError``, ``RunFolderError``, ``StudyError``, ``UnknownNameError``.
- :class:`StorageError`: the machine refused: a folder that cannot be written, a full disk, a
  store locked by another program or in a read-only folder.
"""

from __future__ import annotations

__all__ = ["InputError", "StorageError", "TsdividendError"]


class TsdividendError(Exception):
    """Base of the package's expected failures."""


class InputError(TsdividendError, ValueError):
    """Bad input (data, config, options, files, folders); the message names it."""


class StorageError(TsdividendError, OSError):
    """A file or store cannot be read or written here; the message names the path and why.

    Built as ``StorageError(message, reason)``; ``str()`` is the message (no ``[Errno]``
    prefix), ``reason`` the why alone (re-used when an outer writer names its own target)."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""
