"""Result rows (and, with issue 5, the SQLite store that holds them)."""

from tsdividend.results.row import INITS, ResultRow

__all__ = ["INITS", "ResultRow"]
