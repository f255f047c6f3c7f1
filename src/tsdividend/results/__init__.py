"""Result rows and the SQLite store that holds them."""

from tsdividend.results.row import INITS, ResultRow
from tsdividend.results.store import ResultStore

__all__ = ["INITS", "ResultRow", "ResultStore"]
